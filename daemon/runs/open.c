/*
 * open.c - the runs the store holds, taken back at the daemon's start.
 */
#include "runs/runs_int.h"

/* Runs taken back at the start whose checkpoints are checked at once. */
#define REVIVE_MAX 2

/* A stored run into memory, as the record says (spec taken over; NULL for
 * one that may not run).  NULL without memory. */
static struct run *
run_from_record(struct runs *mgr, const struct store_run *rec, ig_spec *spec)
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
	snprintf(run->name, sizeof(run->name), "%s",
	    spec != NULL          ? spec->name :
	        rec->name != NULL ? rec->name :
	                            "");
	run->status = rec->status;
	run->reason = rec->reason != NULL ? strdup(rec->reason) : NULL;
	run->created = rec->created;
	run->started = rec->started;
	run->finished = rec->finished;
	run->last = rec->progress;
	queue_entry_init(run, rec->queue_seq);
	if (rec->queue_seq >= mgr->next_seq)
		mgr->next_seq = rec->queue_seq + 1;
	if (runs_add(mgr, run) != 0) {
		run_free(run);
		return NULL;
	}
	return run;
}

/* A run to show, without a spec: its stored record cannot be run, and it
 * is failed for the reason given.  Never dropped: its owner must learn. */
static void
adopt_damaged(struct runs *mgr, const struct store_run *rec, const char *why)
{
	char reason[512];
	struct run *run;

	snprintf(reason, sizeof(reason),
	    "its stored record %s: it is not run again", why);
	log_msg(LOG_ERROR, rec->id, "%s", reason);
	if ((run = run_from_record(mgr, rec, NULL)) != NULL)
		set_status(run, IG_STATUS_FAILED, reason);
}

/* A run taken back at the start that cannot go on: failed with why, what
 * it held let go. */
static void
not_revived(struct run *run, const ig_err *err)
{
	run_log(run, LOG_ERROR, "cannot resume after the daemon's restart: %s",
	    err->message);
	set_status(run, IG_STATUS_FAILED, err->message);
	queue_park(run);
}

static void revive_next(struct runs *mgr);

/* Its job built and its checkpoint's file checked, off the loop: on it
 * goes, where the queue has it. */
static void
revived(struct rebuild *rb)
{
	struct run *run = rb->run;

	run->mgr->reviving--;
	revive_next(run->mgr);
	/* as the store holds it, which the next start takes back */
	if (run->mgr->stopping) {
		queue_park(run);
		return;
	}
	if (rb->rc != 0) {
		not_revived(run, &rb->err);
		return;
	}
	/* Its end was checkpointed but not recorded (a database written
	 * before on_epoch_completed left the last epoch to finish()):
	 * starting the engine would start over, with what the job learnt. */
	if (ig_state_done(ig_engine_state(job_engine(run->job)))) {
		finish(run, IG_RUN_DONE);
		return;
	}
	if (rebuild_start(rb) != 0) {
		not_revived(run, &rb->err);
		return;
	}
	queue_start(run);
	log_resumed(run,
	    run->status == IG_STATUS_RUNNING ? "resumed" : "queued again",
	    " after the daemon's restart");
}

/*
 * The next runs taken back at the start have their jobs built, a few at a
 * time: each reads all of its checkpoint on a thread of the threadpool,
 * and the other work queued there (history reads, blocking plugins, the
 * seals of running runs' checkpoints) would wait behind every one.  At a
 * shutdown, those not begun stay as the store holds them.
 */
static void
revive_next(struct runs *mgr)
{
	struct rebuild *rb;
	ig_err err;

	for (size_t i = 0;
	     i < mgr->n && !mgr->stopping && mgr->reviving < REVIVE_MAX; i++) {
		struct run *run = mgr->v[i];
		if (!run->revive_waits)
			continue;
		run->revive_waits = run->rebuilding = false;
		if ((rb = calloc(1, sizeof(*rb))) == NULL) {
			ig_err_set(&err, IG_PROTO_INTERNAL, "out of memory");
			not_revived(run, &err);
			continue;
		}
		*rb = (struct rebuild){
			.start_over = true, .sweep = true, .then = revived
		};
		if (rebuild_later(run, rb, &err) != 0)
			not_revived(run, &err);
		else
			mgr->reviving++;
	}
}

/*
 * A stored run into memory: finished ones as records, unfinished ones
 * with their job restored from the last checkpoint.  Only a record this
 * database's key vouches for may start code, as the owner it names.
 *
 * An unfinished run takes its place at once (the runs that held GPUs and
 * slots take them back before any queued one starts: runs_open
 * dispatches once all are in) and shows its status, but its job is built
 * and its checkpoint's file checked (all of a state of gigabytes read) on
 * the threadpool while the daemon serves (revive_next); it is held
 * (rebuilding: not stepped, its verbs UNAVAILABLE) until that is done.
 */
