/*
 * test_client.c - ignitectl without a daemon: argument parsing, spec
 * building (checked with ig_spec_read), formatting and the chart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ignite/spec.h"
#include "ignitectl.h"

/* ---- argument parsing ---------------------------------------------------- */

struct run_out {
	int status;
	char *out, *err;
};

/* Run ignitectl with argv (NULL-terminated) and capture what it prints. */
static struct run_out
ctl(const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	size_t olen, elen;
	struct run_out r;
	FILE *o, *e;
	va_list ap;

	argv[argc++] = (char *)"ignitectl";
	va_start(ap, first);
	for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	o = open_memstream(&r.out, &olen);
	e = open_memstream(&r.err, &elen);
	assert_non_null(o);
	assert_non_null(e);
	r.status = ctl_main(argc, argv, o, e);
	fclose(o);
	fclose(e);
	return r;
}

static void
run_out_free(struct run_out *r)
{
	free(r->out);
	free(r->err);
}

#define NOSOCK "--socket", "/nonexistent/ignite.sock"

static void
test_usage_errors(void **state)
{
	struct run_out r;
	(void)state;

	r = ctl(NULL, NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	run_out_free(&r);
	r = ctl("frobnicate", NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	assert_non_null(strstr(r.err, "unknown command frobnicate"));
	run_out_free(&r);
	r = ctl(NOSOCK, "status", NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	assert_non_null(strstr(r.err, "missing RUN"));
	run_out_free(&r);
	r = ctl(NOSOCK, "status", "1", "2", NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	assert_non_null(strstr(r.err, "unexpected argument 2"));
	run_out_free(&r);
	r = ctl(NOSOCK, "ls", "--bogus", NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	assert_non_null(strstr(r.err, "unknown option --bogus"));
	run_out_free(&r);
	r = ctl(NOSOCK, "ls", "--status", "sleeping", NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	run_out_free(&r);
	r = ctl(NOSOCK, "resume", "1", "--max-epochs", "0", NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	assert_non_null(strstr(r.err, "--max-epochs 0"));
	run_out_free(&r);
	r = ctl(NOSOCK, "logs", "1", "--tail", "x", NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	run_out_free(&r);
	r = ctl(NOSOCK, "logs", "1", "--tail", NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	assert_non_null(strstr(r.err, "needs a value"));
	run_out_free(&r);
	r = ctl(NOSOCK, "metrics", "1", "--csv", "--plot", NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	run_out_free(&r);
	r = ctl(NOSOCK, "--json", "metrics", "1", "--csv", NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	run_out_free(&r);
	r = ctl(NOSOCK, "run", NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	run_out_free(&r);
	r = ctl(
	    NOSOCK, "run", "--engine", "builtin:noop", "--param", "=3", NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	assert_non_null(strstr(r.err, "--param =3"));
	run_out_free(&r);
	r = ctl(NOSOCK, "run", "--spec", "/nonexistent.json", NULL);
	assert_int_equal(r.status, CTL_EUSAGE);
	assert_non_null(strstr(r.err, "/nonexistent.json"));
	run_out_free(&r);
}

static void
test_help(void **state)
{
	static const char *const cmds[] = { "run", "ls", "status", "state",
		"terminate", "terminate-epoch", "pause", "resume", "rm",
		"metrics", "watch", "logs", "ping", "version", "shutdown" };
	struct run_out r;
	(void)state;

	r = ctl("--help", NULL);
	assert_int_equal(r.status, CTL_OK);
	assert_non_null(strstr(r.out, "usage: ignitectl"));
	run_out_free(&r);
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		/* --help wins over missing operands and never connects. */
		r = ctl(NOSOCK, cmds[i], "--help", NULL);
		assert_int_equal(r.status, CTL_OK);
		assert_non_null(strstr(r.out, "usage: ignitectl"));
		assert_non_null(strstr(r.out, "Example"));
		assert_string_equal(r.err, "");
		run_out_free(&r);
	}
	r = ctl("help", "metrics", NULL);
	assert_int_equal(r.status, CTL_OK);
	assert_non_null(strstr(r.out, "--max-points"));
	run_out_free(&r);
}

static void
test_unavailable(void **state)
{
	struct run_out r;
	(void)state;

	/* Options after the operand, and the daemon-down message. */
	r = ctl("status", "3", "--json", NOSOCK, NULL);
	assert_int_equal(r.status, CTL_EUNAVAILABLE);
	assert_non_null(strstr(r.err, "/nonexistent/ignite.sock"));
	assert_non_null(
	    strstr(r.err, "ignited --socket /nonexistent/ignite.sock"));
	assert_non_null(strstr(r.err, "from --socket"));
	/* its own lines as lines, not as \n */
	assert_non_null(strstr(r.err, "\nIs ignited running?"));
	assert_null(strstr(r.err, "\\n"));
	run_out_free(&r);
	/* a path is shown as text from outside is: escaped */
	r = ctl("ping", "--socket", "/nonexistent/a\nb.sock", NULL);
	assert_int_equal(r.status, CTL_EUNAVAILABLE);
	assert_non_null(
	    strstr(r.err, "ignited --socket /nonexistent/a\\nb.sock"));
	assert_null(strstr(r.err, "a\nb"));
	run_out_free(&r);
	setenv("IGNITE_SOCKET", "/nonexistent/env.sock", 1);
	r = ctl("ping", NULL);
	assert_int_equal(r.status, CTL_EUNAVAILABLE);
	assert_non_null(strstr(r.err, "from IGNITE_SOCKET"));
	run_out_free(&r);
	unsetenv("IGNITE_SOCKET");
}

/* ---- spec building ------------------------------------------------------- */

/* spec_build, then the daemon's reader over the msgpack it makes. */
static ig_spec *
build(const char *spec_path, const struct spec_flag *flags, size_t n,
    const char *cwd)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	ig_spec *spec;
	json_t *j;
	ig_err e = { 0 };
	int rc;

	rc = spec_build(spec_path, flags, n, NULL, cwd, &j, &e);
	if (rc != 0)
		fail_msg("spec_build: %s", e.message);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	json_to_msgpack(&pk, j);
	json_decref(j);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL),
	    MSGPACK_UNPACK_SUCCESS);
	rc = ig_spec_read(&u.data, &spec, &e);
	if (rc != 0)
		fail_msg("ig_spec_read: %s", e.message);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	return spec;
}

static void
test_spec_flags(void **state)
{
	const struct spec_flag flags[] = {
		{ "engine", "builtin:softmax" },
		{ "data", "csv:data/digits.csv" },
		{ "batch-size", "32" },
		{ "shuffle", NULL },
		{ "no-header", NULL },
		{ "label", "64" },
		{ "split", "0.2" },
		{ "max-epochs", "4" },
		{ "seed", "7" },
		{ "name", "digits" },
		{ "param", "lr=0.5" },
		{ "param", "classes=10" },
		{ "param", "verbose=true" },
		{ "param", "tag:str=0123" },
		{ "param", "mode=fast" },
		{ "metric", "loss=loss:loss" },
		{ "metric", "val_acc=accuracy:y_pred:y,split=val" },
		{ "metric", "avg=running_average:loss,alpha=0.9" },
		{ "handler", "EPOCH_COMPLETED:evaluate" },
		{ "handler",
		    "EPOCH_COMPLETED:early_stopping,metric=val_acc,patience=3" },
		{ "handler",
		    "ITERATION_COMPLETED,once=5,once=9:log,message=42" },
		{ "checkpoint-every", "100" },
	};
	ig_spec *s;
	(void)state;

	s = build(NULL, flags, sizeof flags / sizeof flags[0], "/work");
	assert_string_equal(s->engine.target, "softmax");
	assert_string_equal(s->name, "digits");
	assert_int_equal(s->data.kind, IG_DATA_CSV);
	assert_string_equal(s->data.path, "/work/data/digits.csv");
	assert_int_equal(s->data.batch_size, 32);
	assert_true(s->data.shuffle);
	assert_false(s->data.header);
	assert_int_equal(s->data.label.index, 64);
	assert_true(s->data.split > 0.19 && s->data.split < 0.21);
	assert_int_equal(s->max_epochs, 4);
	assert_int_equal(s->seed, 7);
	assert_int_equal(s->nparams, 5);
	for (size_t i = 0; i < s->nparams; i++) {
		const ig_spec_param *p = &s->params[i];
		if (strcmp(p->key, "lr") == 0)
			assert_int_equal(p->type, IG_PARAM_DOUBLE);
		else if (strcmp(p->key, "classes") == 0)
			assert_true(p->type == IG_PARAM_INT && p->v.i == 10);
		else if (strcmp(p->key, "verbose") == 0)
			assert_true(p->type == IG_PARAM_BOOL && p->v.b);
		else if (strcmp(p->key, "tag") == 0)
			assert_true(p->type == IG_PARAM_STR &&
			    strcmp(p->v.s, "0123") == 0);
		else
			assert_true(p->type == IG_PARAM_STR &&
			    strcmp(p->v.s, "fast") == 0);
	}
	assert_int_equal(s->nmetrics, 3);
	assert_string_equal(s->metrics[1].name, "val_acc");
	assert_int_equal(s->metrics[1].kind, IG_METRIC_ACCURACY);
	assert_string_equal(s->metrics[1].target, "y");
	assert_int_equal(s->metrics[1].split, IG_SPLIT_VAL);
	assert_true(s->metrics[2].alpha > 0.89 && s->metrics[2].alpha < 0.91);
	assert_int_equal(s->nhandlers, 3);
	assert_int_equal(s->handlers[0].action, IG_ACTION_EVALUATE);
	assert_int_equal(s->handlers[1].action, IG_ACTION_EARLY_STOPPING);
	assert_string_equal(s->handlers[1].metric, "val_acc");
	assert_int_equal(s->handlers[1].patience, 3);
	assert_int_equal(s->handlers[2].nonce, 2);
	assert_int_equal(s->handlers[2].once[1], 9);
	/* A message is a string even when it looks like a number. */
	assert_string_equal(s->handlers[2].message, "42");
	assert_int_equal(s->checkpoint.every, 100);
	ig_spec_free(s);
}

static void
test_spec_file(void **state)
{
	char dir[] = "/tmp/ignitectl-test-XXXXXX", path[128];
	const struct spec_flag flags[] = {
		{ "max-epochs", "9" },
		{ "metric", "loss=average:loss" },
		{ "param", "lr=0.1" },
	};
	ig_spec *s;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/spec.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(
	    "{\"engine\": \"builtin:softmax\", \"max_epochs\": 3,\n"
	    " \"params\": {\"lr\": 0.5, \"classes\": 10},\n"
	    " \"data\": {\"kind\": \"csv\", \"path\": \"digits.csv\", \"label\": 64},\n"
	    " \"metrics\": [{\"name\": \"loss\", \"kind\": \"loss\", \"field\": \"loss\"}]}\n",
	    f);
	fclose(f);
	s = build(path, flags, sizeof flags / sizeof flags[0], "/elsewhere");
	/* The file's relative path is relative to the file. */
	snprintf(path, sizeof path, "%s/digits.csv", dir);
	assert_string_equal(s->data.path, path);
	assert_int_equal(s->max_epochs, 9);
	assert_int_equal(s->nparams, 2);
	/* --metric replaced the file's metric of the same name. */
	assert_int_equal(s->nmetrics, 1);
	assert_int_equal(s->metrics[0].kind, IG_METRIC_AVERAGE);
	ig_spec_free(s);
	snprintf(path, sizeof path, "%s/spec.json", dir);
	unlink(path);
	rmdir(dir);
}

static void
test_spec_errors(void **state)
{
	static const struct {
		struct spec_flag flag;
		const char *msg;
	} bad[] = {
		{ { "param", "lr" }, "KEY[:TYPE]=VALUE" },
		{ { "param", "lr:double=1" }, "type must be" },
		{ { "param", "n:int=1.5" }, "expected an integer" },
		{ { "metric", "loss" }, "NAME=KIND" },
		{ { "metric", "a=b:c:d:e" }, "at most" },
		{ { "handler", "EPOCH_COMPLETED" }, "EVENT[,FILTER=N]" },
		{ { "handler", "EPOCH_COMPLETED,every=x:log" },
		    "every expects an integer" },
		{ { "batch-size", "3" }, "--batch-size needs --data" },
		{ { "max-epochs", "three" }, "--max-epochs three" },
	};
	json_t *j;
	ig_err e;
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		assert_int_equal(
		    spec_build(NULL, &bad[i].flag, 1, NULL, "/", &j, &e),
		    CTL_EUSAGE);
		assert_null(j);
		if (strstr(e.message, bad[i].msg) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].flag.value,
			    e.message, bad[i].msg);
	}
}

/* ---- formatting ---------------------------------------------------------- */

static void
test_format(void **state)
{
	char b[64];
	(void)state;

	fmt_ago(b, sizeof b, 1000, 1000);
	assert_string_equal(b, "just now");
	fmt_ago(b, sizeof b, 1000, 1042);
	assert_string_equal(b, "42s ago");
	fmt_ago(b, sizeof b, 1000, 1000 + 190);
	assert_string_equal(b, "3m ago");
	fmt_ago(b, sizeof b, 1000, 1000 + 5 * 3600 + 10);
	assert_string_equal(b, "5h ago");
	fmt_ago(b, sizeof b, 1000, 1000 + 2 * 86400);
	assert_string_equal(b, "2d ago");
	fmt_ago(b, sizeof b, IG_NONE, 1000);
	assert_string_equal(b, "-");
	fmt_duration(b, sizeof b, 45.2);
	assert_string_equal(b, "45s");
	fmt_duration(b, sizeof b, 185);
	assert_string_equal(b, "3m05s");
	fmt_duration(b, sizeof b, 3720);
	assert_string_equal(b, "1h02m");
	fmt_duration(b, sizeof b, -1);
	assert_string_equal(b, "-");
	fmt_count(b, sizeof b, 1234567);
	assert_string_equal(b, "1,234,567");
	fmt_count(b, sizeof b, 999);
	assert_string_equal(b, "999");
	fmt_count(b, sizeof b, -1234);
	assert_string_equal(b, "-1,234");
	fmt_count(b, sizeof b, IG_NONE);
	assert_string_equal(b, "-");
	fmt_value(b, sizeof b, 0.123456);
	assert_string_equal(b, "0.1235");
	fmt_value(b, sizeof b, 0.0 / 0.0);
	assert_string_equal(b, "nan");
	fmt_rate(b, sizeof b, 0);
	assert_string_equal(b, "0");
	fmt_rate(b, sizeof b, 45.25);
	assert_string_equal(b, "45.2");
	fmt_rate(b, sizeof b, 12345);
	assert_string_equal(b, "12.3k");
	fmt_rate(b, sizeof b, 2.5e6);
	assert_string_equal(b, "2.5M");
}

/* What a worker wrote reaches the terminal escaped: a title, a screen
 * clear, a carriage return, a C1 CSI, a bidi override, a stray byte. */
static void
test_text_safe(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain é text", "plain é text" },
		{ "\x1b]0;pwned\x07\x1b[2J", "\\x1b]0;pwned\\x07\\x1b[2J" },
		{ "a\rb\tc\nd\\e\x7f", "a\\rb\\tc\\nd\\\\e\\x7f" },
		{ "\xc2\x9b"
		  "2J",
		    "\\xc2\\x9b"
		    "2J" },
		{ "x\xe2\x80\xaey", "x\\xe2\\x80\\xaey" },
		{ "bad \xff\xc3", "bad \\xff\\xc3" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *s = text_safe(cases[i].in);
		assert_non_null(s);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
}

static void
test_table(void **state)
{
	static const char *const headers[] = { ">ID", "NAME", "STATUS", NULL };
	static const char *const r1[] = { "1", "digits", "running" };
	static const char *const r2[] = { "12", "-", "completed" };
	struct table *t = table_new(headers);
	size_t len;
	char *text;
	FILE *f;
	(void)state;

	assert_non_null(t);
	assert_int_equal(table_add(t, r1), 0);
	assert_int_equal(table_add(t, r2), 0);
	f = open_memstream(&text, &len);
	assert_int_equal(table_print(t, f), 0);
	fclose(f);
	assert_string_equal(text,
	    "ID  NAME    STATUS\n"
	    " 1  digits  running\n"
	    "12  -       completed\n");
	free(text);
	table_free(t);
}

static void
test_summary_text(void **state)
{
	ig_named_value m[] = { { (char *)"loss", 0.25 },
		{ (char *)"acc", 0.9 } };
	ig_summary s = {
		.id = 7,
		.name = (char *)"digits",
		.owner = 1000,
		.status = IG_STATUS_RUNNING,
		.epoch = 2,
		.iteration = 12345,
		.max_epochs = 10,
		.epoch_length = 10000,
		.rate = 1530,
		.metrics = m,
		.nmetrics = 2,
		.created = 100,
		.started = 100,
		.finished = IG_NONE,
		.gpus = 2,
		.cpus = 1,
		.devices = "0,1",
	};
	struct summary_text f;
	(void)state;

	assert_int_equal(summary_text(&f, &s, 400), 0);
	assert_string_equal(f.cell[SUM_ID], "7");
	assert_string_equal(f.cell[SUM_NAME], "digits");
	assert_string_equal(f.cell[SUM_STATUS], "running");
	assert_string_equal(f.cell[SUM_EPOCH], "2/10");
	assert_string_equal(f.cell[SUM_ITERATION], "12,345");
	assert_string_equal(f.cell[SUM_RATE], "1.53k");
	assert_string_equal(f.cell[SUM_STARTED], "5m ago");
	assert_string_equal(f.cell[SUM_METRICS], "loss=0.25 acc=0.9");
	assert_string_equal(f.cell[SUM_RESOURCES], "2 GPUs [0,1], 1 CPU");
	summary_text_clear(&f);
	/* queued: its place, and no GPU held */
	s.status = IG_STATUS_QUEUED;
	s.queue_position = 2;
	s.devices = NULL;
	assert_int_equal(summary_text(&f, &s, 400), 0);
	assert_string_equal(f.cell[SUM_STATUS], "queued #2");
	assert_string_equal(f.cell[SUM_RESOURCES], "2 GPUs, 1 CPU");
	summary_text_clear(&f);
}

/* ---- the chart ----------------------------------------------------------- */

static void
test_chart(void **state)
{
	const double x[] = { 0, 1, 2, 3 }, y[] = { 0, 1, 2, 3 };
	struct chart_series s = { "loss", NULL, x, y, 4, "epoch" };
	char *text;
	(void)state;

	assert_int_equal(chart_render(&s, 1, 10, 2, false, &text), 0);
	assert_string_equal(text,
	    "loss by epoch\n"
	    "3 ┤   ⢀⡠⠒⠉\n"
	    "0 ┤⡠⠔⠊⠁\n"
	    "  └───────\n"
	    "   0     3\n");
	free(text);
	/* Too narrow to plot: an error, not a broken chart. */
	assert_int_equal(chart_render(&s, 1, 4, 2, false, &text), -1);
	assert_null(text);
}

static void
test_chart_flat_and_nan(void **state)
{
	const double x[] = { 1, 2, 3 }, y[] = { 5, 0.0 / 0.0, 5 };
	struct chart_series s = { "acc", NULL, x, y, 3, "iteration" };
	char *text;
	(void)state;

	/* A flat series sits in the middle; NaN breaks the line. */
	assert_int_equal(chart_render(&s, 1, 8, 2, false, &text), 0);
	assert_string_equal(text,
	    "acc by iteration\n"
	    "5 ┤\n"
	    "5 ┤⠁   ⠈\n"
	    "  └─────\n"
	    "   1   3\n");
	free(text);
}

/* Runs compared on one chart: common axes, told apart by a marker each
 * (or a colour each on a terminal that has them), and a legend. */
static void
test_chart_overlay(void **state)
{
	const double x[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 },
	             up[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 },
	             down[] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 };
	struct chart_series s[] = {
		{ "val_acc", "12", x, up, 10, "iteration" },
		{ "val_acc", "b", x + 2, down + 2, 8, "iteration" },
	};
	char *text;
	(void)state;

	/* without colours: markers along each line, and their legend */
	assert_int_equal(chart_render(s, 2, 40, 4, false, &text), 0);
	assert_non_null(strstr(text, "val_acc by iteration\n9 ┤"));
	assert_non_null(strstr(text, "0 ┤o⠤⠤"));
	assert_non_null(strstr(text, "x⠉⠒⠒"));
	assert_non_null(strstr(text,
	    "\n   0                                   9\n"
	    "   o 12    x b\n"));
	assert_null(strchr(text, '\033'));
	free(text);
	/* with colours: a colour per run, no markers */
	assert_int_equal(chart_render(s, 2, 40, 4, true, &text), 0);
	assert_non_null(strstr(text, "0 ┤\033[31m⣀⠤⠤"));
	assert_non_null(strstr(text, "\033[32m⠈⠉⠉"));
	assert_non_null(
	    strstr(text, "   \033[31m──\033[0m 12    \033[32m──\033[0m b\n"));
	assert_null(strstr(text, "┤o"));
	assert_null(strstr(text, "x⠉"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_unavailable),
		cmocka_unit_test(test_spec_flags),
		cmocka_unit_test(test_spec_file),
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_text_safe),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_summary_text),
		cmocka_unit_test(test_chart),
		cmocka_unit_test(test_chart_flat_and_nan),
		cmocka_unit_test(test_chart_overlay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
