/*
 * watch.c - who watches which run, and the one function the run manager's
 * news goes out through (as Neovim's broadcast_event): watch, unwatch.
 *
 * The run manager does not know connections: it tells api_news that a run
 * has a notification, was accepted or resumed, or is gone, and this file
 * sends the notification to the connections that watch the run.  A run's
 * watchers hang off run->watchers, opaque to the run manager and NULL
 * while nobody watches; the connections that watch every run they may see
 * are kept here.  Every connection kept is referenced.
 */
#include <stdlib.h>

#include "api/api_int.h"

struct watchers {
	struct server_conn **v;
	size_t n;
};

/* watch {}: every run they may see, and those accepted or resumed later */
static struct watchers all;

static void
pack_empty(msgpack_packer *pk, void *arg)
{
	(void)arg;
	msgpack_pack_map(pk, 0);
}

static void
pack_status_note(msgpack_packer *pk, void *arg)
{
	ig_status_note_pack(pk, arg);
}

static size_t
find(const struct watchers *w, const struct server_conn *conn)
{
	size_t i;

	for (i = 0; i < w->n && w->v[i] != conn; i++)
		;
	return i;
}

/* Add conn (referenced) unless it is there; false when out of memory. */
static bool
add(struct watchers *w, struct server_conn *conn)
{
	struct server_conn **v;

	if (find(w, conn) < w->n)
		return true;
	if ((v = realloc(w->v, (w->n + 1) * sizeof(*v))) == NULL)
		return false;
	w->v = v;
	server_conn_ref(conn);
	v[w->n++] = conn;
	return true;
}

static void
drop(struct watchers *w, struct server_conn *conn)
{
	size_t i = find(w, conn);

	if (i < w->n) {
		server_conn_unref(conn);
		w->v[i] = w->v[--w->n];
	}
}

static void
drop_closed(struct watchers *w)
{
	size_t j = 0;

	for (size_t i = 0; i < w->n; i++) {
		if (server_conn_closed(w->v[i]))
			server_conn_unref(w->v[i]);
		else
			w->v[j++] = w->v[i];
	}
	w->n = j;
}

static void
clear(struct watchers *w)
{
	for (size_t i = 0; i < w->n; i++)
		server_conn_unref(w->v[i]);
	free(w->v);
	*w = (struct watchers){ 0 };
}

/* A run without watchers has none of the set: the run manager makes no
 * notes for nobody. */
static void
run_forget_empty(struct run *run)
{
	struct watchers *w = run->watchers;

	if (w != NULL && w->n == 0) {
		free(w->v);
		free(w);
		run->watchers = NULL;
	}
}

static void
run_watch(struct run *run, struct server_conn *conn)
{
	if (run->watchers == NULL &&
	    (run->watchers = calloc(1, sizeof(struct watchers))) == NULL)
		return;
	add(run->watchers, conn);
	run_forget_empty(run);
}

static void
run_unwatch(struct run *run, struct server_conn *conn)
{
	if (run->watchers != NULL) {
		drop(run->watchers, conn);
		run_forget_empty(run);
	}
}

static void
run_gone(struct run *run)
{
	if (run->watchers != NULL) {
		clear(run->watchers);
		free(run->watchers);
		run->watchers = NULL;
	}
}

/* The note to every watcher of run: what its owner and root may read to
 * them, the public view (if any) to the others. */
static void
broadcast_event(struct run *run, const struct run_note *n)
{
	struct watchers *w = run->watchers;

	if (w == NULL)
		return;
	drop_closed(w);
	for (size_t i = 0; i < w->n; i++) {
		struct server_conn *c = w->v[i];
		if (run_owned_by(run, server_conn_uid(c)))
			server_notify(c, n->method, n->pack, n->arg);
		else if (n->public != NULL)
			server_notify(c, n->method, n->public, n->parg);
	}
	run_forget_empty(run);
}

/* Every connection that watches all the runs it may see takes a new or
 * resumed run too. */
static void
run_live(struct run *run)
{
	drop_closed(&all);
	for (size_t i = 0; i < all.n; i++)
		if (run_owned_by(run, server_conn_uid(all.v[i])))
			run_watch(run, all.v[i]);
}

static void
news(void *ud, struct run *run, enum run_news what, const struct run_note *n)
{
	(void)ud;
	switch (what) {
	case RUN_NOTE:
		broadcast_event(run, n);
		break;
	case RUN_LIVE:
		run_live(run);
		break;
	case RUN_GONE:
		run_gone(run);
		break;
	}
}

static uint64_t
requests(void *ud)
{
	return server_requests(ud);
}

void
api_watch_open(struct server *srv, struct runs *mgr)
{
	struct runs_rpc rpc = { news, requests, srv };

	runs_set_rpc(mgr, &rpc);
}

void
api_close(void)
{
	clear(&all);
}

/* conn watches (on) every live run its uid owns (all for root), and the
 * runs accepted or resumed later, or no longer (off). */
static void
watch_all(struct runs *mgr, struct server_conn *conn, bool on)
{
	uid_t uid = server_conn_uid(conn);

	if (on)
		add(&all, conn);
	else
		drop(&all, conn);
	for (size_t i = 0; i < mgr->n; i++) {
		struct run *run = mgr->v[i];
		if (run_ended(run) || !run_owned_by(run, uid))
			continue;
		if (on)
			run_watch(run, conn);
		else
			run_unwatch(run, conn);
	}
}

static void
watch(struct api_call *c, bool on)
{
	struct run *run;

	if (api_no_params(c) || ig_map_get(c->params, "id") == NULL) {
		/* every live run the caller owns (all for root), and later ones */
		watch_all(c->mgr, c->conn, on);
		server_conn_watching(c->conn, on);
		server_reply(c->conn, c->msgid, pack_empty, NULL);
		return;
	}
	/* anyone may watch what anyone may read; the private notes (log
	 * lines, the reason) go to its owner and root only */
	if ((run = api_find_run(c, NULL, 0)) == NULL)
		return;
	if (on && run_ended(run)) {
		/* nothing more will happen: say how it ended */
		ig_status_note nt = { run->id, run->status,
			run_owned_by(run, c->peer) ? run->reason : NULL, NULL };
		server_reply(c->conn, c->msgid, pack_empty, NULL);
		server_notify(c->conn, "status", pack_status_note, &nt);
		return;
	}
	if (on)
		run_watch(run, c->conn);
	else
		run_unwatch(run, c->conn);
	server_reply(c->conn, c->msgid, pack_empty, NULL);
}

void
api_watch(struct api_call *c)
{
	watch(c, true);
}

void
api_unwatch(struct api_call *c)
{
	watch(c, false);
}
