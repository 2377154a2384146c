/*
 * checkpoint.c - checkpoints: when one is due, taking it (an exec worker's state asked for without waiting), committing it.
 */
#include "runs/runs_int.h"

#define CKPT_GAP_S 0.01 /* checkpoints by count at most 100/s */

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
commit_checkpoint(struct run *run, const void *given, size_t given_len)
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
	};
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

/* The exec worker's state, asked for by checkpoint(): the run has waited
 * at its clean point, so the engine is as it was when asked. */
static void
on_job_state(void *arg, const void *state, size_t len, const char *err)
{
	struct run *run = arg;

	if (err != NULL)
		run_log(run, LOG_ERROR,
		    "checkpoint failed (the previous one stands): %s", err);
	else if (commit_checkpoint(run, state, len) == 0 &&
	    waits_for_store(run))
		return; /* on_saved goes on */
	checkpoint_over(run);
}

/*
 * Checkpoint at a clean point, then go on as `then` says.  An exec
 * worker's state is asked for; then the checkpoint goes to the store.
 * The run waits off the run queue until the store has committed it (the
 * loop and every other run go on): a run that went on would take its
 * next checkpoints into the writer's queue only, and a store slow to
 * commit (a WAL checkpoint's fsync on a busy disk takes seconds) would
 * let a crash lose all of them, however often the policy asks for one
 * (the end excepted: see waits_for_store).
 * A checkpoint that fails is logged and the previous one stands.
 */
void
checkpoint(struct run *run, int then)
{
	ig_err err;

	run->ckpt_then = then;
	run->ckpt_began = uv_hrtime();
	if (job_state_async(run->job)) {
		if (job_request_state(run->job, on_job_state, run, &err) == 0)
			goto wait;
		run_log(run, LOG_ERROR,
		    "checkpoint failed (the previous one stands): %s",
		    err.message);
	} else if (commit_checkpoint(run, NULL, 0) == 0 &&
	    waits_for_store(run)) {
		goto wait;
	}
	after_checkpoint(run, then);
	return;
wait:
	run->ckpt_out = true;
	run->runnable = false;
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
