/*
 * runs.c - the run manager: runs accepted, stepped in time slices on the
 * loop, checkpointed to the store, finished, and resumed when the daemon
 * starts again.
 *
 * Checkpoints are taken only where the engine's state is clean, so that a
 * resumed run is the same run: at ITERATION_COMPLETED (not the last of an
 * epoch, whose EPOCH_COMPLETED is still to come) and at EPOCH_COMPLETED,
 * after the job's own handlers have updated metrics and reported points.
 * Pause and shutdown wait for such a point, checkpoint, and interrupt.
 * An exec worker's state comes asynchronously: the run waits off the run
 * queue at its clean point until the worker answers (checkpoint()), and
 * the loop never waits for a worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "runs/run.h"
#include "runs/runs.h"

/* One turn of stepping, between two looks at the sockets: short enough
 * that a request waits well under a millisecond, long enough that the
 * loop's own cost stays a few percent. */
#define SLICE_NS        200000
/* After a loop turn that served requests, clients are waiting on us: the
 * next turn is SLICE_BUSY_NS, so a stream of requests is answered several
 * times as often while the engines still get most of the time. */
#define SLICE_BUSY_NS   50000
#define CKPT_GAP_S      0.01            /* checkpoints by count at most 100/s */
#define PROGRESS_MS     100             /* watchers get progress at most 10/s */
#define POINTS_FLUSH    4096            /* points buffered before a hand-off */
/* At shutdown, how long a checkpoint waits for its worker's state: well
 * within systemd's TimeoutStopSec (120 s in ignited.service). */
#define SHUTDOWN_GRACE_MS 30000
/* A run's log takes at most LOG_BURST lines (its worker's stderr, handler
 * log lines) a LOG_WINDOW_MS window; the rest are counted, and the count
 * logged when the window ends: a worker writing stderr as fast as it can
 * must not fill the disk through --log-file and the store. */
#define LOG_BURST       1000
#define LOG_WINDOW_MS   30000

static void run_free(struct run *run);
static int load_state_dict(struct run *run, const void *buf, size_t len, ig_err *err);
static int load_checkpoint(struct run *run, const ig_store_checkpoint *c, ig_err *err);
static int add_run_handlers(struct run *run);
static int start_engine(struct run *run, int64_t max_epochs, ig_err *err);
static void finish(struct run *run, ig_run_status st);
static void clear_last_metrics(struct run *run);
static void make_runnable(struct run *run);
static void notify_status(struct run *run);
static void add_all_watchers(struct run *run);
static void check_stopped(struct runs *mgr);
static void runs_abandon(struct runs *mgr, int64_t id);

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int store_status(int status)
{
	/* both enums list queued, running, paused, completed, terminated,
	 * failed in that order; convert by name so that stays checked */
	return ig_store_status_parse(ig_status_name(status));
}

/* ---- the table of runs ------------------------------------------------------ */

struct run *runs_find(struct runs *mgr, int64_t id)
{
	for (size_t i = 0; i < mgr->n; i++)
		if (mgr->v[i]->id == id)
			return mgr->v[i];
	return NULL;
}

struct run *runs_find_name(struct runs *mgr, const char *name, uid_t peer, size_t *named)
{
	struct run *any = NULL;

	*named = 0;
	for (size_t i = 0; i < mgr->n; i++) {
		struct run *run = mgr->v[i];
		if (run->name[0] == '\0' || strcmp(run->name, name) != 0)
			continue;
		if (run->owner == peer)
			return run;
		any = run;
		(*named)++;
	}
	return *named == 1 ? any : NULL;
}

