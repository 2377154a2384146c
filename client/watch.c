/*
 * watch.c - follow a run to its end: a view redrawn in place on a
 * terminal, plain lines otherwise, JSON lines with --json.
 *
 * The view is the run's summary (from status) kept up to date by the
 * notifications, so ls, status and watch show a run the same way.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ignitectl.h"

#define BAR_WIDTH 24
#define VIEW_LINES 4
#define PLAIN_PROGRESS_SECONDS 2       /* between progress lines off a tty */
#define QUIET_MS 2000                  /* no news this long: ask for status */

struct view {
	ig_summary s;           /* owned: cleared by watch_run */
	double eta;             /* seconds; < 0 unknown */
	char last[256];         /* the latest event or log line */
	bool tty;
	int drawn;              /* lines of the view on the screen */
	time_t plain_at;        /* when the last progress line went out */
};

static bool
ended(int status)
{
	return status == IG_STATUS_COMPLETED || status == IG_STATUS_TERMINATED ||
	    status == IG_STATUS_FAILED;
}

/* "epoch 2/3  [#########...]  120/450  1.2k it/s  ETA 12s" */
static void
progress_line(char *buf, size_t len, const struct view *v)
{
	const ig_summary *s = &v->s;
	char ep[32], max[32], it[32], elen[32], rate[32], eta[32];
	char bar[BAR_WIDTH + 1];
	int64_t in_epoch = s->iteration;
	int fill = 0;

	if (s->epoch_length > 0 && s->epoch >= 1) {
		in_epoch = s->iteration - (s->epoch - 1) * s->epoch_length;
		if (in_epoch < 0)
			in_epoch = 0;
		if (in_epoch > s->epoch_length)
			in_epoch = s->epoch_length;
		fill = (int)(in_epoch * BAR_WIDTH / s->epoch_length);
	}
	for (int i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	fmt_count(ep, sizeof ep, s->epoch);
	fmt_count(max, sizeof max, s->max_epochs);
	fmt_count(it, sizeof it, in_epoch);
	fmt_count(elen, sizeof elen, s->epoch_length);
	fmt_rate(rate, sizeof rate, s->rate);
	fmt_duration(eta, sizeof eta, v->eta);
	snprintf(buf, len, "epoch %s/%s  [%s]  %s/%s  %s it/s  ETA %s", ep, max,
	    bar, it, elen, rate, eta);
}

/* "run 3 digits: running" (and the reason, when there is one) */
static void
title_line(char *buf, size_t len, const struct view *v)
{
	const char *status = ig_status_name(v->s.status);

	snprintf(buf, len, "run %lld%s%s: %s%s%s", (long long)v->s.id,
	    v->s.name != NULL ? " " : "", v->s.name != NULL ? v->s.name : "",
	    status != NULL ? status : "?", v->s.reason != NULL ? " - " : "",
	    v->s.reason != NULL ? v->s.reason : "");
}

/* s cut to width columns with a visible mark, for a line that must not
 * wrap (the redraw counts lines). */
static void
put_fit(FILE *f, const char *s, int width)
{
	int w = 0;

	for (const char *p = s; *p != '\0'; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80 && ++w == width &&
		    text_width(p) > 1) {
			fputs(">", f);
			return;
		}
		fputc(*p, f);
	}
}

static void
draw(struct ctl *ctl, struct view *v)
{
	char lines[VIEW_LINES][512];
	struct summary_text f;
	int width = term_width(ctl->out);

	title_line(lines[0], sizeof lines[0], v);
	progress_line(lines[1], sizeof lines[1], v);
	if (summary_text(&f, &v->s, time(NULL)) == 0) {
		snprintf(lines[2], sizeof lines[2], "%s", f.cell[SUM_METRICS]);
		summary_text_clear(&f);
	} else {
		snprintf(lines[2], sizeof lines[2], "(out of memory)");
	}
	snprintf(lines[3], sizeof lines[3], "%s", v->last);
	if (v->drawn > 0)
		fprintf(ctl->out, "\033[%dA", v->drawn);
	for (int i = 0; i < VIEW_LINES; i++) {
		char *safe = text_safe(lines[i]);

		fputs("\r\033[K", ctl->out);
		put_fit(ctl->out, safe != NULL ? safe : "(out of memory)", width);
		fputc('\n', ctl->out);
		free(safe);
	}
	v->drawn = VIEW_LINES;
	fflush(ctl->out);
}

/* A line off a terminal. */
static void __attribute__((format(printf, 2, 3)))
plain(struct ctl *ctl, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	put_text(ctl->out, line);
	fputc('\n', ctl->out);
	fflush(ctl->out);
}

