/*
 * output_text.c - the text form, for people (output.h): lines and aligned
 * tables, what came from the daemon through put_text and text_safe.  The
 * metrics and watch parts are in text_metrics.c and text_watch.c.
 */
#include <stdlib.h>
#include <string.h>

#include "output.h"

/* ---- the daemon --------------------------------------------------------- */

static int
text_ping(struct ctl *ctl, double ms)
{
	fprintf(ctl->out, "%s is alive: %.3f ms\n", conn_daemon(ctl->conn), ms);
	return CTL_OK;
}

static int
text_version(struct ctl *ctl)
{
	fprintf(ctl->out, "ignitectl %s\n%s\nprotocol %d\n", IGNITE_VERSION,
	    conn_daemon(ctl->conn), IG_PROTO_VERSION);
	return CTL_OK;
}

static int
text_shutdown(struct ctl *ctl)
{
	fprintf(ctl->out,
	    "%s is shutting down; unfinished runs resume when "
	    "it starts again\n",
	    conn_daemon(ctl->conn));
	return CTL_OK;
}

/* ---- runs --------------------------------------------------------------- */

static int
text_started(struct ctl *ctl, const msgpack_object *res, int64_t id)
{
	(void)res;
	fprintf(ctl->out, "%lld\n", (long long)id);
	return CTL_OK;
}

/* ls: a table, printed whole for its columns to align; with the TAGS and
 * the --metric columns when asked for. */
struct text_ls {
	struct table *t;
	struct ls_cols cols;
};

static int
text_ls_start(struct ctl *ctl, void **list, const struct ls_cols *cols)
{
	const char *h[SUM_NFIELDS + 6];
	struct text_ls *l;
	size_t n = 0;

	(void)ctl;
	for (; summary_headers[n] != NULL; n++)
		h[n] = summary_headers[n];
	if (cols->tags)
		h[n++] = "TAGS";
	if (cols->metric != NULL) {
		h[n++] = ">LAST";
		h[n++] = ">MIN";
		h[n++] = ">MAX";
		h[n++] = ">BEST-AT";
	}
	h[n] = NULL;
	if ((l = calloc(1, sizeof *l)) == NULL)
		return -1;
	l->cols = *cols;
	if ((l->t = table_new(h)) == NULL) {
		free(l);
		return -1;
	}
	*list = l;
	return 0;
}

static int
text_ls_row(
    struct ctl *ctl, void *list, const ig_summary *s, const struct mstats *st)
{
	struct text_ls *l = list;
	const char *cells[SUM_NFIELDS + 5];
	char stat[4][32];
	struct summary_text f;
	char *tags = NULL;
	size_t n = SUM_NFIELDS;
	int rc = -1;

	(void)ctl;
	if (summary_text(&f, s, time(NULL)) != 0)
		return -1;
	memcpy(cells, f.cell, sizeof f.cell);
	if (l->cols.tags) {
		if ((tags = tags_text(s)) == NULL)
			goto out;
		cells[n++] = tags[0] != '\0' ? tags : "-";
	}
	if (st != NULL) {
		fmt_value(stat[0], sizeof stat[0], st->last);
		fmt_value(stat[1], sizeof stat[1], st->min);
		fmt_value(stat[2], sizeof stat[2], st->max);
		fmt_count(stat[3], sizeof stat[3],
		    l->cols.lowest_best ? st->min_at : st->max_at);
		for (int i = 0; i < 4; i++)
			cells[n++] = st->n > 0 ? stat[i] : "-";
	}
	rc = table_add(l->t, cells);
out:
	free(tags);
	summary_text_clear(&f);
	return rc;
}

static int
text_ls_end(struct ctl *ctl, void *list, int status)
{
	struct text_ls *l = list;

	if (status == CTL_OK && table_print(l->t, ctl->out) != 0)
		status =
		    ig_err_set(&ctl->e, CTL_ELOCAL, "cannot write the output");
	table_free(l->t);
	free(l);
	return status;
}

