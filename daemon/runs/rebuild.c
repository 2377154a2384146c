/*
 * rebuild.c - building a run's job again from its last checkpoint: a worker's restart, a resume, the daemon's start.
 */
#include "runs/runs_int.h"

static int
rebuild_read(struct run *run, struct rebuild *rb, ig_err *err)
{
	struct store_reader *r = store_loop_reader(run->mgr->store);
	int rc = store_latest_checkpoint(r, run->id, &rb->ckpt);

	rb->run = run;
	rb->have_ckpt = rc == 0;
	if (rc == IG_PROTO_NOT_FOUND && !rb->start_over)
		return ig_err_set(err, IG_PROTO_CONFLICT,
		    "run %lld has no checkpoint to continue from",
		    (long long)run->id);
	/* starting over would drop what it learnt and its history */
	if (rc != 0 && rc != IG_PROTO_NOT_FOUND)
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "cannot read its checkpoint: %s", store_reader_error(r));
	return 0;
}

/* The built job becomes the run's, with the checkpoint loaded; the one it
 * had goes.  On failure the run keeps the job it had. */
static int
rebuild_install(struct rebuild *rb, ig_err *err)
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
		store_truncate(run->mgr->store, run->id, 0, NULL, NULL);
	if (rc != 0) {
		job_free(run->job);
		run->job = old;
		return rc;
	}
	if (old != NULL)
		job_free(old);
	if (run->sched.held)
		queue_place(run); /* a restarted worker keeps its GPUs */
	return 0;
}

static void
rebuild_free(struct rebuild *rb)
{
	if (rb->job != NULL)
		job_free(rb->job);
	store_checkpoint_clear(&rb->ckpt);
	free(rb);
}

/* At the daemon's start, before it serves: all on the loop. */
int
revive_now(struct run *run, bool start_over, ig_err *err)
{
	struct rebuild rb = { .start_over = start_over };
	int rc;

	if ((rc = rebuild_read(run, &rb, err)) == 0 &&
	    (rc = build_job(run, &rb.job, err)) == 0)
		rc = rebuild_install(&rb, err);
	if (rb.job != NULL)
		job_free(rb.job);
	store_checkpoint_clear(&rb.ckpt);
	return rc;
}

static void
rebuild_work(uv_work_t *w)
{
	struct rebuild *rb = w->data;

	rb->rc = build_job(rb->run, &rb->job, &rb->err);
}

static void
rebuild_done(uv_work_t *w, int status)
{
	struct rebuild *rb = w->data;
	struct runs *mgr = rb->run->mgr;

	mgr->building--;
	rb->run->rebuilding = false;
	if (status != 0 && rb->rc == 0)
		rb->rc = ig_err_set(
		    &rb->err, IG_PROTO_UNAVAILABLE, "ignited is shutting down");
	if (rb->rc == 0)
		rb->rc = rebuild_install(rb, &rb->err);
	rb->then(rb);
	rebuild_free(rb);
	if (mgr->stopping)
		check_stopped(mgr);
}

/* Rebuild run's job off the loop, then rb->then; rb is taken over.
 * Returns 0, or an error found at once (no checkpoint, none queued). */
int
rebuild_later(struct run *run, struct rebuild *rb, ig_err *err)
{
	int rc;

	if ((rc = rebuild_read(run, rb, err)) != 0) {
		rebuild_free(rb);
		return rc;
	}
	rb->work.data = rb;
	if ((rc = uv_queue_work(
	         run->mgr->loop, &rb->work, rebuild_work, rebuild_done)) != 0) {
		rebuild_free(rb);
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "cannot queue the run's set-up: %s", uv_strerror(rc));
	}
	run->mgr->building++;
	run->rebuilding = true;
	return 0;
}

/* Start the run's engine again, as resume asks. */
int
resume_engine(struct run *run, int64_t max_epochs, ig_err *err)
{
	ig_engine *e = job_engine(run->job);

	if (max_epochs != IG_NONE && max_epochs <= ig_engine_state(e)->epoch &&
	    ig_engine_status(e) != IG_RUN_SUSPENDED)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "max_epochs: %lld is not above the "
		    "run's epoch %lld",
		    (long long)max_epochs,
		    (long long)ig_engine_state(e)->epoch);
	if (start_engine(run, max_epochs, err) != 0)
		return err->code;
	queue_start(run);
	run_log(run, LOG_INFO, "%s at epoch %lld, iteration %lld",
	    run->status == IG_STATUS_RUNNING ? "resumed" : "queued to resume",
	    (long long)ig_engine_state(e)->epoch,
	    (long long)ig_engine_state(e)->iteration);
	return 0;
}

void
resumed(struct rebuild *rb)
{
	struct run *run = rb->run;
	ig_err err;

	if (rb->rc != 0) {
		rb->done(rb->arg, NULL, &rb->err);
		return;
	}
	tell_rpc(run, RUN_LIVE, NULL);
	if (resume_engine(run, rb->max_epochs, &err) != 0)
		rb->done(rb->arg, NULL, &err);
	else
		rb->done(rb->arg, run, NULL);
}