static int runs_add(struct runs *mgr, struct run *run)
{
	if (mgr->n == mgr->cap) {
		size_t cap = mgr->cap ? mgr->cap * 2 : 16;
		struct run **v = realloc(mgr->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		mgr->v = v;
		mgr->cap = cap;
	}
	mgr->v[mgr->n++] = run;
	return 0;
}

static void runs_remove(struct runs *mgr, struct run *run)
{
	for (size_t i = 0; i < mgr->n; i++)
		if (mgr->v[i] == run) {
			memmove(&mgr->v[i], &mgr->v[i + 1], (mgr->n - i - 1) * sizeof(*mgr->v));
			mgr->n--;
			return;
		}
}

/* ---- store plumbing ------------------------------------------------------- */

/* Reasons quote what workers wrote: kept as valid UTF-8 (PROTOCOL.md). */
static void set_reason(struct run *run, const char *reason)
{
	char *copy = reason != NULL ? ig_utf8_repair(reason, strlen(reason)) : NULL;

	free(run->reason);
	run->reason = copy;
}

static void set_status(struct run *run, int status, const char *reason)
{
	run->status = status;
	set_reason(run, reason);
	if (status == IG_STATUS_RUNNING && run->started == 0)
		run->started = wall_now();
	if (status >= IG_STATUS_COMPLETED)
		run->finished = wall_now();
	/* reason may have been run->reason, which set_reason replaced */
	if (ig_store_set_status(run->mgr->store, run->id, store_status(status), run->reason,
	                        NULL, NULL) != 0)
		log_msg(LOG_ERROR, run->id, "cannot record status %s", ig_status_name(status));
	notify_status(run);
}

static void flush_points(struct run *run)
{
	if (run->npoints == 0)
		return;
	if (ig_store_points(run->mgr->store, run->id, run->points, run->npoints) != 0)
		log_msg(LOG_ERROR, run->id, "cannot hand %zu metric points to the store", run->npoints);
	run->npoints = 0;
}

static int series_cmp(const void *a, const void *b)
{
	return strcmp(((const struct run_series *)a)->name, ((const struct run_series *)b)->name);
}

/* run->series is kept sorted by name: a run may write a thousand series,
 * and each point looks its own up. */
static int series_id(struct run *run, const char *name, int64_t *id)
{
	struct run_series key = { (char *)name, 0 }, *found;
	char err[256], *copy;

	/* bsearch may not be given a NULL array, even of none */
	found = run->nseries > 0 ? bsearch(&key, run->series, run->nseries, sizeof(key),
	                                   series_cmp) : NULL;
	if (found != NULL) {
		*id = found->id;
		return 0;
	}
	struct run_series *v = realloc(run->series, (run->nseries + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	run->series = v;
	if (ig_store_series(run->mgr->store, run->id, name, id, err, sizeof(err)) != 0) {
		log_msg(LOG_ERROR, run->id, "metric %s: %s", name, err);
		return -1;
	}
	if ((copy = strdup(name)) == NULL)
		return -1;
	v[run->nseries++] = (struct run_series){ copy, *id };
	/* once per series: a sort of a sorted array with one more */
	qsort(v, run->nseries, sizeof(*v), series_cmp);
	return 0;
}

static ig_store_progress progress_of(struct run *run)
{
	const ig_state *s = ig_engine_state(job_engine(run->job));

	return (ig_store_progress){ s->epoch, s->iteration, s->epoch_length, s->max_epochs };
}

/*
 * Save the engine's state_dict and data cursor and the job's own state, with
 * the process function's state given (an exec worker's answer) or asked for
 * now; the store commits it with every point handed over before it.
 */
static int commit_checkpoint(struct run *run, const void *given, size_t given_len)
{
	ig_engine *e = job_engine(run->job);
	msgpack_sbuffer sd, js;
	msgpack_packer pk;
	ig_state_dict d;
	ig_data_cursor cur;
	ig_err err;
	int rc = -1;

	msgpack_sbuffer_init(&sd);
	msgpack_sbuffer_init(&js);
	if (ig_engine_state_dict(e, &d) != 0) {
		run_log(run, LOG_ERROR, "checkpoint failed: out of memory");
		goto out;
	}
	msgpack_packer_init(&pk, &sd, msgpack_sbuffer_write);
	ig_state_dict_pack(&d, &pk);
	ig_state_dict_clear(&d);
	msgpack_packer_init(&pk, &js, msgpack_sbuffer_write);
	if (given != NULL) {
		job_save_given(run->job, &pk, given, given_len);
	} else if (job_save(run->job, &pk, &err) != 0) {
		run_log(run, LOG_ERROR, "checkpoint failed (the previous one stands): %s",
		        err.message);
		goto out;
	}
	ig_engine_data_cursor(e, &cur);
	flush_points(run);
	ig_store_progress p = progress_of(run);
	ig_store_checkpoint c = {
		.run_id = run->id,
		.epoch = p.epoch,
		.iteration = p.iteration,
		.state_dict = sd.data,
		.state_dict_len = sd.size,
		.data_pass = cur.pass,
		.data_pos = cur.pos,
		.process_state = js.data,
		.process_state_len = js.size,
	};
	if (ig_store_save_checkpoint(run->mgr->store, &c, &p, NULL, NULL) != 0) {
		run_log(run, LOG_ERROR, "checkpoint failed: the store refused it");
		goto out;
	}
	run->ckpt_iteration = p.iteration;
	run->ckpt_time = (double)uv_now(run->mgr->loop) / 1e3;
	run->want_checkpoint = false;
	rc = 0;
out:
	msgpack_sbuffer_destroy(&sd);
	msgpack_sbuffer_destroy(&js);
	return rc;
}

static void after_checkpoint(struct run *run, int then);

/* The exec worker's state, asked for by checkpoint(): the run has waited
 * at its clean point, so the engine is as it was when asked. */
static void on_job_state(void *arg, const void *state, size_t len, const char *err)
{
	struct run *run = arg;

	run->ckpt_out = false;
	if (err != NULL)
		run_log(run, LOG_ERROR, "checkpoint failed (the previous one stands): %s", err);
	else
		commit_checkpoint(run, state, len);
	/* what follows runs in the run's next turn, not inside the worker's
	 * callback */
	run->ckpt_done = true;
	make_runnable(run);
}

/*
 * Checkpoint at a clean point, then go on as `then` says.  An exec
 * worker's state is asked for and the run waits for it off the run queue
 * (the loop and every other run go on); the rest is committed at once.
 * A checkpoint that fails is logged and the previous one stands.
 */
static void checkpoint(struct run *run, int then)
{
	ig_err err;

	if (job_state_async(run->job)) {
		if (job_request_state(run->job, on_job_state, run, &err) == 0) {
			run->ckpt_out = true;
			run->ckpt_then = then;
			run->runnable = false;
			return;
		}
		run_log(run, LOG_ERROR, "checkpoint failed (the previous one stands): %s",
		        err.message);
	} else {
		commit_checkpoint(run, NULL, 0);
	}
	after_checkpoint(run, then);
}

/* ---- notifications ---------------------------------------------------------- */

static void drop_closed_watchers(struct run *run)
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

bool run_owned_by(const struct run *run, uid_t uid)
{
	return uid == 0 || uid == run->owner;
}

/* A notification to every watcher: pack(arg) to those who may read the
 * run's private parts (its owner, root), public(parg) to the others, or
 * nothing with public NULL. */
static void broadcast_to(struct run *run, const char *method, server_pack_fn *pack, void *arg,
                         server_pack_fn *public, void *parg)
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
static void broadcast(struct run *run, const char *method, server_pack_fn *pack, void *arg)
{
	broadcast_to(run, method, pack, arg, pack, arg);
}

static void pack_status_note(msgpack_packer *pk, void *arg)
{
	ig_status_note_pack(pk, arg);
}

/* The reason is private: it may quote the worker's stderr. */
static void notify_status(struct run *run)
{
	ig_status_note n = { run->id, run->status, run->reason };
	ig_status_note pub = { run->id, run->status, NULL };

	if (run->nwatchers > 0)
		broadcast_to(run, "status", pack_status_note, &n, pack_status_note, &pub);
}

static void pack_progress(msgpack_packer *pk, void *arg)
{
	ig_progress_pack(pk, arg);
}

static void notify_progress(struct run *run)
{
	const ig_state *s = ig_engine_state(job_engine(run->job));
	ig_progress p = { run->id, s->epoch, s->iteration, s->epoch_length, s->max_epochs, run->rate, -1 };

	if (s->epoch_length != IG_NONE && s->max_epochs != IG_NONE && run->rate > 0)
		p.eta = (double)(s->epoch_length * s->max_epochs - s->iteration) / run->rate;
	broadcast(run, "progress", pack_progress, &p);
	run->progress_sent = (double)uv_now(run->mgr->loop);
}

static void pack_event_note(msgpack_packer *pk, void *arg)
{
	ig_event_note_pack(pk, arg);
}

struct metrics_note {
	int64_t id;
	ig_series *s;
	size_t n;
};

static void pack_metrics_note(msgpack_packer *pk, void *arg)
{
	struct metrics_note *m = arg;

	msgpack_pack_map(pk, 2);
	ig_pack_str(pk, "id");
	msgpack_pack_int64(pk, m->id);
	ig_pack_str(pk, "series");
	ig_series_pack(pk, m->s, m->n);
}

/* The epoch's metric values, one point each, to watchers. */
static void notify_metrics(struct run *run, ig_engine *e)
{
	const ig_state *st = ig_engine_state(e);
	size_t n = ig_engine_metric_count(e);
	ig_series *s = calloc(n, sizeof(*s));
	ig_point *p = calloc(n, sizeof(*p));
	double now = wall_now();

	if (s != NULL && p != NULL) {
		for (size_t i = 0; i < n; i++) {
			s[i].name = (char *)ig_engine_metric_at(e, i, &p[i].value);
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

/* ---- the job's hooks -------------------------------------------------------- */

static void hook_point(void *ud, const char *name, int64_t epoch, int64_t iteration, double value)
{
	struct run *run = ud;
	int64_t id;

	if (series_id(run, name, &id) != 0)
		return;
	if (run->npoints == run->cappoints) {
		size_t cap = run->cappoints ? run->cappoints * 2 : 64;
		ig_store_point *v = realloc(run->points, cap * sizeof(*v));
		if (v == NULL) {
			log_msg(LOG_ERROR, run->id, "out of memory for metric points");
			return;
		}
		run->points = v;
		run->cappoints = cap;
	}
	run->points[run->npoints++] = (ig_store_point){ id, epoch, iteration, wall_now(), value };
	if (run->npoints >= POINTS_FLUSH)
		flush_points(run);
}

static void hook_checkpoint(void *ud)
{
	struct run *run = ud;

	run->want_checkpoint = true;
	ig_engine_yield(job_engine(run->job));
}

static void pack_log_line(msgpack_packer *pk, void *arg)
{
	ig_log_line_pack(pk, arg);
}

/* A line of the run's own log (logs, watchers), also to the daemon's log
 * at level.  What a worker wrote is data, kept as it is but for bytes that
 * are not UTF-8, which become U+FFFD: every str on the wire is valid
 * UTF-8. */
static void keep_log_line(struct run *run, enum log_level level, const char *line)
{
	char *text = ig_utf8_repair(line, strlen(line));
	ig_log_line l = { run->id, wall_now(), text };

	if (text == NULL) {
		log_msg(LOG_ERROR, run->id, "out of memory for a log line");
		return;
	}
	log_msg(level, run->id, "%s", text);
	ig_store_log(run->mgr->store, run->id, text, strlen(text));
	if (run->nwatchers > 0)
		broadcast_to(run, "log", pack_log_line, &l, NULL, NULL);
	free(text);
}

void run_log(struct run *run, enum log_level level, const char *fmt, ...)
{
	char line[IG_ERR_MAX * 3];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	keep_log_line(run, level, line);
}

/* Say how many lines the window dropped once it is over, or at once with
 * force (the run ends). */
static void log_window_end(struct run *run, bool force)
{
	uint64_t now = uv_now(run->mgr->loop);

	if (!force && now - run->log_window < LOG_WINDOW_MS)
		return;
	if (run->log_dropped > 0)
		run_log(run, LOG_WARN, "log: %llu lines dropped (more than %d in %d s)",
		        (unsigned long long)run->log_dropped, LOG_BURST, LOG_WINDOW_MS / 1000);
	run->log_window = now;
	run->log_lines = 0;
	run->log_dropped = 0;
}

/* A worker's stderr line or a handler's log line: at most LOG_BURST a
 * window. */
static void hook_log(void *ud, const char *line)
{
	struct run *run = ud;

	log_window_end(run, false);
	if (run->log_lines < LOG_BURST) {
		run->log_lines++;
		keep_log_line(run, LOG_INFO, line);
	} else if (run->log_dropped++ == 0) {
		run_log(run, LOG_WARN, "log: more than %d lines in %d s; dropping lines until "
		        "the %d s are over", LOG_BURST, LOG_WINDOW_MS / 1000, LOG_WINDOW_MS / 1000);
	}
}


static void hook_wake(void *ud)
{
	struct run *run = ud;

	run->waiting = false;
	make_runnable(run);
}

static int64_t hook_run_id(void *ud)
{
	return ((struct run *)ud)->id;
}

/* A job for run->spec, with the run's hooks.  A run whose stored record
 * was not to be trusted has no spec, and never gets a job. */
/* A job for run->spec, with the run's hooks, into *out.  Safe on a
 * threadpool thread: it reads the run's spec and owner only. */
static int build_job(struct run *run, struct job **out, ig_err *err)
{
	struct job_hooks hooks = { hook_point, hook_checkpoint, hook_log, hook_wake, hook_run_id,
	                           run };

	if (run->spec == NULL)
		return ig_err_set(err, IG_PROTO_CONFLICT, "run %lld cannot run again: %s",
		                  (long long)run->id, run->reason != NULL ? run->reason : "");
	return job_new(run->mgr->loop, run->mgr->cfg, run->spec, run->owner, &hooks, out, err);
}

/* ---- the run's own handlers ----------------------------------------------- */

static int on_epoch_completed(ig_engine *e, int event, void *ud)
{
	struct run *run = ud;

	(void)event;
	if (run->nwatchers > 0)
		notify_metrics(run, e);
	/* After the job's handlers: the epoch's metrics and points are in.
	 * Not at the run's end (the last epoch, or a handler asked to
	 * terminate): finish() checkpoints the end together with the run's
	 * status.  Committed alone, the end would after a crash be resumed as
	 * a state Ignite continues: a finished one started over, a terminated
	 * one run on past its terminate. */
	if (ig_state_done(ig_engine_state(e)) || ig_engine_terminated(e))
		return 0;
	/* taken by step_run where the step now returns, the clean point
	 * right after this event: a handler cannot wait for a worker */
	if (run->spec->checkpoint.epoch_completed)
		hook_checkpoint(run);
	return 0;
}

static int on_lifecycle(ig_engine *e, int event, void *ud)
{
	struct run *run = ud;
	const ig_state *s = ig_engine_state(e);
	ig_event_note n = { run->id, (char *)ig_event_name(e, event), s->epoch, s->iteration };

	if (run->nwatchers > 0)
		broadcast(run, "event", pack_event_note, &n);
	if (event != IG_EVENT_EXCEPTION_RAISED)
		return 0;
	/* Told, not handled: returning 0 would swallow the error (Ignite's
	 * rule 14) and end a failed run as completed. */
	char why[IG_ERR_MAX * 4];
	snprintf(why, sizeof(why), "%s", ig_engine_error(e));
	return ig_engine_raise(e, "%s", why);
}

static int add_run_handlers(struct run *run)
{
	static const ig_event_spec lifecycle[] = {
		{ .event = IG_EVENT_STARTED }, { .event = IG_EVENT_EPOCH_STARTED },
		{ .event = IG_EVENT_EPOCH_COMPLETED }, { .event = IG_EVENT_COMPLETED },
		{ .event = IG_EVENT_TERMINATE }, { .event = IG_EVENT_TERMINATE_SINGLE_EPOCH },
		{ .event = IG_EVENT_INTERRUPT }, { .event = IG_EVENT_EXCEPTION_RAISED },
	};
	ig_engine *e = job_engine(run->job);

	/* Nothing on the per-iteration events: the engine keeps its fast
	 * path, and checkpoints by count or time are taken between steps. */
	if (ig_engine_on(e, IG_EVENT_EPOCH_COMPLETED, NULL, on_epoch_completed, run) == 0 ||
	    ig_engine_add_handler(e, lifecycle, sizeof(lifecycle) / sizeof(lifecycle[0]),
	                          on_lifecycle, run) == 0)
		return -1;
	return 0;
}

/* ---- building and freeing runs -------------------------------------------- */

static void tell_ended(struct run *run);

static void run_free(struct run *run)
{
	if (run == NULL)
		return;
	tell_ended(run);
	if (run->job != NULL)
		job_free(run->job);
	for (size_t i = 0; i < run->nwatchers; i++)
		server_conn_unref(run->watchers[i]);
	free(run->watchers);
	for (size_t i = 0; i < run->nseries; i++)
		free(run->series[i].name);
	free(run->series);
	free(run->points);
	clear_last_metrics(run);
	free(run->reason);
	ig_spec_free(run->spec);
	free(run);
}

/* A run record around spec (taken over on success), without a job. */
static struct run *run_alloc(struct runs *mgr, ig_spec *spec, uid_t owner)
{
	struct run *run = calloc(1, sizeof(*run));

	if (run == NULL)
		return NULL;
	run->mgr = mgr;
	run->spec = spec;
	run->owner = owner;
	run->slice = 64;
	run->ending = -1;
	memcpy(run->name, spec->name, sizeof(run->name));
	return run;
}


static void pack_spec(msgpack_sbuffer *sb, const ig_spec *spec)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	ig_spec_pack(&pk, spec);
}

/* A seed for a shuffled run that has none, recorded in its spec so that a
 * resumed run shuffles the same way. */
static int64_t fresh_seed(void)
{
	uint32_t v = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		v = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	if (fd >= 0)
		close(fd);
	return (int64_t)(v & 0x7fffffff);
}

/* ig_engine_start with the spec's arguments; the clocks of checkpoint
 * policy and rate restart with it. */
static int start_engine(struct run *run, int64_t max_epochs, ig_err *err)
{
	ig_run_args a = job_run_args(run->job);
	ig_engine *e = job_engine(run->job);
	double now = (double)uv_now(run->mgr->loop) / 1e3;

	if (max_epochs != IG_NONE)
		a.max_epochs = max_epochs;
	if (ig_engine_start(e, job_data(run->job), &a) != 0)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS, "%s", ig_engine_error(e));
	run->ckpt_iteration = run->rate_iteration = ig_engine_state(e)->iteration;
	run->ckpt_time = run->rate_time = now;
	run->rate = 0;
	run->suspend = SUSPEND_NONE;
	return 0;
}

/*
 * Accepting a run.  Its job is built on libuv's threadpool: opening and
 * parsing its data file (up to --max-data-size) may take seconds the loop
 * must not spend.  Then the engine's own checks, then its record; only
 * once the record has committed does it start and is the client told, so
 * that nothing it does can outlive a crash that loses the record.
 */
struct creating {
	uv_work_t work;
	struct run *run;                /* not in mgr->v until its job is built */
	run_done_fn *done;
	void *arg;
	int rc;
	ig_err err;
};

static void creating_fail(struct creating *cr)
{
	cr->done(cr->arg, NULL, &cr->err);
	run_free(cr->run);
	free(cr);
}

/* The record is in the store, or could not be. */
static void on_stored(void *arg, int status, const char *errmsg)
{
	struct creating *cr = arg;
	struct run *run = cr->run;
	struct runs *mgr = run->mgr;

	if (status != 0) {
		ig_err_set(&cr->err, IG_PROTO_UNAVAILABLE, "the run could not be stored: %s",
		           errmsg);
		cr->done(cr->arg, NULL, &cr->err);
		runs_abandon(mgr, run->id);
		free(cr);
		return;
	}
	if (run->job != NULL && !mgr->stopping)
		make_runnable(run);
	cr->done(cr->arg, run, NULL);
	free(cr);
}

/* On a threadpool thread: the run is nobody else's yet. */
static void create_work(uv_work_t *w)
{
	struct creating *cr = w->data;

	cr->rc = build_job(cr->run, &cr->run->job, &cr->err);
}

static void create_done(uv_work_t *w, int status)
{
	struct creating *cr = w->data;
	struct run *run = cr->run;
	struct runs *mgr = run->mgr;
	const ig_spec *spec = run->spec;
	msgpack_sbuffer sb;
	char msg[512];
	int rc;

	mgr->building--;
	if (status != 0 || mgr->stopping) {
		ig_err_set(&cr->err, IG_PROTO_UNAVAILABLE, "ignited is shutting down");
		creating_fail(cr);
		if (mgr->stopping)
			check_stopped(mgr);
		return;
	}
	if (cr->rc != 0) {
		creating_fail(cr);
		return;
	}
	/* Like Ignite's load_state_dict, then run; the engine's own checks
	 * (epoch_length against the data, ...) come before anything is
	 * stored. */
	if (add_run_handlers(run) != 0) {
		ig_err_set(&cr->err, IG_PROTO_INTERNAL, "out of memory");
		creating_fail(cr);
		return;
	}
	if ((spec->state_dict != NULL &&
	     load_state_dict(run, spec->state_dict, spec->state_dict_len, &cr->err) != 0) ||
	    start_engine(run, IG_NONE, &cr->err) != 0) {
		creating_fail(cr);
		return;
	}
	pack_spec(&sb, spec);
	ig_store_run rec = {
		.name = spec->name[0] != '\0' ? spec->name : NULL,
		.owner_uid = run->owner,
		.spec = sb.data,
		.spec_len = sb.size,
		.status = IG_STORE_RUNNING,
		.progress = progress_of(run),
	};
	rc = ig_store_create_run(mgr->store, &rec, &run->id, on_stored, cr, msg, sizeof(msg));
	msgpack_sbuffer_destroy(&sb);
	if (rc != 0) {
		ig_err_set(&cr->err, rc == IG_STORE_EEXIST ? IG_PROTO_CONFLICT : IG_PROTO_INTERNAL,
		           "%s", rc == IG_STORE_EEXIST ? "name: you have a run called that" : msg);
		creating_fail(cr);
		return;
	}
	if (runs_add(mgr, run) != 0) {
		/* the record still commits; on_stored then drops it */
		log_msg(LOG_ERROR, run->id, "out of memory for the table of runs");
		return;
	}
	run->created = run->started = wall_now();
	run->status = IG_STATUS_RUNNING;
	add_all_watchers(run);
	run_log(run, LOG_INFO, "started by uid %lu: %s", (unsigned long)run->owner,
	        spec->engine.target != NULL ? spec->engine.target : "exec");
}

int runs_writable(struct runs *mgr, ig_err *err)
{
	char msg[1024];

	if (ig_store_writable(mgr->store, msg, sizeof(msg)) != 0)
		return ig_err_set(err, IG_PROTO_UNAVAILABLE, "%s", msg);
	return 0;
}

int runs_create(struct runs *mgr, const msgpack_object *o, uid_t owner,
                run_done_fn *done, void *arg, ig_err *err)
{
	struct creating *cr;
	ig_spec *spec;
	int rc;

	if (mgr->stopping)
		return ig_err_set(err, IG_PROTO_UNAVAILABLE, "ignited is shutting down");
	if ((rc = runs_writable(mgr, err)) != 0 || (rc = ig_spec_read(o, &spec, err)) != 0)
		return rc;
	size_t named;
	struct run *same = spec->name[0] != '\0' ? runs_find_name(mgr, spec->name, owner, &named) : NULL;
	if (same != NULL && same->owner == owner) {
		rc = ig_err_set(err, IG_PROTO_CONFLICT, "name: you have a run called %s (run %lld); "
		                "choose another name, or delete it first", spec->name,
		                (long long)same->id);
		ig_spec_free(spec);
		return rc;
	}
	if (spec->seed == IG_NONE && spec->data.shuffle)
		spec->seed = fresh_seed();
	if ((cr = calloc(1, sizeof(*cr))) == NULL || (cr->run = run_alloc(mgr, spec, owner)) == NULL) {
		free(cr);
		ig_spec_free(spec);
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	}
	cr->done = done;
	cr->arg = arg;
	cr->work.data = cr;
	if ((rc = uv_queue_work(mgr->loop, &cr->work, create_work, create_done)) != 0) {
		run_free(cr->run);
		free(cr);
		return ig_err_set(err, IG_PROTO_INTERNAL, "cannot queue the run's set-up: %s",
		                  uv_strerror(rc));
	}
	mgr->building++;
	return 0;
}

/* ---- scheduling --------------------------------------------------------------- */

static size_t runnable_count(const struct runs *mgr)
{
	size_t n = 0;

	for (size_t i = 0; i < mgr->n; i++)
		n += mgr->v[i]->runnable;
	return n;
}

static void on_idle(uv_idle_t *idle);

static void on_stop_idle(uv_idle_t *idle);

static void make_runnable(struct run *run)
{
	run->runnable = true;
	if (!uv_is_active((uv_handle_t *)&run->mgr->idle))
		uv_idle_start(&run->mgr->idle, run->mgr->stopping ? on_stop_idle : on_idle);
}

static void update_rate(struct run *run)
{
	const ig_state *s = ig_engine_state(job_engine(run->job));
	double now = (double)uv_now(run->mgr->loop) / 1e3, dt = now - run->rate_time;

	if (dt < 0.25)
		return;
	double r = (double)(s->iteration - run->rate_iteration) / dt;
	run->rate = run->rate > 0 ? 0.5 * run->rate + 0.5 * r : r;
	run->rate_time = now;
	run->rate_iteration = s->iteration;
}

/* Iterations to complete before the next checkpoint by count: `every`
 * after the last checkpoint, and each `every` after that.  An iteration
 * in flight (an exec worker's, a blocking call's) is counted in the
 * state but not yet complete. */
static uint64_t to_count_point(const struct run *run, ig_engine *e)
{
	int64_t every = run->spec->checkpoint.every;
	int64_t done = ig_engine_state(e)->iteration - !ig_engine_clean(e);

	return (uint64_t)(every - (done - run->ckpt_iteration) % every);
}

/*
 * Is a checkpoint due by the policy's count or time?  By count only on its
 * iteration, and not within CKPT_GAP_S of the last checkpoint: a fast
 * engine would otherwise commit thousands a second, each one the store's
 * work for nothing once the next replaces it.
 */
static bool checkpoint_due(const struct run *run, ig_engine *e)
{
	const ig_spec_checkpoint *p = &run->spec->checkpoint;
	double since = (double)uv_now(run->mgr->loop) / 1e3 - run->ckpt_time;

	return run->want_checkpoint ||
	       (p->every != IG_NONE && ig_engine_state(e)->iteration > run->ckpt_iteration &&
	        to_count_point(run, e) == (uint64_t)p->every && since >= CKPT_GAP_S) ||
	       (p->seconds > 0 && since >= p->seconds);
}

/* Act on what a step returned. */
static void stepped(struct run *run, ig_run_status st)
{
	switch (st) {
	case IG_RUN_YIELD:
		break;
	case IG_RUN_WAITING:
		run->runnable = false;
		run->waiting = true;
		break;
	case IG_RUN_SUSPENDED: {
		const ig_state *s = ig_engine_state(job_engine(run->job));
		run->runnable = false;
		run_log(run, LOG_INFO, "%s at epoch %lld, iteration %lld",
		        run->suspend == SUSPEND_PAUSE ? "paused" : "stopped for the daemon's shutdown",
		        (long long)s->epoch, (long long)s->iteration);
		if (run->suspend == SUSPEND_PAUSE)
			set_status(run, IG_STATUS_PAUSED, run->reason);
		break;
	}
	default:
		run->runnable = false;
		finish(run, st);
		break;
	}
}

/*
 * Pause or shutdown at a clean point: checkpoint, then Ignite's interrupt,
 * which the engine honours at its next event without changing what the
 * checkpoint holds.
 */
static void suspend_now(struct run *run)
{
	checkpoint(run, THEN_SUSPEND);
}

static void finish_end(struct run *run);

static void after_checkpoint(struct run *run, int then)
{
	ig_engine *e = job_engine(run->job);

	switch (then) {
	case THEN_SUSPEND:
		ig_engine_interrupt(e);
		stepped(run, ig_engine_step(e, 0));
		break;
	case THEN_FINISH:
		finish_end(run);
		break;
	default:
		make_runnable(run);
		break;
	}
}

/*
 * One slice of one run; adapts the slice to about share_ns.  A slice that
 * reaches an iteration where a checkpoint by count falls ends on the last
 * such iteration it can, and the checkpoint, if due, is taken there: the
 * ones it crossed would have been replaced by it in the store's queue for
 * this turn (see replace_checkpoint), so packing them is work thrown away.
 */
static void step_run(struct run *run, uint64_t share_ns)
{
	ig_engine *e = job_engine(run->job);
	const ig_spec_checkpoint *p = &run->spec->checkpoint;
	uint64_t budget = run->slice;

	if (run->ckpt_done) {
		run->ckpt_done = false;
		run->runnable = false;  /* as when it was asked: what follows says */
		after_checkpoint(run, run->ckpt_then);
		return;
	}
	if (run->suspend != SUSPEND_NONE) {
		if (ig_engine_clean(e)) {
			suspend_now(run);
			return;
		}
		budget = 1;     /* to the next clean point */
	} else if (!ig_engine_clean(e) && checkpoint_due(run, e)) {
		budget = 1;     /* by time, or asked: where the iteration in flight ends */
	} else if (p->every != IG_NONE) {
		uint64_t left = to_count_point(run, e), every = (uint64_t)p->every;
		if (!ig_engine_clean(e) && left < budget)
			budget = left;  /* it waits again after each iteration */
		else if (left < budget)
			budget = left + (budget - left) / every * every;
	}
	uint64_t t0 = uv_hrtime();
	ig_run_status st = ig_engine_step(e, budget);
	uint64_t dt = uv_hrtime() - t0;

	if (st == IG_RUN_YIELD && budget * 2 > run->slice) {
		/* aim for share_ns; grow gently, shrink at once */
		uint64_t want = dt > 0 ? budget * share_ns / dt : run->slice * 2;
		if (want > run->slice * 2)
			want = run->slice * 2;
		run->slice = want < 1 ? 1 : want > 1000000 ? 1000000 : want;
	}
	if (st == IG_RUN_YIELD && ig_engine_clean(e) && run->suspend == SUSPEND_NONE &&
	    checkpoint_due(run, e))
		checkpoint(run, THEN_CONTINUE);
	flush_points(run);
	update_rate(run);
	log_window_end(run, false);
	if (run->nwatchers > 0 && (double)uv_now(run->mgr->loop) - run->progress_sent >= PROGRESS_MS)
		notify_progress(run);
	stepped(run, st);
}

static void on_idle(uv_idle_t *idle)
{
	struct runs *mgr = idle->data;
	size_t n = runnable_count(mgr);
	uint64_t start = uv_hrtime();

	if (n == 0) {
		uv_idle_stop(idle);
		return;
	}
	uint64_t served = server_requests(mgr->srv);
	uint64_t slice = served != mgr->served ? SLICE_BUSY_NS : SLICE_NS;
	mgr->served = served;
	/* Round robin over the runnable runs within about one slice, so a
	 * control request waits at most that long. */
	uint64_t share = slice / n > 20000 ? slice / n : 20000;
	for (size_t k = 0; k < mgr->n && uv_hrtime() - start < slice; k++) {
		mgr->cursor = (mgr->cursor + 1) % mgr->n;
		struct run *run = mgr->v[mgr->cursor];
		if (run->runnable)
			step_run(run, share);
	}
}

/* ---- ending ------------------------------------------------------------------- */

static void clear_last_metrics(struct run *run)
{
	for (size_t i = 0; i < run->nlast; i++)
		free(run->last_metrics[i].name);
	free(run->last_metrics);
	run->last_metrics = NULL;
	run->nlast = 0;
}

/* Keep a metric value for a run that no longer has a job. */
static void keep_metric(struct run *run, const char *name, double value)
{
	ig_named_value *v = realloc(run->last_metrics, (run->nlast + 1) * sizeof(*v));

	if (v == NULL)
		return;
	run->last_metrics = v;
	if ((v[run->nlast].name = strdup(name)) != NULL)
		v[run->nlast++].value = value;
}

/* What status shows of a run once its job is gone. */
static void snapshot(struct run *run)
{
	ig_engine *e = job_engine(run->job);
	double v;

	run->last = progress_of(run);
	clear_last_metrics(run);
	for (size_t i = 0; i < ig_engine_metric_count(e); i++) {
		const char *name = ig_engine_metric_at(e, i, &v);
		keep_metric(run, name, v);
	}
}

/* The end is in the store, checkpoint and points before it: only now do
 * status, state_dict and metrics show the run as ended. */
/* The terminate of a paused run is answered now: it has ended, or the
 * daemon stops before it could. */
static void tell_ended(struct run *run)
{
	run_done_fn *fn = run->ended;

	run->ended = NULL;
	if (fn != NULL)
		fn(run->ended_arg, run, NULL);
}

static void on_end_committed(void *arg, int status, const char *errmsg)
{
	struct run *run = arg;

	if (status != 0)
		log_msg(LOG_ERROR, run->id, "recording its end: %s", errmsg);
	run->status = run->ending;
	run->ending = -1;
	run->finished = wall_now();
	notify_status(run);
	tell_ended(run);
	/* watchers of one run are done with it */
	for (size_t i = 0; i < run->nwatchers; i++)
		server_conn_unref(run->watchers[i]);
	run->nwatchers = 0;
}

/*
 * Rebuilding a run's job from its spec and its last checkpoint: a worker's
 * restart, the resume of an ended run, the daemon's start.  Three steps:
 * the checkpoint is read (on the loop: the store's reader is the loop's),
 * the job built (on the threadpool but at start: its data file may be
 * large), then installed with the checkpoint loaded, on the loop.
 */
struct rebuild {
	uv_work_t work;
	struct run *run;
	bool start_over;                /* no checkpoint: from the start */
	ig_store_checkpoint ckpt;
	bool have_ckpt;
	struct job *job;                /* built, not yet the run's */
	int rc;
	ig_err err;
	void (*then)(struct rebuild *rb);       /* rb->rc says how it went */
	run_done_fn *done;              /* resume's answer */
	void *arg;
	int64_t max_epochs;
};

static int rebuild_read(struct run *run, struct rebuild *rb, ig_err *err)
{
	ig_store_reader *r = ig_store_loop_reader(run->mgr->store);
	int rc = ig_store_latest_checkpoint(r, run->id, &rb->ckpt);

	rb->run = run;
	rb->have_ckpt = rc == 0;
	if (rc == IG_STORE_ENOTFOUND && !rb->start_over)
		return ig_err_set(err, IG_PROTO_CONFLICT, "run %lld has no checkpoint to continue from",
		                  (long long)run->id);
	/* starting over would drop what it learnt and its history */
	if (rc != 0 && rc != IG_STORE_ENOTFOUND)
		return ig_err_set(err, IG_PROTO_INTERNAL, "cannot read its checkpoint: %s",
		                  ig_store_reader_error(r));
	return 0;
}

/* The built job becomes the run's, with the checkpoint loaded; the one it
 * had goes.  On failure the run keeps the job it had. */
static int rebuild_install(struct rebuild *rb, ig_err *err)
{
	struct run *run = rb->run;
	struct job *old = run->job;
	int rc = 0;

	run->job = rb->job;
	rb->job = NULL;
	if (add_run_handlers(run) != 0)
		rc = ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	else if (rb->have_ckpt)
		rc = load_checkpoint(run, &rb->ckpt, err);
	else
		ig_store_truncate(run->mgr->store, run->id, 0, NULL, NULL);
	if (rc != 0) {
		job_free(run->job);
		run->job = old;
		return rc;
	}
	if (old != NULL)
		job_free(old);
	return 0;
}

static void rebuild_free(struct rebuild *rb)
{
	if (rb->job != NULL)
		job_free(rb->job);
	ig_store_checkpoint_clear(&rb->ckpt);
	free(rb);
}

/* At the daemon's start, before it serves: all on the loop. */
static int revive_now(struct run *run, bool start_over, ig_err *err)
{
	struct rebuild rb = { .start_over = start_over };
	int rc;

	if ((rc = rebuild_read(run, &rb, err)) == 0 &&
	    (rc = build_job(run, &rb.job, err)) == 0)
		rc = rebuild_install(&rb, err);
	if (rb.job != NULL)
		job_free(rb.job);
	ig_store_checkpoint_clear(&rb.ckpt);
	return rc;
}

static void rebuild_work(uv_work_t *w)
{
	struct rebuild *rb = w->data;

	rb->rc = build_job(rb->run, &rb->job, &rb->err);
}

static void rebuild_done(uv_work_t *w, int status)
{
	struct rebuild *rb = w->data;
	struct runs *mgr = rb->run->mgr;

	mgr->building--;
	rb->run->rebuilding = false;
	if (status != 0 && rb->rc == 0)
		rb->rc = ig_err_set(&rb->err, IG_PROTO_UNAVAILABLE, "ignited is shutting down");
	if (rb->rc == 0)
		rb->rc = rebuild_install(rb, &rb->err);
	rb->then(rb);
	rebuild_free(rb);
	if (mgr->stopping)
		check_stopped(mgr);
}

/* Rebuild run's job off the loop, then rb->then; rb is taken over.
 * Returns 0, or an error found at once (no checkpoint, none queued). */
static int rebuild_later(struct run *run, struct rebuild *rb, ig_err *err)
{
	int rc;

	if ((rc = rebuild_read(run, rb, err)) != 0) {
		rebuild_free(rb);
		return rc;
	}
	rb->work.data = rb;
	if ((rc = uv_queue_work(run->mgr->loop, &rb->work, rebuild_work, rebuild_done)) != 0) {
		rebuild_free(rb);
		return ig_err_set(err, IG_PROTO_INTERNAL, "cannot queue the run's set-up: %s",
		                  uv_strerror(rc));
	}
	run->mgr->building++;
	run->rebuilding = true;
	return 0;
}

/*
 * A run whose exec worker failed starts again from its last checkpoint
 * with a new worker, up to spec worker.max_restarts times.  True when it
 * did; false leaves the run failed as it is.
 */
static void fail_run(struct run *run);

static void restarted(struct rebuild *rb)
{
	struct run *run = rb->run;

	if (rb->rc == 0 && start_engine(run, IG_NONE, &rb->err) != 0)
		rb->rc = rb->err.code;
	if (rb->rc != 0) {
		run_log(run, LOG_ERROR, "cannot restart: %s", rb->err.message);
		fail_run(run);
		return;
	}
	run->restarts++;
	make_runnable(run);
	run_log(run, LOG_INFO, "resumed at epoch %lld, iteration %lld after the worker's restart",
	        (long long)ig_engine_state(job_engine(run->job))->epoch,
	        (long long)ig_engine_state(job_engine(run->job))->iteration);
}

static bool restart_worker(struct run *run)
{
	struct job *old = run->job;
	int64_t max = run->spec->worker.max_restarts;
	struct rebuild *rb;
	ig_err err;

	if (!job_worker_lost(old) || max == IG_NONE || run->restarts >= max)
		return false;
	run_log(run, LOG_WARN, "restart %lld of %lld from the last checkpoint: %s",
	        (long long)run->restarts + 1, (long long)max, ig_engine_error(job_engine(old)));
	flush_points(run);
	if ((rb = calloc(1, sizeof(*rb))) == NULL) {
		run_log(run, LOG_ERROR, "cannot restart: out of memory");
		return false;
	}
	*rb = (struct rebuild){ .start_over = true, .then = restarted };
	if (rebuild_later(run, rb, &err) != 0) {
		run_log(run, LOG_ERROR, "cannot restart: %s", err.message);
		return false;
	}
	return true;
}

static void finish(struct run *run, ig_run_status st)
{
	if (st == IG_RUN_FAILED && restart_worker(run))
		return;
	if (st != IG_RUN_FAILED) {
		log_window_end(run, true);
		checkpoint(run, THEN_FINISH);
		return;
	}
	fail_run(run);
}

/* Its engine failed, and no restart helps: end it with the error. */
static void fail_run(struct run *run)
{
	ig_engine *e = job_engine(run->job);
	char why[IG_ERR_MAX * 4 + 64];

	log_window_end(run, true);
	/* a reason without the restarts would read as the first failure */
	if (run->restarts > 0)
		snprintf(why, sizeof(why), "after %lld restart%s of its worker: %s",
		         (long long)run->restarts, run->restarts == 1 ? "" : "s",
		         ig_engine_error(e));
	else
		snprintf(why, sizeof(why), "%s", ig_engine_error(e));
	run_log(run, LOG_ERROR, "failed at epoch %lld, iteration %lld: %s",
	        (long long)ig_engine_state(e)->epoch, (long long)ig_engine_state(e)->iteration, why);
	flush_points(run);
	set_reason(run, why);
	run->ending = IG_STATUS_FAILED;
	finish_end(run);
}

/* The end checkpointed (or failed): record it and let the job go. */
static void finish_end(struct run *run)
{
	ig_engine *e = job_engine(run->job);
	const ig_state *s = ig_engine_state(e);

	if (run->ending < 0) {
		run->ending = ig_engine_terminated(e) ? IG_STATUS_TERMINATED : IG_STATUS_COMPLETED;
		run_log(run, LOG_INFO, "%s at epoch %lld, iteration %lld",
		        ig_status_name(run->ending), (long long)s->epoch, (long long)s->iteration);
	}
	snapshot(run);
	run->rate = 0;
	job_free(run->job);
	run->job = NULL;
	if (ig_store_set_progress(run->mgr->store, run->id, &run->last, NULL, NULL) != 0 ||
	    ig_store_set_status(run->mgr->store, run->id, store_status(run->ending), run->reason,
	                        on_end_committed, run) != 0) {
		log_msg(LOG_ERROR, run->id, "cannot record its end");
		on_end_committed(run, 0, NULL);
	}
}

/* ---- control ----------------------------------------------------------------- */

static bool live(const struct run *run)
{
	return run->job != NULL;
}

bool run_settled(const struct run *run)
{
	return !live(run) && run->ending < 0;
}

int run_terminate(struct run *run, bool epoch_only, run_done_fn *ended, void *arg, bool *later,
                  ig_err *err)
{
	if (!live(run) || (epoch_only && run->status != IG_STATUS_RUNNING))
		return ig_err_set(err, IG_PROTO_CONFLICT, "run %lld is %s", (long long)run->id,
		                  ig_status_name(run->status));
	if (run->rebuilding)
		return ig_err_set(err, IG_PROTO_UNAVAILABLE, "run %lld is restarting its worker; "
		                  "retry", (long long)run->id);
	ig_engine *e = job_engine(run->job);
	if (epoch_only) {
		ig_engine_terminate_epoch(e, false);
		return 0;
	}
	*later = false;
	if (run->status == IG_STATUS_PAUSED) {
		if (run->ended != NULL)
			return ig_err_set(err, IG_PROTO_CONFLICT, "run %lld is being terminated",
			                  (long long)run->id);
		/* Continue it just to end it, still paused to everyone: the
		 * flag is read at the next check, and a fresh start would
		 * clear one set before it.  The answer waits for the end. */
		if (start_engine(run, IG_NONE, err) != 0)
			return err->code;
		make_runnable(run);
		run->ended = ended;
		run->ended_arg = arg;
		*later = true;
	}
	ig_engine_terminate(e, false);
	return 0;
}

int run_pause(struct run *run, ig_err *err)
{
	if (run->rebuilding)
		return ig_err_set(err, IG_PROTO_UNAVAILABLE, "run %lld is restarting its worker; "
		                  "retry", (long long)run->id);
	if (!live(run) || run->status != IG_STATUS_RUNNING)
		return ig_err_set(err, IG_PROTO_CONFLICT, "run %lld is %s", (long long)run->id,
		                  ig_status_name(run->status));
	run->suspend = SUSPEND_PAUSE;
	return 0;
}


/* Start the run's engine again, as resume asks. */
static int resume_engine(struct run *run, int64_t max_epochs, ig_err *err)
{
	ig_engine *e = job_engine(run->job);

	if (max_epochs != IG_NONE && max_epochs <= ig_engine_state(e)->epoch &&
	    ig_engine_status(e) != IG_RUN_SUSPENDED)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS, "max_epochs: %lld is not above the "
		                  "run's epoch %lld", (long long)max_epochs,
		                  (long long)ig_engine_state(e)->epoch);
	if (start_engine(run, max_epochs, err) != 0)
		return err->code;
	set_status(run, IG_STATUS_RUNNING, NULL);
	make_runnable(run);
	run_log(run, LOG_INFO, "resumed at epoch %lld, iteration %lld", (long long)ig_engine_state(e)->epoch,
	        (long long)ig_engine_state(e)->iteration);
	return 0;
}

static void resumed(struct rebuild *rb)
{
	struct run *run = rb->run;
	ig_err err;

	if (rb->rc != 0) {
		rb->done(rb->arg, NULL, &rb->err);
		return;
	}
	add_all_watchers(run);
	if (resume_engine(run, rb->max_epochs, &err) != 0)
		rb->done(rb->arg, NULL, &err);
	else
		rb->done(rb->arg, run, NULL);
}

int run_resume(struct run *run, int64_t max_epochs, run_done_fn *done, void *arg, bool *later,
               ig_err *err)
{
	struct rebuild *rb;

	*later = false;
	/* its history may be cut back to a checkpoint */
	history_forget(run->mgr->history, run->id);
	if (run->rebuilding)
		return ig_err_set(err, IG_PROTO_UNAVAILABLE, "run %lld is being set up; retry",
		                  (long long)run->id);
	if (run->status == IG_STATUS_RUNNING || run->status == IG_STATUS_QUEUED)
		return ig_err_set(err, IG_PROTO_CONFLICT, "run %lld is already %s", (long long)run->id,
		                  ig_status_name(run->status));
	if (run->ended != NULL)
		return ig_err_set(err, IG_PROTO_CONFLICT, "run %lld is being terminated",
		                  (long long)run->id);
	if (run->status == IG_STATUS_FAILED && max_epochs == IG_NONE)
		return ig_err_set(err, IG_PROTO_CONFLICT, "run %lld failed: %s", (long long)run->id,
		                  run->reason != NULL ? run->reason : "");
	if (live(run) && run->store_failed) {
		/* points and checkpoints after the failure never reached the
		 * store: continue from what it holds, not from memory */
		if (job_busy(run->job))
			return ig_err_set(err, IG_PROTO_UNAVAILABLE, "run %lld is finishing an "
			                  "iteration; retry", (long long)run->id);
		job_free(run->job);
		run->job = NULL;
		run->store_failed = false;
	}
	if (live(run))
		return resume_engine(run, max_epochs, err);
	if (max_epochs == IG_NONE && run->status != IG_STATUS_PAUSED)
		return ig_err_set(err, IG_PROTO_CONFLICT, "run %lld is %s: give max_epochs "
		                  "above its epoch to run it further", (long long)run->id,
		                  ig_status_name(run->status));
	/* its job is built again from its last checkpoint, off the loop */
	if ((rb = calloc(1, sizeof(*rb))) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	*rb = (struct rebuild){ .then = resumed, .done = done, .arg = arg,
	                        .max_epochs = max_epochs };
	if (rebuild_later(run, rb, err) != 0)
		return err->code;
	*later = true;
	return 0;
}

/* Forget a run whose record could not be stored. */
static void runs_abandon(struct runs *mgr, int64_t id)
{
	struct run *run = runs_find(mgr, id);

	if (run == NULL)
		return;
	if (run->job != NULL && job_busy(run->job)) {
		/* its process call still holds the job; it fails with the
		 * store when it next writes */
		log_msg(LOG_ERROR, id, "not stored, and busy: left to fail");
		return;
	}
	log_msg(LOG_ERROR, id, "not stored: dropped");
	runs_remove(mgr, run);
	run_free(run);
}

int runs_delete(struct runs *mgr, struct run *run, ig_err *err)
{
	if (live(run) || run->ending >= 0 || run->rebuilding)
		return ig_err_set(err, IG_PROTO_CONFLICT, "run %lld is %s: terminate it first",
		                  (long long)run->id, ig_status_name(run->status));
	if (ig_store_delete_run(mgr->store, run->id, NULL, NULL) != 0)
		return ig_err_set(err, IG_PROTO_INTERNAL, "the store refused the delete");
	history_forget(mgr->history, run->id);
	log_msg(LOG_INFO, run->id, "deleted");
	runs_remove(mgr, run);
	run_free(run);
	return 0;
}

/* Every connection that watches all the runs it may see gets a new or
 * revived run too. */
static void add_all_watchers(struct run *run)
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

void runs_watch_all(struct runs *mgr, struct server_conn *conn, bool on)
{
	uid_t uid = server_conn_uid(conn);
	size_t i;

	for (i = 0; i < mgr->nall && mgr->all[i] != conn; i++)
		;
	if (!on && i < mgr->nall) {
		server_conn_unref(conn);
		mgr->all[i] = mgr->all[--mgr->nall];
	} else if (on && i == mgr->nall) {
		struct server_conn **v = realloc(mgr->all, (mgr->nall + 1) * sizeof(*v));
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

void run_watch(struct run *run, struct server_conn *conn)
{
	for (size_t i = 0; i < run->nwatchers; i++)
		if (run->watchers[i] == conn)
			return;
	struct server_conn **v = realloc(run->watchers, (run->nwatchers + 1) * sizeof(*v));
	if (v == NULL)
		return;
	run->watchers = v;
	server_conn_ref(conn);
	v[run->nwatchers++] = conn;
}

void run_unwatch(struct run *run, struct server_conn *conn)
{
	for (size_t i = 0; i < run->nwatchers; i++)
		if (run->watchers[i] == conn) {
			server_conn_unref(conn);
			run->watchers[i] = run->watchers[--run->nwatchers];
			return;
		}
}

void run_summary(struct run *run, ig_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->id = run->id;
	s->name = run->name[0] != '\0' ? run->name : NULL;
	s->owner = run->owner;
	s->status = run->status;
	s->rate = run->status == IG_STATUS_RUNNING ? run->rate : 0;
	s->reason = run->reason;
	s->created = run->created > 0 ? (int64_t)run->created : IG_NONE;
	s->started = run->started > 0 ? (int64_t)run->started : IG_NONE;
	s->finished = run->finished > 0 ? (int64_t)run->finished : IG_NONE;
	s->epoch = s->iteration = 0;
	s->max_epochs = s->epoch_length = IG_NONE;
	if (!live(run)) {
		s->epoch = run->last.epoch;
		s->iteration = run->last.iteration;
		s->max_epochs = run->last.max_epochs;
		s->epoch_length = run->last.epoch_length;
		if (run->nlast > 0 && (s->metrics = calloc(run->nlast, sizeof(*s->metrics))) != NULL) {
			memcpy(s->metrics, run->last_metrics, run->nlast * sizeof(*s->metrics));
			s->nmetrics = run->nlast;
		}
		return;
	}
	ig_engine *e = job_engine(run->job);
	const ig_state *st = ig_engine_state(e);
	s->epoch = st->epoch;
	s->iteration = st->iteration;
	s->max_epochs = st->max_epochs;
	s->epoch_length = st->epoch_length;
	size_t n = ig_engine_metric_count(e);
	if (n > 0 && (s->metrics = calloc(n, sizeof(*s->metrics))) != NULL) {
		for (size_t i = 0; i < n; i++)
			s->metrics[i].name = (char *)ig_engine_metric_at(e, i, &s->metrics[i].value);
		s->nmetrics = n;
	}
}

/* The last value of each of a stored run's series. */
static void load_last_metrics(struct run *run)
{
	ig_store_query q = {
		.run_id = run->id, .axis = IG_STORE_AXIS_ITERATION,
		.from = INT64_MIN, .to = INT64_MAX, .max_points = 1, .downsample = IG_STORE_DS_LAST,
	};
	ig_store_series_data *d;
	size_t n;

	if (ig_store_history(ig_store_loop_reader(run->mgr->store), &q, &d, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (d[i].n > 0)
			keep_metric(run, d[i].name, d[i].points[d[i].n - 1].value);
	ig_store_series_free(d, n);
}

void run_summary_clear_metrics(ig_summary *s)
{
	free(s->metrics);
	s->metrics = NULL;
	s->nmetrics = 0;
}

/* ---- resume at start ------------------------------------------------------------ */

/* Load a checkpoint into a run's fresh job; the store forgets what the
 * lost run wrote past it. */
static int load_checkpoint(struct run *run, const ig_store_checkpoint *c, ig_err *err)
{
	ig_engine *e = job_engine(run->job);

	if (load_state_dict(run, c->state_dict, c->state_dict_len, err) != 0)
		return ig_err_set(err, IG_PROTO_INTERNAL, "checkpoint %lld: %s", (long long)c->seq,
		                  err->message);
	ig_data_cursor cur = { c->data_pass, c->data_pos };
	if (ig_engine_set_data_cursor(e, &cur) != 0 ||
	    job_load(run->job, c->process_state, c->process_state_len, err) != 0) {
		if (err->code == 0)
			ig_err_set(err, IG_PROTO_INTERNAL, "%s", ig_engine_error(e));
		return err->code;
	}
	ig_store_truncate(run->mgr->store, run->id, c->iteration, NULL, NULL);
	run->ckpt_iteration = c->iteration;
	return 0;
}

/* Ignite's load_state_dict from msgpack bytes into the run's engine. */
static int load_state_dict(struct run *run, const void *buf, size_t len, ig_err *err)
{
	ig_engine *e = job_engine(run->job);
	msgpack_unpacked u;
	ig_state_dict d;
	char msg[256];
	int rc;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, buf, len, NULL) != MSGPACK_UNPACK_SUCCESS)
		rc = ig_err_set(err, IG_PROTO_INVALID_PARAMS, "state_dict: not one msgpack object");
	else if (ig_state_dict_unpack(&u.data, &d, msg, sizeof(msg)) != 0)
		rc = ig_err_set(err, IG_PROTO_INVALID_PARAMS, "%s", msg);
	else {
		rc = ig_engine_load_state_dict(e, &d);
		ig_state_dict_clear(&d);
		if (rc != 0)
			rc = ig_err_set(err, IG_PROTO_INVALID_PARAMS, "state_dict: %s", ig_engine_error(e));
	}
	msgpack_unpacked_destroy(&u);
	return rc;
}

static int spec_from_bytes(const void *buf, size_t len, ig_spec **spec, ig_err *err)
{
	msgpack_unpacked u;
	int rc;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, buf, len, NULL) != MSGPACK_UNPACK_SUCCESS)
		rc = ig_err_set(err, IG_PROTO_INTERNAL, "the stored spec is not msgpack");
	else
		rc = ig_spec_read(&u.data, spec, err);
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* A stored run into memory, as the record says (spec taken over; NULL for
 * one that may not run).  NULL without memory. */
static struct run *run_from_record(struct runs *mgr, const ig_store_run *rec, ig_spec *spec)
{
	struct run *run = calloc(1, sizeof(*run));

	if (run == NULL) {
		ig_spec_free(spec);
		return NULL;
	}
	run->mgr = mgr;
	run->id = rec->id;
	run->spec = spec;
	run->owner = rec->owner_uid;
	run->slice = 64;
	run->ending = -1;
	snprintf(run->name, sizeof(run->name), "%s", spec != NULL ? spec->name :
	         rec->name != NULL ? rec->name : "");
	run->status = ig_store_status_parse(ig_store_status_name(rec->status));
	run->reason = rec->reason != NULL ? strdup(rec->reason) : NULL;
	run->created = rec->created;
	run->started = rec->started;
	run->finished = rec->finished;
	run->last = rec->progress;
	if (runs_add(mgr, run) != 0) {
		run_free(run);
		return NULL;
	}
	return run;
}

/* A run to show, without a spec: its stored record cannot be run, and it
 * is failed for the reason given.  Never dropped: its owner must learn. */
static void adopt_damaged(struct runs *mgr, const ig_store_run *rec, const char *why)
{
	char reason[512];
	struct run *run;

	snprintf(reason, sizeof(reason), "its stored record %s: it is not run again", why);
	log_msg(LOG_ERROR, rec->id, "%s", reason);
	if ((run = run_from_record(mgr, rec, NULL)) != NULL)
		set_status(run, IG_STATUS_FAILED, reason);
}

/* A stored run into memory: finished ones as records, unfinished ones with
 * their job restored from the last checkpoint.  Only a record this
 * database's key vouches for may start code, as the owner it names. */
static void adopt_stored(struct runs *mgr, const ig_store_run *rec, bool unfinished)
{
	ig_spec *spec = NULL;
	struct run *run;
	ig_err err = { 0 };
	char why[300];

	if (!ig_store_run_trusted(mgr->store, rec)) {
		adopt_damaged(mgr, rec, "failed the integrity check (its owner or spec was "
		              "changed outside ignited, or the database was moved without its "
		              ".key file)");
		return;
	}
	if (ig_store_status_name(rec->status) == NULL) {
		adopt_damaged(mgr, rec, "has no valid status");
		return;
	}
	if (spec_from_bytes(rec->spec, rec->spec_len, &spec, &err) != 0) {
		snprintf(why, sizeof(why), "has a spec that cannot be read (%s)", err.message);
		adopt_damaged(mgr, rec, why);
		return;
	}
	if ((run = run_from_record(mgr, rec, spec)) == NULL)
		return;
	if (!unfinished) {
		load_last_metrics(run);
		return;
	}
	if (revive_now(run, true, &err) != 0) {
		run_log(run, LOG_ERROR, "cannot resume after the daemon's restart: %s",
		        err.message);
		set_status(run, IG_STATUS_FAILED, err.message);
		return;
	}
	if (run->status == IG_STATUS_PAUSED) {
		run_log(run, LOG_INFO, "restored paused after the daemon's restart");
		return;
	}
	/* Its end was checkpointed but not recorded (a database written
	 * before on_epoch_completed left the last epoch to finish()):
	 * starting the engine would start over, with what the job learnt. */
	if (ig_state_done(ig_engine_state(job_engine(run->job)))) {
		finish(run, IG_RUN_DONE);
		return;
	}
	if (start_engine(run, IG_NONE, &err) != 0) {
		run_log(run, LOG_ERROR, "cannot resume after the daemon's restart: %s",
		        err.message);
		set_status(run, IG_STATUS_FAILED, err.message);
		return;
	}
	set_status(run, IG_STATUS_RUNNING, NULL);
	make_runnable(run);
	run_log(run, LOG_INFO, "resumed at epoch %lld, iteration %lld after the daemon's restart",
	        (long long)ig_engine_state(job_engine(run->job))->epoch,
	        (long long)ig_engine_state(job_engine(run->job))->iteration);
}

/*
 * A write for a run failed (disk full, I/O error, database locked): what
 * was committed stays, and the run pauses with the reason rather than run
 * on with state it cannot keep.  `resume` retries once space is back.
 */
static void on_store_error(void *arg, int64_t run_id, int status, const char *errmsg)
{
	struct run *run = runs_find(arg, run_id);
	char reason[512];

	log_msg(LOG_ERROR, run_id, "store: %s (error %d)", errmsg, status);
	/* the first failure is the reason; later refusals follow from it */
	if (run == NULL || run->job == NULL || run->status != IG_STATUS_RUNNING ||
	    run->store_failed)
		return;
	snprintf(reason, sizeof(reason), "store: %s", errmsg);
	set_reason(run, reason);
	run->suspend = SUSPEND_PAUSE;
	run->store_failed = true;
}

struct runs *runs_open(uv_loop_t *loop, const struct job_config *cfg, ig_store *store,
                       struct server *srv, char *err, size_t errlen)
{
	ig_store_reader *r = ig_store_loop_reader(store);
	struct runs *mgr = calloc(1, sizeof(*mgr));
	ig_store_run *recs;
	size_t n;

	if (mgr == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mgr->loop = loop;
	mgr->cfg = cfg;
	mgr->store = store;
	mgr->srv = srv;
	if ((mgr->history = history_open(loop, ig_store_path(store), err, errlen)) == NULL) {
		free(mgr);
		return NULL;
	}
	uv_idle_init(loop, &mgr->idle);
	uv_timer_init(loop, &mgr->grace);
	mgr->idle.data = mgr->grace.data = mgr;
	mgr->open_handles = 2;
	ig_store_on_error(store, on_store_error, mgr);
	if (ig_store_list_runs(r, IG_STORE_ANY_STATUS, &recs, &n) != 0) {
		snprintf(err, errlen, "reading runs: %s", ig_store_reader_error(r));
		runs_close(mgr);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		ig_store_status st = recs[i].status;
		adopt_stored(mgr, &recs[i], st == IG_STORE_RUNNING || st == IG_STORE_QUEUED ||
		                            st == IG_STORE_PAUSED);
	}
	ig_store_runs_free(recs, n);
	if (run_methods_register(mgr) != 0) {
		snprintf(err, errlen, "out of memory");
		runs_close(mgr);
		return NULL;
	}
	return mgr;
}

/* ---- shutdown ---------------------------------------------------------------- */

static void check_stopped(struct runs *mgr);

static void on_flushed(void *arg, int status, const char *errmsg)
{
	struct runs *mgr = arg;

	if (status != 0)
		log_error("flushing the store: %s", errmsg);
	mgr->stopped(mgr->stopped_arg, status);
}

/* Once no run steps or waits (a worker's state for a checkpoint only
 * until the grace is over): flush the store, then report. */
static void check_stopped(struct runs *mgr)
{
	if (mgr->building > 0)
		return;
	for (size_t i = 0; i < mgr->n; i++) {
		struct run *run = mgr->v[i];
		if (run->runnable || run->waiting || (run->ckpt_out && !mgr->grace_over))
			return;
	}
	for (size_t i = 0; i < mgr->n; i++)
		if (mgr->v[i]->ckpt_out)
			log_msg(LOG_WARN, mgr->v[i]->id, "its worker did not give its state "
			        "within %d s of the shutdown: the run resumes from its previous "
			        "checkpoint", SHUTDOWN_GRACE_MS / 1000);
	uv_idle_stop(&mgr->idle);
	uv_timer_stop(&mgr->grace);
	if (ig_store_flush(mgr->store, on_flushed, mgr) != 0)
		mgr->stopped(mgr->stopped_arg, -1);
}

static void on_stop_idle(uv_idle_t *idle)
{
	struct runs *mgr = idle->data;

	on_idle(idle);
	if (mgr->stopping)
		check_stopped(mgr);
}

static void on_grace_over(uv_timer_t *t)
{
	struct runs *mgr = t->data;

	mgr->grace_over = true;
	check_stopped(mgr);
}

void runs_shutdown(struct runs *mgr, void (*done)(void *arg, int status), void *arg)
{
	mgr->stopping = true;
	mgr->stopped = done;
	mgr->stopped_arg = arg;
	for (size_t i = 0; i < mgr->n; i++) {
		struct run *run = mgr->v[i];
		if (run->runnable || run->waiting || run->ckpt_out || run->rebuilding)
			run->suspend = SUSPEND_SHUTDOWN;
	}
	uv_timer_start(&mgr->grace, on_grace_over, SHUTDOWN_GRACE_MS, 0);
	uv_idle_stop(&mgr->idle);
	uv_idle_start(&mgr->idle, on_stop_idle);
}

size_t runs_count(const struct runs *mgr, int status)
{
	size_t n = 0;

	for (size_t i = 0; i < mgr->n; i++)
		n += mgr->v[i]->status == status;
	return n;
}

/* The manager goes with the last of its two handles. */
static void free_on_close(uv_handle_t *h)
{
	struct runs *mgr = h->data;

	if (--mgr->open_handles == 0)
		free(mgr);
}

void runs_close(struct runs *mgr)
{
	for (size_t i = 0; i < mgr->nall; i++)
		server_conn_unref(mgr->all[i]);
	free(mgr->all);
	for (size_t i = 0; i < mgr->n; i++)
		run_free(mgr->v[i]);
	free(mgr->v);
	history_close(mgr->history);
	uv_close((uv_handle_t *)&mgr->idle, free_on_close);
	uv_close((uv_handle_t *)&mgr->grace, free_on_close);
}
