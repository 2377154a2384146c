/*
 * checkpoint.c - checkpoints: when one is due, taking it (an exec worker's state asked for without waiting), committing it.
 *
 * An exec worker (or a plugin with save_file, which writes on the
 * threadpool) is asked to write its state into a fresh file of the
 * run's directory, <dir>/ckpt-ITERATION-TAG.part (or a directory of
 * shards there); it answers {saved: true}, or {state: bin}, which stays
 * inline in the store when small and is written to the file by the daemon
 * otherwise.  The file is then sealed on the threadpool (ckfile_seal:
 * checked, summed, fsynced, renamed to .bin, or .dir with its manifest,
 * the directory fsynced) while the run waits at its clean point,
 * and only then is its descriptor committed with the engine's state.  A
 * checkpoint that fails so pauses the run with the reason: the previous
 * one stands, and a run that cannot checkpoint would lose its work.
 */
#include "runs/runs_int.h"

#define CKPT_GAP_S 0.01 /* checkpoints by count at most 100/s */
#define CKPT_INLINE_MAX (64 * 1024) /* a worker's state kept in the row */

/* A checkpoint's file, sealed off the loop (or its directory made). */
struct seal {
	uv_work_t work;
	struct run *run;
	char dir[PATH_MAX];
	int64_t iteration;
	uint64_t tag; /* of its file's name */
	uid_t owner;
	bool shared; /* the spec's checkpoint.dir */
	void *bytes; /* {state: bin} to write; NULL: the worker wrote it */
	size_t len;
	struct ckfile file;
	int rc;
	ig_err err;
};

static int ask_state(struct run *run);
static void checkpoint_failed(struct run *run, int then, const char *why);
static void checkpoint_over(struct run *run);

static void on_saved(void *arg, const ig_err *err);

/* Does the run wait for the store to commit its checkpoint?  Not the end:
 * finish_end hands over the run's status in the same loop turn, and the
 * two must commit in one transaction (a crash between them would resume
 * an ended run past its end). */
static bool
waits_for_store(const struct run *run)
{
	return run->ckpt_then != THEN_FINISH;
}

/*
 * Save the engine's state_dict and data cursor and the job's own state, with
 * the process function's state given (an exec worker's answer) or asked for
 * now; the store commits it with every point handed over before it.
 */
static int
commit_checkpoint(struct run *run, const void *given, size_t given_len,
    const struct ckfile *file)
{
	const ig_spec_checkpoint *pol = &run->spec->checkpoint;
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
	if (given != NULL || file != NULL) {
		job_save_given(run->job, &pk, given, given_len);
	} else if (job_save(run->job, &pk, &err) != 0) {
		run_log(run, LOG_ERROR,
		    "checkpoint failed (the previous one stands): %s",
		    err.message);
		goto out;
	}
	ig_engine_data_cursor(e, &cur);
	flush_points(run);
	struct store_progress p = progress_of(run);
	struct store_checkpoint c = {
		.run_id = run->id,
		.epoch = p.epoch,
		.iteration = p.iteration,
		.state_dict = sd.data,
		.state_dict_len = sd.size,
		.data_pass = cur.pass,
		.data_pos = cur.pos,
		.process_state = js.data,
		.process_state_len = js.size,
		.file = file != NULL ? file->path : NULL,
		.file_size = file != NULL ? file->size : 0,
		.file_sum = file != NULL ? file->sum : 0,
		.score = NAN,
		.keep_last = pol->n_saved,
		.keep_best = pol->best_n,
		.best_sign = pol->best_metric[0] == '\0' ? 0 :
		    pol->best_mode == IG_MODE_MIN        ? -1 :
		                                           1,
	};
	if (c.best_sign != 0)
		ig_engine_metric(e, pol->best_metric, &c.score);
	if (store_save_checkpoint(run->mgr->store, &c, &p,
	        waits_for_store(run) ? on_saved : NULL, run) != 0) {
		run_log(
		    run, LOG_ERROR, "checkpoint failed: the store refused it");
		goto out;
	}
	hist_add(&run->mgr->stats.ckpt_bytes, (double)(sd.size + js.size));
	run->ckpt_iteration = p.iteration;
	run->ckpt_time = (double)uv_now(run->mgr->loop) / 1e3;
	run->want_checkpoint = false;
	rc = 0;
out:
	msgpack_sbuffer_destroy(&sd);
	msgpack_sbuffer_destroy(&js);
	return rc;
}

/* The run cannot checkpoint: it pauses with why, and resumes (when asked)
 * from the previous checkpoint, which stands. */
static void
checkpoint_failed(struct run *run, int then, const char *why)
{
	char reason[IG_ERR_MAX * 2];

	snprintf(reason, sizeof(reason),
	    "checkpoint at iteration %lld failed: %s; the previous one "
	    "(iteration %lld) stands",
	    (long long)ig_engine_state(job_engine(run->job))->iteration, why,
	    (long long)run->ckpt_iteration);
	run_log(run, LOG_ERROR, "%s", reason);
	set_reason(run, reason);
	if (then == THEN_CONTINUE && run->suspend == SUSPEND_NONE)
		run->suspend = SUSPEND_PAUSE;
}

