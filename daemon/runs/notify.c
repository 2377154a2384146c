/*
 * notify.c - notifications to the connections that watch a run, and who may read what.
 */
#include "runs/runs_int.h"

static void
drop_closed_watchers(struct run *run)
{
	size_t j = 0;

	for (size_t i = 0; i < run->nwatchers; i++) {
		if (server_conn_closed(run->watchers[i]))
			server_conn_unref(run->watchers[i]);
		else
			run->watchers[j++] = run->watchers[i];
	}
	run->nwatchers = j;
}

bool
run_owned_by(const struct run *run, uid_t uid)
{
	return uid == 0 || uid == run->owner;
}

/* A notification to every watcher: pack(arg) to those who may read the
 * run's private parts (its owner, root), public(parg) to the others, or
 * nothing with public NULL. */
void
broadcast_to(struct run *run, const char *method, server_pack_fn *pack,
    void *arg, server_pack_fn *public, void *parg)
{
	drop_closed_watchers(run);
	for (size_t i = 0; i < run->nwatchers; i++) {
		struct server_conn *c = run->watchers[i];
		if (run_owned_by(run, server_conn_uid(c)))
			server_notify(c, method, pack, arg);
		else if (public != NULL)
			server_notify(c, method, public, parg);
	}
}

/* A notification everyone who watches may read. */
void
broadcast(struct run *run, const char *method, server_pack_fn *pack, void *arg)
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
	ig_status_note n = { run->id, run->status, run->reason };
	ig_status_note pub = { run->id, run->status, NULL };

	if (run->nwatchers > 0)
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
	double now = wall_now();

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

/* Every connection that watches all the runs it may see gets a new or
 * revived run too. */
void
add_all_watchers(struct run *run)
{
	struct runs *mgr = run->mgr;
	size_t j = 0;

	for (size_t i = 0; i < mgr->nall; i++) {
		struct server_conn *c = mgr->all[i];
		if (server_conn_closed(c)) {
			server_conn_unref(c);
			continue;
		}
		mgr->all[j++] = c;
		if (run_owned_by(run, server_conn_uid(c)))
			run_watch(run, c);
	}
	mgr->nall = j;
}

void
runs_watch_all(struct runs *mgr, struct server_conn *conn, bool on)
{
	uid_t uid = server_conn_uid(conn);
	size_t i;

	for (i = 0; i < mgr->nall && mgr->all[i] != conn; i++)
		;
	if (!on && i < mgr->nall) {
		server_conn_unref(conn);
		mgr->all[i] = mgr->all[--mgr->nall];
	} else if (on && i == mgr->nall) {
		struct server_conn **v =
		    realloc(mgr->all, (mgr->nall + 1) * sizeof(*v));
		if (v != NULL) {
			server_conn_ref(conn);
			mgr->all = v;
			v[mgr->nall++] = conn;
		}
	}
	for (i = 0; i < mgr->n; i++) {
		struct run *run = mgr->v[i];
		if (!live(run) || !run_owned_by(run, uid))
			continue;
		if (on)
			run_watch(run, conn);
		else
			run_unwatch(run, conn);
	}
}

void
run_watch(struct run *run, struct server_conn *conn)
{
	for (size_t i = 0; i < run->nwatchers; i++)
		if (run->watchers[i] == conn)
			return;
	struct server_conn **v =
	    realloc(run->watchers, (run->nwatchers + 1) * sizeof(*v));
	if (v == NULL)
		return;
	run->watchers = v;
	server_conn_ref(conn);
	v[run->nwatchers++] = conn;
}

void
run_unwatch(struct run *run, struct server_conn *conn)
{
	for (size_t i = 0; i < run->nwatchers; i++)
		if (run->watchers[i] == conn) {
			server_conn_unref(conn);
			run->watchers[i] = run->watchers[--run->nwatchers];
			return;
		}
}