/* The run summary as "key  value" lines: ls's columns, then the rest. */
static int
text_status(struct ctl *ctl, const ig_summary *s)
{
	struct summary_text f;
	char when[32], ago[32], len[32];
	const int64_t times[] = { s->created, s->finished };
	const char *names[] = { "created", "finished" };
	char *tags;

	if (summary_text(&f, s, time(NULL)) != 0)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	for (int i = 0; i < SUM_NFIELDS; i++) {
		const char *h =
		    summary_headers[i] + (summary_headers[i][0] == '>');
		char key[16];
		size_t k;

		for (k = 0; h[k] != '\0' && k + 1 < sizeof key; k++)
			key[k] = (char)(h[k] >= 'A' && h[k] <= 'Z' ? h[k] + 32 :
			                                             h[k]);
		key[k] = '\0';
		fprintf(ctl->out, "%-13s ", key);
		put_text(ctl->out, f.cell[i]);
		fputc('\n', ctl->out);
	}
	summary_text_clear(&f);
	fmt_count(len, sizeof len, s->epoch_length);
	fprintf(ctl->out, "%-13s %s\n", "epoch length", len);
	for (int i = 0; i < 2; i++) {
		if (times[i] == IG_NONE) {
			fprintf(ctl->out, "%-13s -\n", names[i]);
			continue;
		}
		fmt_time(when, sizeof when, (double)times[i]);
		fmt_ago(ago, sizeof ago, times[i], time(NULL));
		fprintf(ctl->out, "%-13s %s (%s)\n", names[i], when, ago);
	}
	fprintf(ctl->out, "%-13s ", "reason");
	put_text(ctl->out, s->reason != NULL ? s->reason : "-");
	fputc('\n', ctl->out);
	if ((tags = tags_text(s)) == NULL)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	fprintf(ctl->out, "%-13s ", "tags");
	put_text(ctl->out, tags[0] != '\0' ? tags : "-");
	fputc('\n', ctl->out);
	free(tags);
	return CTL_OK;
}

/* Each key and its value as compact JSON. */
static int
text_state(struct ctl *ctl, json_t *state)
{
	const char *key;
	json_t *v;
	char *text;

	json_object_foreach(state, key, v)
	{
		if ((text = json_dumps(v,
		         JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII)) ==
		    NULL) {
			json_decref(state);
			return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
		}
		put_text(ctl->out, key);
		fprintf(ctl->out, "%*s %s\n",
		    13 - (int)strlen(key) > 0 ? 13 - (int)strlen(key) : 0, "",
		    text);
		free(text);
	}
	json_decref(state);
	return CTL_OK;
}

/* The spec as indented JSON, keys in its canonical order. */
static int
text_spec(struct ctl *ctl, json_t *spec)
{
	char *text = json_dumps(spec, JSON_INDENT(2) | JSON_ENSURE_ASCII);

	json_decref(spec);
	if (text == NULL)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	fprintf(ctl->out, "%s\n", text);
	free(text);
	return CTL_OK;
}

/* logs: a line each, as they come. */
static int
text_logs_start(struct ctl *ctl, void **list)
{
	(void)ctl;
	*list = NULL;
	return 0;
}

static int
text_logs_line(struct ctl *ctl, void *list, const ig_log_line *l)
{
	char when[32];
	int rc;

	(void)list;
	fmt_time(when, sizeof when, l->time);
	fprintf(ctl->out, "%s  ", when);
	rc = put_text(ctl->out, l->message);
	fputc('\n', ctl->out);
	return rc;
}

static int
text_logs_end(struct ctl *ctl, void *list, const msgpack_object *id, int status)
{
	(void)ctl;
	(void)list;
	(void)id;
	return status;
}

/* "run 12 pauses after its current iteration (status running)" */
static int
text_action(struct ctl *ctl, const char *run, const char *done,
    const msgpack_object *res)
{
	const msgpack_object *id = ig_map_get(res, "id");
	const msgpack_object *status = ig_map_get(res, "status");

	if (id != NULL && id->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		fprintf(ctl->out, "run %llu %s",
		    (unsigned long long)id->via.u64, done);
	else
		fprintf(ctl->out, "run %s %s", run, done);
	if (status != NULL && status->type == MSGPACK_OBJECT_STR)
		fprintf(ctl->out, " (status %.*s)", (int)status->via.str.size,
		    status->via.str.ptr);
	fputc('\n', ctl->out);
	return CTL_OK;
}

/* ---- dashboard ----------------------------------------------------------- */

static int
text_dashboard(struct ctl *ctl, const char *url, int port)
{
	(void)port;
	fprintf(ctl->out,
	    "Dashboard: %s\n"
	    "Open that address: its token is the key, keep it to yourself.\n"
	    "Press Ctrl-C to stop.\n",
	    url);
	return fflush(ctl->out) == 0 ?
	    CTL_OK :
	    ig_err_set(&ctl->e, CTL_ELOCAL, "cannot write the output");
}

const struct output output_text = {
	.ping = text_ping,
	.version = text_version,
	.shutdown = text_shutdown,
	.started = text_started,
	.ls_start = text_ls_start,
	.ls_row = text_ls_row,
	.ls_end = text_ls_end,
	.status = text_status,
	.state = text_state,
	.spec = text_spec,
	.logs_start = text_logs_start,
	.logs_line = text_logs_line,
	.logs_end = text_logs_end,
	.action = text_action,
	.metrics = text_metrics,
	.watch_begin = text_watch_begin,
	.watch_show = text_watch_show,
	.watch_note = text_watch_note,
	.watch_ended = text_watch_ended,
	.dashboard = text_dashboard,
};
