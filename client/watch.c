/*
 * watch.c - follow a run to its end: keep its view (output.h) up to date
 * from the notifications, and hand each to the output (text_watch.c,
 * output_json.c).
 */
#include <stdlib.h>
#include <string.h>

#include "output.h"

#define QUIET_MS 2000 /* no news this long: ask for status */

/* The notifications watch knows, by enum note. */
static const char *const note_names[NOTE_OTHER] = {
	"progress",
	"status",
	"event",
	"log",
	"metrics",
};

bool
run_ended(int status)
{
	return status == IG_STATUS_COMPLETED ||
	    status == IG_STATUS_TERMINATED || status == IG_STATUS_FAILED;
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
	v->s.reason = st.reason; /* moved */
	free(v->s.throttled);
	v->s.throttled = st.throttled;
	if (run_ended(st.status))
		v->s.rate = 0;
	return 0;
}

/* Which notification method is. */
static enum note
note_kind(const char *method)
{
	int k;

	for (k = 0; k < NOTE_OTHER; k++)
		if (strcmp(method, note_names[k]) == 0)
			break;
	return (enum note)k;
}

/* The latest metric values of a batch into the view. */
static int
on_metrics(struct view *v, const ig_series *series, size_t nseries)
{
	for (size_t i = 0; i < nseries; i++) {
		const ig_point *last;

		if (series[i].n == 0)
			continue;
		last = &series[i].points[series[i].n - 1];
		if (set_metric(&v->s, series[i].name, last->value) != 0)
			return -1;
		/* newer than the last progress note, which comes at most
		 * 10 times a second */
		if (last->iteration >= v->s.iteration) {
			v->s.epoch = last->epoch;
			v->s.iteration = last->iteration;
		}
	}
	return 0;
}

/* One notification into the view; *series is set for a metric batch. */
static int
update(struct ctl *ctl, struct view *v, enum note kind, const char *method,
    const msgpack_object *params, ig_series **series, size_t *nseries)
{
	char when[32];
	ig_event_note ev;
	ig_log_line l;
	ig_err e;
	int rc = 0;

	switch (kind) {
	case NOTE_PROGRESS:
		rc = on_progress(v, params, &e);
		break;
	case NOTE_STATUS:
		rc = on_status(v, params, &e);
		break;
	case NOTE_EVENT:
		if ((rc = ig_event_note_unpack(params, &ev, &e)) == 0) {
			snprintf(v->last, sizeof v->last,
			    "%s at epoch %lld, "
			    "iteration %lld",
			    ev.event, (long long)ev.epoch,
			    (long long)ev.iteration);
			ig_event_note_clear(&ev);
		}
		break;
	case NOTE_LOG:
		if ((rc = ig_log_line_unpack(params, &l, &e)) == 0) {
			fmt_time(when, sizeof when, l.time);
			snprintf(
			    v->last, sizeof v->last, "%s  %s", when, l.message);
			ig_log_line_clear(&l);
		}
		break;
	case NOTE_METRICS:
		rc = ig_series_unpack(
		    ig_map_get(params, "series"), series, nseries, &e);
		if (rc == 0 && on_metrics(v, *series, *nseries) != 0)
			return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
		break;
	case NOTE_OTHER:
		break; /* newer than us: skip it */
	}
	if (rc != 0)
		return ig_err_set(&ctl->e, CTL_EUNAVAILABLE,
		    "the daemon sent a "
		    "%s notification that makes no sense: %s",
		    method, e.message);
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
		snprintf(ctl->e.message, sizeof ctl->e.message,
		    "run %lld "
		    "failed: %s",
		    (long long)v->s.id,
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

	if ((rc = conn_call_run(ctl->conn, "status", run, &res, &ctl->e)) !=
	    CTL_OK)
		return rc;
	if (ig_summary_unpack(res, &s, &e) != 0)
		return ig_err_set(&ctl->e, CTL_EUNAVAILABLE,
		    "the daemon's answer "
		    "to status makes no sense: %s",
		    e.message);
	/* Keep our metrics: they may be newer than the summary's. */
	v->s.status = s.status;
	v->s.epoch = s.epoch;
	v->s.iteration = s.iteration;
	v->s.rate = s.rate;
	free(v->s.reason);
	v->s.reason = s.reason;
	s.reason = NULL;
	ig_summary_clear(&s);
	if ((*over = run_ended(v->s.status)))
		return ctl->output->watch_ended(ctl, v);
	return CTL_OK;
}

static int
follow(struct ctl *ctl, struct view *v, const char *run)
{
	const struct output *out = ctl->output;
	const msgpack_object *params;
	const char *method;
	ig_series *series;
	size_t nseries;
	enum note kind;
	bool over = false;
	int rc;

	if ((rc = out->watch_begin(ctl, v)) != CTL_OK)
		return rc;
	/* Until the status that ends the run: the daemon sends it also
	 * when the run had ended before we asked. */
	while (!over) {
		if ((rc = out->watch_show(ctl, v)) != CTL_OK ||
		    (rc = conn_next(ctl->conn, QUIET_MS, &method, &params,
		         &ctl->e)) != CTL_OK)
			return rc;
		if (method == NULL) {
			if ((rc = poll_status(ctl, v, run, &over)) != CTL_OK)
				return rc;
			continue;
		}
		series = NULL;
		nseries = 0;
		kind = note_kind(method);
		rc = update(ctl, v, kind, method, params, &series, &nseries);
		if (rc == CTL_OK)
			rc = out->watch_note(
			    ctl, v, kind, method, params, series, nseries);
		ig_series_free(series, nseries);
		if (rc != CTL_OK)
			return rc;
		over = kind == NOTE_STATUS && run_ended(v->s.status);
	}
	if ((rc = out->watch_show(ctl, v)) != CTL_OK)
		return rc;
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
	if ((rc = conn_call_run(ctl->conn, "watch", run, &res, &ctl->e)) !=
	        CTL_OK ||
	    (rc = conn_call_run(ctl->conn, "status", run, &res, &ctl->e)) !=
	        CTL_OK)
		return rc;
	if (ig_summary_unpack(res, &v.s, &e) != 0)
		return ig_err_set(&ctl->e, CTL_EUNAVAILABLE,
		    "the daemon's answer "
		    "to status makes no sense: %s",
		    e.message);
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