/* The checkpoint is over (committed, or not taken): what follows runs in
 * the run's next turn, not inside a worker's or the store's callback. */
static void
checkpoint_over(struct run *run)
{
	run->ckpt_out = false;
	run->ckpt_done = true;
	make_runnable(run);
}

/* The store has committed the checkpoint, or failed to (on_store_error
 * then pauses the run). */
static void
on_saved(void *arg, const ig_err *err)
{
	struct run *run = arg;

	(void)err; /* the store's error handler reports it, for every run */
	hist_add(&run->mgr->stats.ckpt_seconds,
	    (double)(uv_hrtime() - run->ckpt_began) / 1e9);
	checkpoint_over(run);
}

static void
seal_work(uv_work_t *w)
{
	struct seal *sl = w->data;

	sl->rc = ckfile_seal(sl->dir, sl->iteration, sl->tag, sl->owner,
	    sl->bytes, sl->len, &sl->file, &sl->err);
}

static void
seal_done(uv_work_t *w, int status)
{
	struct seal *sl = w->data;
	struct run *run = sl->run;
	bool committing = false;

	run->mgr->building--;
	if (status != 0)
		checkpoint_failed(run, run->ckpt_then, "ignited is stopping");
	else if (sl->rc != 0)
		checkpoint_failed(run, run->ckpt_then, sl->err.message);
	else if (commit_checkpoint(run, NULL, 0, &sl->file) != 0)
		checkpoint_failed(run, run->ckpt_then, "the store refused it");
	else
		committing = waits_for_store(run); /* on_saved goes on */
	if (!committing)
		checkpoint_over(run);
	free(sl->bytes);
	free(sl);
	if (run->mgr->stopping)
		check_stopped(run->mgr);
}

static void
mkdir_work(uv_work_t *w)
{
	struct seal *sl = w->data;

	sl->rc = ckfile_run_dir(sl->dir, sl->owner, sl->shared, &sl->err);
}

/* What a worker that failed to save left half-written. */
static void
drop_work(uv_work_t *w)
{
	struct seal *sl = w->data;

	ckfile_drop(sl->dir, sl->iteration, sl->tag, sl->owner);
}

static void
drop_done(uv_work_t *w, int status)
{
	(void)status;
	free(w->data);
}

static void
drop_part(struct run *run)
{
	struct seal *sl = calloc(1, sizeof(*sl));

	if (sl == NULL)
		return;
	sl->iteration = ig_engine_state(job_engine(run->job))->iteration;
	sl->tag = run->ckpt_tag;
	sl->owner = run->owner;
	run_dir(run, sl->dir, sizeof(sl->dir));
	sl->work.data = sl;
	if (uv_queue_work(run->mgr->loop, &sl->work, drop_work, drop_done) != 0)
		free(sl);
}

static void
mkdir_done(uv_work_t *w, int status)
{
	struct seal *sl = w->data;
	struct run *run = sl->run;

	run->mgr->building--;
	if (status != 0)
		checkpoint_failed(run, run->ckpt_then, "ignited is stopping");
	else if (sl->rc != 0)
		checkpoint_failed(run, run->ckpt_then, sl->err.message);
	else
		run->dir_made = true;
	if (status != 0 || sl->rc != 0 || ask_state(run) != 0)
		checkpoint_over(run);
	free(sl);
	if (run->mgr->stopping)
		check_stopped(run->mgr);
}

/* Work on the run's directory off the loop; the run waits (ckpt_out)
 * until it is done.  bytes NULL and mk: make the directory. */
static int
file_later(struct run *run, bool mk, const void *bytes, size_t len)
{
	struct seal *sl = calloc(1, sizeof(*sl));

	if (sl == NULL ||
	    (bytes != NULL && (sl->bytes = malloc(len + 1)) == NULL)) {
		free(sl);
		return -1;
	}
	if (bytes != NULL)
		memcpy(sl->bytes, bytes, len);
	sl->len = len;
	sl->run = run;
	sl->owner = run->owner;
	sl->shared = run->spec->checkpoint.dir != NULL;
	sl->iteration = ig_engine_state(job_engine(run->job))->iteration;
	sl->tag = run->ckpt_tag;
	run_dir(run, sl->dir, sizeof(sl->dir));
	sl->work.data = sl;
	if (uv_queue_work(run->mgr->loop, &sl->work,
	        mk ? mkdir_work : seal_work,
	        mk ? mkdir_done : seal_done) != 0) {
		free(sl->bytes);
		free(sl);
		return -1;
	}
	/* the shutdown waits for it as for a build */
	run->mgr->building++;
	return 0;
}

/* The exec worker's answer, asked for by checkpoint(): the run has waited
 * at its clean point, so the engine is as it was when asked. */