/* Set the latest value of a metric, adding it when new. */
static int
set_metric(ig_summary *s, const char *name, double value)
{
	ig_named_value *m;

	for (size_t i = 0; i < s->nmetrics; i++)
		if (strcmp(s->metrics[i].name, name) == 0) {
			s->metrics[i].value = value;
			return 0;
		}
	if ((m = realloc(s->metrics, (s->nmetrics + 1) * sizeof *m)) == NULL)
		return -1;
	s->metrics = m;
	if ((m[s->nmetrics].name = strdup(name)) == NULL)
		return -1;
	m[s->nmetrics++].value = value;
	return 0;
}

/* A notification as one JSON line: its params and "type". */
static int
json_note(struct ctl *ctl, const char *method, const msgpack_object *params,
          const ig_series *series, size_t nseries)
{
	json_t *j = json_from_msgpack(params);

	/* A metric batch's columns are binary: give them as points. */
	if (j != NULL && series != NULL &&
	    json_object_set_new(j, "series", json_series(series, nseries)) != 0) {
		json_decref(j);
		j = NULL;
	}
	if (j != NULL && json_object_set_new(j, "type", json_string(method)) != 0) {
		json_decref(j);
		j = NULL;
	}
	return json_print(ctl, j);
}

static int
on_progress(struct view *v, const msgpack_object *params, ig_err *e)
{
	ig_progress p;

	if (ig_progress_unpack(params, &p, e) != 0)
		return -1;
	v->s.epoch = p.epoch;
	v->s.iteration = p.iteration;
	v->s.epoch_length = p.epoch_length;
	v->s.max_epochs = p.max_epochs;
	v->s.rate = p.rate;
	v->eta = p.eta;
	return 0;
}

static int
on_status(struct view *v, const msgpack_object *params, ig_err *e)
{
	ig_status_note st;

	if (ig_status_note_unpack(params, &st, e) != 0)
		return -1;
	v->s.status = st.status;
	free(v->s.reason);
	v->s.reason = st.reason;        /* moved */
	if (ended(st.status))
		v->s.rate = 0;
	return 0;
}

/* One notification; *series is set for a metric batch. */
static int
update(struct ctl *ctl, struct view *v, const char *method,
       const msgpack_object *params, ig_series **series, size_t *nseries)
{
	char text[512], when[32];
	ig_event_note ev;
	ig_log_line l;
	ig_err e;
	int rc = 0;

	if (strcmp(method, "progress") == 0) {
		rc = on_progress(v, params, &e);
		if (rc == 0 && !v->tty && !ctl->json &&
		    time(NULL) - v->plain_at >= PLAIN_PROGRESS_SECONDS) {
			v->plain_at = time(NULL);
			progress_line(text, sizeof text, v);
			plain(ctl, "%s", text);
		}
	} else if (strcmp(method, "status") == 0) {
		if ((rc = on_status(v, params, &e)) == 0 && !v->tty && !ctl->json) {
			title_line(text, sizeof text, v);
			plain(ctl, "%s", text);
		}
	} else if (strcmp(method, "event") == 0) {
		if ((rc = ig_event_note_unpack(params, &ev, &e)) == 0) {
			snprintf(v->last, sizeof v->last, "%s at epoch %lld, "
			    "iteration %lld", ev.event, (long long)ev.epoch,
			    (long long)ev.iteration);
			ig_event_note_clear(&ev);
			if (!v->tty && !ctl->json)
				plain(ctl, "event %s", v->last);
		}
	} else if (strcmp(method, "log") == 0) {
		if ((rc = ig_log_line_unpack(params, &l, &e)) == 0) {
			fmt_time(when, sizeof when, l.time);
			snprintf(v->last, sizeof v->last, "%s  %s", when, l.message);
			ig_log_line_clear(&l);
			if (!v->tty && !ctl->json)
				plain(ctl, "log %s", v->last);
		}
	} else if (strcmp(method, "metrics") == 0) {
		rc = ig_series_unpack(ig_map_get(params, "series"), series,
		    nseries, &e);
		for (size_t i = 0; rc == 0 && i < *nseries; i++) {
			const ig_point *last;

			if ((*series)[i].n == 0)
				continue;
			last = &(*series)[i].points[(*series)[i].n - 1];
			if (set_metric(&v->s, (*series)[i].name,
			    last->value) != 0)
				return ig_err_set(&ctl->e, CTL_ELOCAL,
				    "out of memory");
			/* newer than the last progress note, which comes
			 * at most 10 times a second */
			if (last->iteration >= v->s.iteration) {
				v->s.epoch = last->epoch;
				v->s.iteration = last->iteration;
			}
		}
		if (rc == 0 && !v->tty && !ctl->json) {
			struct summary_text f;
			if (summary_text(&f, &v->s, time(NULL)) != 0)
				return ig_err_set(&ctl->e, CTL_ELOCAL,
				    "out of memory");
			plain(ctl, "metrics at epoch %s: %s", f.cell[SUM_EPOCH],
			    f.cell[SUM_METRICS]);
			summary_text_clear(&f);
		}
	}
	/* Other notifications are newer than us: skip them. */
	if (rc != 0)
		return ig_err_set(&ctl->e, CTL_EUNAVAILABLE, "the daemon sent a "
		    "%s notification that makes no sense: %s", method, e.message);
	return CTL_OK;
}

