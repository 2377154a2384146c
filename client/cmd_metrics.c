/*
 * cmd_metrics.c - ignitectl metrics: a run's metric history, every page of
 * it, for the output to print as a table, CSV, charts or JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "output.h"

#define MAX_NAMES 64

struct mquery {
	const char *run;
	const char *names[MAX_NAMES]; /* borrowed from argv */
	size_t nnames;
	bool epochs; /* the axis: epochs, else iterations */
	int64_t from, to, max_points; /* IG_NONE when not given */
	enum mformat format;
};

/* Returns CTL_CONTINUE, or the exit status (after --help too). */
static int
parse(struct ctl *ctl, int argc, char **argv, struct mquery *q)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "epochs", no_argument, NULL, 'e' },
		{ "iterations", no_argument, NULL, 'i' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "max-points", required_argument, NULL, 'm' },
		{ "csv", no_argument, NULL, 'c' },
		{ "plot", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = CTL_OK;

	*q = (struct mquery){
		.from = IG_NONE, .to = IG_NONE, .max_points = IG_NONE
	};
	while ((c = ctl_getopt(ctl, argc, argv, opts, &rc)) != -1) {
		switch (c) {
		case CTL_OPT_DONE:
			return rc; /* help printed or bad options */
		case 'n':
			if (q->nnames == MAX_NAMES)
				return ctl_usage(
				    ctl, "more than %d --name", MAX_NAMES);
			q->names[q->nnames++] = optarg;
			break;
		case 'e':
		case 'i':
			q->epochs = c == 'e';
			break;
		case 'f':
			rc = ctl_number(
			    ctl, "--from", optarg, 0, INT64_MAX, &q->from);
			break;
		case 't':
			rc = ctl_number(
			    ctl, "--to", optarg, 0, INT64_MAX, &q->to);
			break;
		case 'm':
			rc = ctl_number(ctl, "--max-points", optarg, 1,
			    INT64_MAX, &q->max_points);
			break;
		case 'c':
		case 'p':
			if (q->format != M_TABLE)
				return ctl_usage(ctl,
				    "--csv and --plot exclude "
				    "each other");
			q->format = c == 'c' ? M_CSV : M_PLOT;
			break;
		}
		if (rc != CTL_OK)
			return rc;
	}
	/* An option that conflicts with --json, not a way to print. */
	if (ctl->output == &output_json && q->format != M_TABLE)
		return ctl_usage(ctl, "--json excludes --csv and --plot");
	if ((rc = ctl_operands(ctl, argc, argv, 1)) != CTL_OK)
		return rc;
	q->run = argv[optind];
	return CTL_CONTINUE;
}

static void
pack_query(msgpack_packer *pk, const struct mquery *q)
{
	int64_t opt[] = { q->from, q->to, q->max_points };
	const char *keys[] = { "from", "to", "max_points" };
	size_t n = 2 + (q->nnames > 0);

	for (int i = 0; i < 3; i++)
		n += opt[i] != IG_NONE;
	msgpack_pack_map(pk, n);
	ig_pack_str(pk, "id");
	conn_pack_run(pk, q->run);
	ig_pack_str(pk, "axis");
	ig_pack_str(pk, q->epochs ? "epoch" : "iteration");
	if (q->nnames > 0) {
		ig_pack_str(pk, "names");
		msgpack_pack_array(pk, q->nnames);
		for (size_t i = 0; i < q->nnames; i++)
			ig_pack_str(pk, q->names[i]);
	}
	for (int i = 0; i < 3; i++)
		if (opt[i] != IG_NONE) {
			ig_pack_str(pk, keys[i]);
			msgpack_pack_int64(pk, opt[i]);
		}
}

/* Append page's series to h; page is emptied (its names and points
 * moved or freed). */
static int
merge(struct history *h, ig_series *page, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ig_series *s = NULL;
		ig_point *p;

		for (size_t j = 0; j < h->n; j++)
			if (strcmp(h->s[j].name, page[i].name) == 0)
				s = &h->s[j];
		if (s == NULL) {
			if ((s = realloc(h->s, (h->n + 1) * sizeof *s)) == NULL)
				return -1;
			h->s = s;
			s = &h->s[h->n++];
			*s = page[i];
			page[i] = (ig_series){ 0 };
			continue;
		}
		if ((p = realloc(s->points, (s->n + page[i].n) * sizeof *p)) ==
		    NULL)
			return -1;
		memcpy(p + s->n, page[i].points, page[i].n * sizeof *p);
		s->points = p;
		s->n += page[i].n;
	}
	return 0;
}

/* Fetch every page into h. */
static int
fetch(struct ctl *ctl, struct mquery *q, struct history *h)
{
	const msgpack_object *res, *next;
	ig_series *page;
	size_t n;
	ig_err e;
	int rc;

	for (;;) {
		pack_query(conn_begin(ctl->conn, "metrics"), q);
		if ((rc = conn_call(ctl->conn, &res, &ctl->e)) != CTL_OK)
			return rc;
		next = ig_map_get(res, "id");
		if (next != NULL &&
		    next->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			h->id = (int64_t)next->via.u64;
		if (ig_series_unpack(
		        ig_map_get(res, "series"), &page, &n, &e) != 0)
			return ig_err_set(&ctl->e, CTL_EUNAVAILABLE,
			    "the daemon's "
			    "answer to metrics makes no sense: %s",
			    e.message);
		rc = merge(h, page, n);
		ig_series_free(page, n);
		if (rc != 0)
			return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
		next = ig_map_get(res, "next");
		if (next == NULL || next->type == MSGPACK_OBJECT_NIL)
			return CTL_OK;
		/* A next that does not move on would loop for ever. */
		if (next->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    (int64_t)next->via.u64 <= q->from)
			return ig_err_set(&ctl->e, CTL_EUNAVAILABLE,
			    "the daemon's "
			    "answer to metrics has a bad next page");
		q->from = (int64_t)next->via.u64;
	}
}

int
cmd_metrics(struct ctl *ctl, int argc, char **argv)
{
	struct history h = { 0, NULL, 0 };
	struct mquery q;
	int rc;

	if ((rc = parse(ctl, argc, argv, &q)) != CTL_CONTINUE)
		return rc;
	if ((rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	if ((rc = fetch(ctl, &q, &h)) == CTL_OK)
		rc = ctl->output->metrics(ctl, &h, q.epochs, q.format);
	ig_series_free(h.s, h.n);
	return rc;
}