static void
on_job_state(
    void *arg, const void *state, size_t len, bool saved, const char *err)
{
	struct run *run = arg;

	if (err != NULL && job_worker_lost(run->job)) {
		/* the run fails (or restarts) with why, as the worker does */
		run_log(run, LOG_ERROR,
		    "checkpoint failed (the previous one stands): %s", err);
	} else if (err != NULL) {
		checkpoint_failed(run, run->ckpt_then, err);
		drop_part(run);
	} else if (!saved && len <= CKPT_INLINE_MAX) {
		if (commit_checkpoint(run, state, len, NULL) != 0)
			checkpoint_failed(
			    run, run->ckpt_then, "the store refused it");
		else if (waits_for_store(run))
			return; /* on_saved goes on */
	} else if (file_later(run, false, saved ? NULL : state, len) == 0) {
		return; /* seal_done goes on */
	} else {
		checkpoint_failed(run, run->ckpt_then, "out of memory");
	}
	checkpoint_over(run);
}

/*
 * Checkpoint at a clean point, then go on as `then` says.  An exec
 * worker is asked to write its state into a file, which is sealed off
 * the loop; then the checkpoint goes to the store.
 * The run waits off the run queue until the store has committed it (the
 * loop and every other run go on): a run that went on would take its
 * next checkpoints into the writer's queue only, and a store slow to
 * commit (a WAL checkpoint's fsync on a busy disk takes seconds) would
 * let a crash lose all of them, however often the policy asks for one
 * (the end excepted: see waits_for_store).
 */
void
checkpoint(struct run *run, int then)
{
	run->ckpt_then = then;
	run->ckpt_began = uv_hrtime();
	if (job_state_async(run->job)) {
		if ((run->dir_made ? ask_state(run) :
		                     file_later(run, true, NULL, 0)) == 0)
			goto wait;
		if (!run->dir_made)
			checkpoint_failed(run, then, "out of memory");
	} else if (commit_checkpoint(run, NULL, 0, NULL) == 0 &&
	    waits_for_store(run)) {
		goto wait;
	}
	after_checkpoint(run, then);
	return;
wait:
	run->ckpt_out = true;
	run->runnable = false;
}

/* Ask the worker to write its state into a fresh file of the run's
 * directory; on_job_state has its answer. */
static int
ask_state(struct run *run)
{
	char path[PATH_MAX], dir[PATH_MAX];
	ig_err err;

	run_dir(run, dir, sizeof(dir));
	run->ckpt_tag = ckfile_tag();
	ckfile_name(path, sizeof(path), dir,
	    ig_engine_state(job_engine(run->job))->iteration, run->ckpt_tag,
	    "part");
	if (job_request_state(run->job, path, on_job_state, run, &err) == 0)
		return 0;
	checkpoint_failed(run, run->ckpt_then, err.message);
	return -1;
}

/* Iterations to complete before the next checkpoint by count: `every`
 * after the last checkpoint, and each `every` after that.  An iteration
 * in flight (an exec worker's, a blocking call's) is counted in the
 * state but not yet complete. */
uint64_t
to_count_point(const struct run *run, ig_engine *e)
{
	int64_t every = run->spec->checkpoint.every;
	int64_t done = ig_engine_state(e)->iteration - !ig_engine_clean(e);

	return (uint64_t)(every - (done - run->ckpt_iteration) % every);
}

static double
since_checkpoint(const struct run *run)
{
	return (double)uv_now(run->mgr->loop) / 1e3 - run->ckpt_time;
}

/*
 * Is a checkpoint due by the policy's count or time?  By count only on its
 * iteration, and not within CKPT_GAP_S of the last checkpoint: a fast
 * engine would otherwise commit thousands a second, each one the store's
 * work for nothing once the next replaces it.
 */
bool
checkpoint_due(const struct run *run, ig_engine *e)
{
	const ig_spec_checkpoint *p = &run->spec->checkpoint;

	return checkpoint_due_now(run) ||
	    (p->every != IG_NONE &&
	        ig_engine_state(e)->iteration > run->ckpt_iteration &&
	        to_count_point(run, e) == (uint64_t)p->every &&
	        since_checkpoint(run) >= CKPT_GAP_S);
}

/* Due wherever the run stands: asked for (the checkpoint action), or by
 * time.  A run with an iteration in flight takes it where that ends. */
bool
checkpoint_due_now(const struct run *run)
{
	double seconds = run->spec->checkpoint.seconds;

	return run->want_checkpoint ||
	    (seconds > 0 && since_checkpoint(run) >= seconds);
}

/*
 * Pause or shutdown at a clean point: checkpoint, then Ignite's interrupt,
 * which the engine honours at its next event without changing what the
 * checkpoint holds.
 */
void
suspend_now(struct run *run)
{
	checkpoint(run, THEN_SUSPEND);
}

void
after_checkpoint(struct run *run, int then)
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
