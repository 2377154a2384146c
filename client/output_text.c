/*
 * output_text.c - the text form, for people (output.h): lines and aligned
 * tables, what came from the daemon through put_text and text_safe.  The
 * metrics and watch parts are in text_metrics.c and text_watch.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Print t when all went well, and free it. */
static int
table_end(struct ctl *ctl, struct table *t, int status)
{
	if (status == CTL_OK && table_print(t, ctl->out) != 0)
		status =
		    ig_err_set(&ctl->e, CTL_ELOCAL, "cannot write the output");
	table_free(t);
	return status;
}

static int
text_ls_end(struct ctl *ctl, void *list, int status)
{
	struct text_ls *l = list;

	status = table_end(ctl, l->t, status);
	free(l);
	return status;
}

/* queue: its rows, kept with their place until all have come. */
enum {
	Q_POS,
	Q_ID,
	Q_NAME,
	Q_OWNER,
	Q_PRIORITY,
	Q_RESOURCES,
	Q_WAITING,
	Q_N
};
static const char *const queue_headers[] = { ">#", ">ID", "NAME", ">OWNER",
	">PRIORITY", "RESOURCES", "WAITING FOR", NULL };
struct qrow {
	int64_t pos;
	char cell[Q_N][128];
};
struct qlist {
	struct qrow *v;
	size_t n, cap;
};

static int
text_queue_start(struct ctl *ctl, void **list)
{
	(void)ctl;
	return (*list = calloc(1, sizeof(struct qlist))) != NULL ? 0 : -1;
}

static int
text_queue_row(struct ctl *ctl, void *list, const ig_summary *s)
{
	struct qlist *q = list;
	struct summary_text f;
	struct qrow *r;

	(void)ctl;
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct qrow *v = realloc(q->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		q->v = v;
		q->cap = cap;
	}
	if (summary_text(&f, s, time(NULL)) != 0)
		return -1;
	r = &q->v[q->n++];
	r->pos = s->queue_position != IG_NONE ? s->queue_position : INT64_MAX;
	snprintf(r->cell[Q_POS], sizeof r->cell[0], "%lld",
	    (long long)s->queue_position);
	snprintf(r->cell[Q_ID], sizeof r->cell[0], "%s", f.cell[SUM_ID]);
	snprintf(r->cell[Q_NAME], sizeof r->cell[0], "%s", f.cell[SUM_NAME]);
	snprintf(r->cell[Q_OWNER], sizeof r->cell[0], "%s", f.cell[SUM_OWNER]);
	snprintf(r->cell[Q_PRIORITY], sizeof r->cell[0], "%lld",
	    (long long)s->priority);
	snprintf(r->cell[Q_RESOURCES], sizeof r->cell[0], "%s",
	    f.cell[SUM_RESOURCES]);
	snprintf(r->cell[Q_WAITING], sizeof r->cell[0], "%s",
	    s->waiting_for != NULL ? s->waiting_for : "-");
	summary_text_clear(&f);
	return 0;
}

static int
by_place(const void *a, const void *b)
{
	const struct qrow *x = a, *y = b;

	return (x->pos > y->pos) - (x->pos < y->pos);
}

static int
text_queue_end(struct ctl *ctl, void *list, int status)
{
	struct qlist *q = list;
	struct table *t = NULL;

	if (status == CTL_OK) {
		qsort(q->v, q->n, sizeof(*q->v), by_place);
		if ((t = table_new(queue_headers)) == NULL)
			status =
			    ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
		for (size_t i = 0; status == CTL_OK && i < q->n; i++) {
			const char *cells[Q_N];
			for (int k = 0; k < Q_N; k++)
				cells[k] = q->v[i].cell[k];
			if (table_add(t, cells) != 0)
				status = ig_err_set(
				    &ctl->e, CTL_ELOCAL, "out of memory");
		}
		status = table_end(ctl, t, status);
	}
	free(q->v);
	free(q);
	return status;
}

/* top: a line on the machine, its GPUs, then the running runs as ls
 * shows them and the queued ones as queue does. */
static const char *const gpu_headers[] = { ">GPU", ">RUN", "NAME", "OWNER",
	">UTIL", ">MEMORY", NULL };

static int
top_gpus(struct ctl *ctl, const struct top_frame *f)
{
	struct table *t = table_new(gpu_headers);
	int status = t != NULL ? CTL_OK : -1;

	for (size_t i = 0; status == CTL_OK && i < f->ngpus; i++) {
		const struct top_gpu *g = &f->gpus[i];
		const char *who =
		    g->run != IG_NONE ? owner_name(g->owner) : NULL;
		char idx[24], run[24], owner[24], util[16], used[32], total[32],
		    mem[72];
		const char *cells[] = { idx, run,
			g->run == IG_NONE   ? "-" :
			    g->name != NULL ? g->name :
			                      "-",
			owner, util, mem };

		snprintf(idx, sizeof(idx), "%lld", (long long)g->index);
		snprintf(run, sizeof(run), "%s", "-");
		snprintf(owner, sizeof(owner), "%s", who != NULL ? who : "-");
		if (g->run != IG_NONE) {
			snprintf(run, sizeof(run), "%lld", (long long)g->run);
			if (who == NULL)
				snprintf(owner, sizeof(owner), "%lld",
				    (long long)g->owner);
		}
		snprintf(util, sizeof(util), "-");
		if (g->util != IG_NONE)
			snprintf(
			    util, sizeof(util), "%lld%%", (long long)g->util);
		snprintf(mem, sizeof(mem), "-");
		if (g->mem_used != IG_NONE && g->mem_total != IG_NONE) {
			fmt_bytes(used, sizeof(used), g->mem_used);
			fmt_bytes(total, sizeof(total), g->mem_total);
			snprintf(mem, sizeof(mem), "%s / %s", used, total);
		}
		if (table_add(t, cells) != 0)
			status = -1;
	}
	if (status != CTL_OK)
		status = ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	return table_end(ctl, t, status);
}