static void
adopt_stored(struct runs *mgr, const struct store_run *rec, bool unfinished)
{
	ig_spec *spec = NULL;
	struct run *run;
	ig_err err = { 0 };
	char why[300];

	if (!store_run_trusted(mgr->store, rec)) {
		adopt_damaged(mgr, rec,
		    "failed the integrity check (its owner or spec was "
		    "changed outside ignited, or the database was moved without its "
		    ".key file)");
		return;
	}
	if (ig_status_name(rec->status) == NULL) {
		adopt_damaged(mgr, rec, "has no valid status");
		return;
	}
	if (spec_from_bytes(rec->spec, rec->spec_len, &spec, &err) != 0) {
		snprintf(why, sizeof(why),
		    "has a spec that cannot be read (%s)", err.message);
		adopt_damaged(mgr, rec, why);
		return;
	}
	if ((run = run_from_record(mgr, rec, spec)) == NULL)
		return;
	remote_setup(run, true);
	/* what its status shows until its job is built */
	load_last_metrics(run);
	if (!unfinished) {
		if (run->status == IG_STATUS_PAUSED) {
			sweep_now(run);
			run_log(run, LOG_INFO,
			    "restored paused after the daemon's restart, "
			    "holding nothing until it is resumed");
		}
		return;
	}
	if (run->status == IG_STATUS_RUNNING)
		queue_restore(run);
	else
		queue_start(run);
	run->revive_waits = run->rebuilding = true;
}

/*
 * A write for a run failed (disk full, I/O error, database locked): what
 * was committed stays, and the run pauses with the reason rather than run
 * on with state it cannot keep.  `resume` retries once space is back.
 */
static void
on_store_error(void *arg, int64_t run_id, const ig_err *err)
{
	struct run *run = runs_find(arg, run_id);
	char reason[512];

	log_msg(LOG_ERROR, run_id, "store: %s (%s)", err->message,
	    ig_proto_code_name(err->code));
	/* the first failure is the reason; later refusals follow from it */
	if (run == NULL || run->job == NULL ||
	    run->status != IG_STATUS_RUNNING || run->store_failed)
		return;
	snprintf(reason, sizeof(reason), "store: %s", err->message);
	set_reason(run, reason);
	run->suspend = SUSPEND_PAUSE;
	run->store_failed = true;
}

struct runs *
runs_open(uv_loop_t *loop, const struct job_config *cfg,
    const struct sched_config *sched, struct store *store, ig_err *err)
{
	struct store_reader *r = store_loop_reader(store);
	struct runs *mgr = calloc(1, sizeof(*mgr));
	struct store_run *recs;
	size_t n;

	if (mgr == NULL) {
		ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
		return NULL;
	}
	/* one that exists is checked (and made 0711 again: systemd resets a
	 * StateDirectory's mode at each start) before a resumed worker
	 * needs to reach its run's file */
	if (cfg->checkpoint_dir != NULL &&
	    (!cfg->checkpoint_dir_later ||
	        access(cfg->checkpoint_dir, F_OK) == 0) &&
	    ckfile_base(cfg->checkpoint_dir, err) != 0) {
		free(mgr);
		return NULL;
	}
	mgr->loop = loop;
	hist_init(&mgr->stats.ckpt_seconds, HIST_SECONDS);
	hist_init(&mgr->stats.ckpt_bytes, HIST_BYTES);
	mgr->cfg = cfg;
	mgr->store = store;
	mgr->next_seq = 1;
	if ((mgr->sched = sched_new(sched)) == NULL) {
		ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
		free(mgr);
		return NULL;
	}
	if ((mgr->history = history_open(loop, store_path(store), err)) ==
	    NULL) {
		sched_free(mgr->sched);
		free(mgr);
		return NULL;
	}
	uv_idle_init(loop, &mgr->idle);
	uv_timer_init(loop, &mgr->grace);
	mgr->idle.data = mgr->grace.data = mgr;
	mgr->open_handles = 2;
	store_on_error(store, on_store_error, mgr);
	store_on_drain(store, on_store_drained, mgr);
	if (store_list_runs(r, STORE_ANY_STATUS, &recs, &n) != 0) {
		ig_err_set(err, IG_PROTO_INTERNAL, "reading runs: %s",
		    store_reader_error(r));
		runs_close(mgr);
		return NULL;
	}
	mgr->opening = true;
	for (size_t i = 0; i < n; i++) {
		enum ig_status st = recs[i].status;
		/* a paused run holds nothing: its resume builds its job */
		adopt_stored(mgr, &recs[i],
		    st == IG_STATUS_RUNNING || st == IG_STATUS_QUEUED);
	}
	store_runs_free(recs, n);
	mgr->opening = false;
	queue_dispatch(mgr);
	revive_next(mgr);
	return mgr;
}
