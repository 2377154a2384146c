/*
 * notify.c - the news of a run to the RPC side (which alone knows who
 * watches it), and who may read what.
 */
#include "runs/runs_int.h"

bool
run_owned_by(const struct run *run, uid_t uid)
{
	return uid == 0 || uid == run->owner;
}

void
runs_set_rpc(struct runs *mgr, const struct runs_rpc *rpc)
{
	mgr->rpc = *rpc;
}

/* The news about run to the RPC side, once it listens. */
void
tell_rpc(struct run *run, enum run_news what, const struct run_note *note)
{
	struct runs_rpc *rpc = &run->mgr->rpc;

	if (rpc->news != NULL)
		rpc->news(rpc->ud, run, what, note);
}

/* A notification to every watcher: pack(arg) to those who may read the
 * run's private parts (its owner, root), public(parg) to the others, or
 * nothing with public NULL. */
void
broadcast_to(struct run *run, const char *method, run_pack_fn *pack, void *arg,
    run_pack_fn *public, void *parg)
{
	struct run_note note = { method, pack, arg, public, parg };

	tell_rpc(run, RUN_NOTE, &note);
}

/* A notification everyone who watches may read. */
void
broadcast(struct run *run, const char *method, run_pack_fn *pack, void *arg)
{
	broadcast_to(run, method, pack, arg, pack, arg);
}

static void
pack_status_note(msgpack_packer *pk, void *arg)
{
	ig_status_note_pack(pk, arg);
}

/* The reason is private: it may quote the worker's stderr. */
void
notify_status(struct run *run)
{
	/* as the summary shows it: queued while a cluster's job waits, with
	 * where that job stands */
	int status = remote_shown_status(run);
	char *why = remote_reason(run);
	char *throttled = run_throttled(run);
	ig_status_note n = { run->id, status, why != NULL ? why : run->reason,
		throttled };
	ig_status_note pub = { run->id, status, NULL, throttled };

	remote_told(run, status, why);
	if (run->watchers != NULL)
		broadcast_to(run, "status", pack_status_note, &n,
		    pack_status_note, &pub);
}

static void
pack_progress(msgpack_packer *pk, void *arg)
{
	ig_progress_pack(pk, arg);
}

void
notify_progress(struct run *run)
{
	const ig_state *s = ig_engine_state(job_engine(run->job));
	ig_progress p = { run->id, s->epoch, s->iteration, s->epoch_length,
		s->max_epochs, run->rate, -1 };

	if (s->epoch_length != IG_NONE && s->max_epochs != IG_NONE &&
	    run->rate > 0)
		p.eta =
		    (double)(s->epoch_length * s->max_epochs - s->iteration) /
		    run->rate;
	broadcast(run, "progress", pack_progress, &p);
	run->progress_sent = (double)uv_now(run->mgr->loop);
}

void
pack_event_note(msgpack_packer *pk, void *arg)
{
	ig_event_note_pack(pk, arg);
}

struct metrics_note {
	int64_t id;
	ig_series *s;
	size_t n;
};

static void
pack_metrics_note(msgpack_packer *pk, void *arg)
{
	struct metrics_note *m = arg;

	msgpack_pack_map(pk, 2);
	ig_pack_str(pk, "id");
	msgpack_pack_int64(pk, m->id);
	ig_pack_str(pk, "series");
	ig_series_pack(pk, m->s, m->n);
}

/* The epoch's metric values, one point each, to watchers. */
void
notify_metrics(struct run *run, ig_engine *e)
{
	const ig_state *st = ig_engine_state(e);
	size_t n = ig_engine_metric_count(e);
	ig_series *s = calloc(n, sizeof(*s));
	ig_point *p = calloc(n, sizeof(*p));
	double now = store_now();

	if (s != NULL && p != NULL) {
		for (size_t i = 0; i < n; i++) {
			s[i].name =
			    (char *)ig_engine_metric_at(e, i, &p[i].value);
			p[i].epoch = st->epoch;
			p[i].iteration = st->iteration;
			p[i].time = now;
			s[i].points = &p[i];
			s[i].n = 1;
		}
		struct metrics_note m = { run->id, s, n };
		broadcast(run, "metrics", pack_metrics_note, &m);
	}
	free(s);
	free(p);
}