static int
text_top(struct ctl *ctl, const struct top_frame *f)
{
	struct ls_cols cols = { 0 };
	size_t held = 0;
	void *list;
	int status = CTL_OK;

	for (size_t i = 0; i < f->ngpus; i++)
		held += f->gpus[i].run != IG_NONE;
	/* a live frame on a terminal is drawn over the last one */
	if (f->live && isatty(fileno(ctl->out)))
		fputs("\033[H\033[2J", ctl->out);
	fprintf(ctl->out,
	    "GPUs %zu/%zu held, CPU slots %lld/%lld used, %zu running, "
	    "%zu queued%s\n",
	    held, f->ngpus, (long long)f->cpus_used, (long long)f->cpus_total,
	    f->nrunning, f->nqueued, f->live ? " (q or Ctrl-C quits)" : "");
	if (f->ngpus > 0) {
		fputc('\n', ctl->out);
		status = top_gpus(ctl, f);
	}
	if (status == CTL_OK && f->nrunning > 0) {
		fputs("\nRUNNING\n", ctl->out);
		if (text_ls_start(ctl, &list, &cols) != 0)
			return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
		for (size_t i = 0; status == CTL_OK && i < f->nrunning; i++)
			if (text_ls_row(ctl, list, &f->running[i], NULL) != 0)
				status = ig_err_set(
				    &ctl->e, CTL_ELOCAL, "out of memory");
		status = text_ls_end(ctl, list, status);
	}
	if (status == CTL_OK && f->nqueued > 0) {
		fputs("\nQUEUED\n", ctl->out);
		if (text_queue_start(ctl, &list) != 0)
			return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
		for (size_t i = 0; status == CTL_OK && i < f->nqueued; i++)
			if (text_queue_row(ctl, list, &f->queued[i]) != 0)
				status = ig_err_set(
				    &ctl->e, CTL_ELOCAL, "out of memory");
		status = text_queue_end(ctl, list, status);
	}
	if (status == CTL_OK && f->live)
		fputc('\n', ctl->out);
	if (status == CTL_OK && fflush(ctl->out) != 0)
		status =
		    ig_err_set(&ctl->e, CTL_ELOCAL, "cannot write the output");
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
	fprintf(ctl->out, "%-13s %lld\n", "priority", (long long)s->priority);
	if (s->waiting_for != NULL) {
		fprintf(ctl->out, "%-13s ", "waiting for");
		put_text(ctl->out, s->waiting_for);
		fputc('\n', ctl->out);
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

/* checkpoints: a table, oldest first. */
static const char *const ckpt_headers[] = { ">ITERATION", ">EPOCH", ">SIZE",
	"TIME", ">SCORE", "KEPT", "FILE", NULL };

static int
text_ckpts_start(struct ctl *ctl, void **list)
{
	(void)ctl;
	return (*list = table_new(ckpt_headers)) != NULL ? 0 : -1;
}

static int
text_ckpts_row(struct ctl *ctl, void *list, const ig_ckpt_info *c)
{
	char it[32], ep[32], size[32], when[32], score[32];
	const char *cells[8] = { it, ep, size, when, score,
		c->last && c->best ? "last, best" :
		    c->last        ? "last" :
		    c->best        ? "best" :
		                     "-",
		c->file != NULL ? c->file : "(in the database)", NULL };

	(void)ctl;
	fmt_count(it, sizeof it, c->iteration);
	fmt_count(ep, sizeof ep, c->epoch);
	fmt_bytes(size, sizeof size, c->size);
	fmt_time(when, sizeof when, c->time);
	if (isnan(c->score))
		snprintf(score, sizeof score, "-");
	else
		fmt_value(score, sizeof score, c->score);
	return table_add(list, cells);
}

static int
text_ckpts_end(
    struct ctl *ctl, void *list, const msgpack_object *id, int status)
{
	(void)id;
	return table_end(ctl, list, status);
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
	.queue_start = text_queue_start,
	.queue_row = text_queue_row,
	.queue_end = text_queue_end,
	.top = text_top,
	.status = text_status,
	.state = text_state,
	.spec = text_spec,
	.logs_start = text_logs_start,
	.logs_line = text_logs_line,
	.logs_end = text_logs_end,
	.ckpts_start = text_ckpts_start,
	.ckpts_row = text_ckpts_row,
	.ckpts_end = text_ckpts_end,
	.action = text_action,
	.metrics = text_metrics,
	.watch_begin = text_watch_begin,
	.watch_show = text_watch_show,
	.watch_note = text_watch_note,
	.watch_ended = text_watch_ended,
	.dashboard = text_dashboard,
};