/* The exit status for how the run ended. */
static int
outcome(struct ctl *ctl, const struct view *v)
{
	switch (v->s.status) {
	case IG_STATUS_COMPLETED:
		return CTL_OK;
	case IG_STATUS_TERMINATED:
		return CTL_ETERMINATED;
	default:
		ctl->e.code = 0;
		snprintf(ctl->e.message, sizeof ctl->e.message, "run %lld "
		    "failed: %s", (long long)v->s.id,
		    v->s.reason != NULL ? v->s.reason : "no reason given");
		return CTL_EDAEMON;
	}
}

/*
 * A quiet run (paused, slow, or one that ended as we subscribed): ask how
 * it is, so that a missed final status cannot leave us waiting for ever.
 */
static int
poll_status(struct ctl *ctl, struct view *v, const char *run, bool *over)
{
	const msgpack_object *res;
	ig_summary s;
	ig_err e;
	int rc;

	if ((rc = conn_call_run(ctl->conn, "status", run, &res, &ctl->e)) != CTL_OK)
		return rc;
	if (ig_summary_unpack(res, &s, &e) != 0)
		return ig_err_set(&ctl->e, CTL_EUNAVAILABLE, "the daemon's answer "
		    "to status makes no sense: %s", e.message);
	/* Keep our metrics: they may be newer than the summary's. */
	v->s.status = s.status;
	v->s.epoch = s.epoch;
	v->s.iteration = s.iteration;
	v->s.rate = s.rate;
	free(v->s.reason);
	v->s.reason = s.reason;
	s.reason = NULL;
	ig_summary_clear(&s);
	if ((*over = ended(v->s.status))) {
		if (ctl->json)
			return json_print(ctl, json_pack("{s:s s:I s:s s:o}",
			    "type", "status", "id", (json_int_t)v->s.id,
			    "status", ig_status_name(v->s.status),
			    "reason", v->s.reason != NULL ?
			    json_string(v->s.reason) : json_null()));
		if (!v->tty) {
			char text[512];
			title_line(text, sizeof text, v);
			plain(ctl, "%s", text);
		}
	}
	return CTL_OK;
}

static int
follow(struct ctl *ctl, struct view *v, const char *run)
{
	const msgpack_object *params;
	const char *method;
	ig_series *series;
	size_t nseries;
	char text[512];
	bool over = false;
	int rc;

	if (!v->tty && !ctl->json && !ended(v->s.status)) {
		title_line(text, sizeof text, v);
		plain(ctl, "%s", text);
	}
	/* Until the status that ends the run: the daemon sends it also
	 * when the run had ended before we asked. */
	while (!over) {
		if (v->tty && !ctl->json)
			draw(ctl, v);
		if ((rc = conn_next(ctl->conn, QUIET_MS, &method, &params,
		    &ctl->e)) != CTL_OK)
			return rc;
		if (method == NULL) {
			if ((rc = poll_status(ctl, v, run, &over)) != CTL_OK)
				return rc;
			continue;
		}
		series = NULL;
		nseries = 0;
		rc = update(ctl, v, method, params, &series, &nseries);
		if (rc == CTL_OK && ctl->json)
			rc = json_note(ctl, method, params, series, nseries);
		ig_series_free(series, nseries);
		if (rc != CTL_OK)
			return rc;
		over = strcmp(method, "status") == 0 && ended(v->s.status);
	}
	if (v->tty && !ctl->json)
		draw(ctl, v);
	return outcome(ctl, v);
}

int
watch_run(struct ctl *ctl, const char *run)
{
	const msgpack_object *res;
	struct view v = { .eta = -1 };
	ig_err e;
	int rc;

	if ((rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	/* Subscribe before asking where the run stands: a run that ends in
	 * between still sends its final status to us. */
	if ((rc = conn_call_run(ctl->conn, "watch", run, &res, &ctl->e)) != CTL_OK ||
	    (rc = conn_call_run(ctl->conn, "status", run, &res, &ctl->e)) != CTL_OK)
		return rc;
	if (ig_summary_unpack(res, &v.s, &e) != 0)
		return ig_err_set(&ctl->e, CTL_EUNAVAILABLE, "the daemon's answer "
		    "to status makes no sense: %s", e.message);
	v.tty = isatty(fileno(ctl->out));
	rc = follow(ctl, &v, run);
	ig_summary_clear(&v.s);
	return rc;
}

int
cmd_watch(struct ctl *ctl, int argc, char **argv)
{
	int rc;

	if ((rc = ctl_args(ctl, argc, argv, 1)) != CTL_CONTINUE)
		return rc;
	return watch_run(ctl, argv[optind]);
}
