/*
 * cmd_export.c - ignitectl export: the whole metric history of runs as CSV
 * or JSON lines, written page by page as the daemon sends them, so that
 * ignitectl holds one page at a time however long the history is.
 *
 * The format is the data's, chosen by --format (JSON lines with --json):
 * not a view for people, so it is written here rather than through
 * output.h, as metrics --csv keeps its columns whatever the output.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

#define MAX_NAMES 64

enum eformat {
	E_CSV,
	E_JSONL
};

/* A value as JSON: a number, or null (JSON has no NaN or infinity). */
static void
put_json_value(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.17g", v);
	else
		fputs("null", f);
}

/* Write one page of run id's history. */
static int
put_page(struct ctl *ctl, void *arg, int64_t id, ig_series *s, size_t n)
{
	const enum eformat *format = arg;

	for (size_t i = 0; i < n; i++) {
		/* names are checked by the daemon (PROTOCOL.md, Limits): no
		 * quote, comma or control character; text_safe all the same,
		 * for what a terminal may show */
		char *name = text_safe(s[i].name);

		if (name == NULL)
			return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
		for (size_t j = 0; j < s[i].n; j++) {
			const ig_point *p = &s[i].points[j];

			if (*format == E_CSV) {
				fprintf(ctl->out,
				    "%lld,%s,%lld,%lld,%.6f,%.17g\n",
				    (long long)id, name, (long long)p->epoch,
				    (long long)p->iteration, p->time, p->value);
				continue;
			}
			fprintf(ctl->out,
			    "{\"run\":%lld,\"name\":\"%s\",\"epoch\":%lld,"
			    "\"iteration\":%lld,\"time\":%.6f,\"value\":",
			    (long long)id, name, (long long)p->epoch,
			    (long long)p->iteration, p->time);
			put_json_value(ctl->out, p->value);
			fputs("}\n", ctl->out);
		}
		free(name);
	}
	return ferror(ctl->out) ?
	    ig_err_set(&ctl->e, CTL_ELOCAL, "cannot write the output") :
	    CTL_OK;
}

int
cmd_export(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "name", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *names[MAX_NAMES];
	struct mquery q = { NULL, names, 0, AX_ITERATION, IG_NONE, IG_NONE,
		IG_NONE, false, NULL, 0 };
	enum eformat format = E_CSV;
	bool given = false;
	int c, rc;

	while ((c = ctl_getopt(ctl, argc, argv, opts, &rc)) != -1) {
		if (c == CTL_OPT_DONE)
			return rc;
		if (c == 'n') {
			if (q.nnames == MAX_NAMES)
				return ctl_usage(
				    ctl, "more than %d --name", MAX_NAMES);
			names[q.nnames++] = optarg;
			continue;
		}
		if (strcmp(optarg, "csv") != 0 && strcmp(optarg, "jsonl") != 0)
			return ctl_usage(
			    ctl, "--format %s: expected csv or jsonl", optarg);
		format = optarg[0] == 'c' ? E_CSV : E_JSONL;
		given = true;
	}
	if (ctl->output == &output_json) {
		if (given && format == E_CSV)
			return ctl_usage(ctl, "--json excludes --format csv");
		format = E_JSONL;
	}
	if (optind >= argc)
		return ctl_usage(ctl, "missing RUN");
	if ((rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	if (format == E_CSV)
		fputs("run,name,epoch,iteration,time,value\n", ctl->out);
	for (int i = optind; i < argc && rc == CTL_OK; i++) {
		q.run = argv[i];
		rc = history_pages(ctl, q, put_page, &format);
	}
	if (fflush(ctl->out) != 0 && rc == CTL_OK)
		rc = ig_err_set(&ctl->e, CTL_ELOCAL, "cannot write the output");
	return rc;
}
