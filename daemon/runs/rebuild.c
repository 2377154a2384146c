/*
 * rebuild.c - building a run's job again from its last checkpoint, off the loop: a worker's restart, a resume, a requeue, the daemon's start.
 */
#include "runs/runs_int.h"

static int
rebuild_read(struct run *run, struct rebuild *rb, ig_err *err)
{
	struct store_reader *r = store_loop_reader(run->mgr->store);
	int rc = store_list_checkpoints(r, run->id, &rb->ckpts, &rb->nckpts);

	rb->run = run;
	if (rc == 0 && rb->nckpts == 0)
		rc = IG_PROTO_NOT_FOUND;
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

/* Note why a checkpoint was passed over. */
static void
skip(struct rebuild *rb, const struct store_checkpoint *c, const char *why)
{
	char *s = NULL;

	if (asprintf(&s, "%s%scheckpoint at iteration %lld refused: %s",
	        rb->skipped != NULL ? rb->skipped : "",
	        rb->skipped != NULL ? "; " : "", (long long)c->iteration,
	        why) < 0)
		return;
	free(rb->skipped);
	rb->skipped = s;
}

/*
 * On the threadpool: the newest checkpoint whose file, if
 * it has one, is the file its record describes (size and XXH3 sum).  A
 * half-written or damaged file is never used; the one before it is.
 */
static int
pick_checkpoint(struct rebuild *rb, ig_err *err)
{
	ig_err e;

	if (rb->nckpts == 0)
		return 0;
	for (rb->use = 0; rb->use < rb->nckpts; rb->use++) {
		const struct store_checkpoint *c = &rb->ckpts[rb->use];
		if (c->file == NULL ||
		    ckfile_verify(c->file, c->file_size, c->file_sum,
		        rb->run->owner, SETUP_STATE_MAX, &rb->file_bytes,
		        &rb->file_len, &e) == 0)
			return 0;
		skip(rb, c, e.message);
	}
	return ig_err_set(err, IG_PROTO_CONFLICT,
	    "run %lld has no usable checkpoint: %s", (long long)rb->run->id,
	    rb->skipped);
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
	else if (rb->nckpts > 0)
		rc = load_checkpoint(run, &rb->ckpts[rb->use], rb->file_bytes,
		    rb->file_len, err);
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
	if (rb->skipped != NULL) {
		run_log(run, LOG_WARN, "resumed from an older checkpoint: %s",
		    rb->skipped);
		set_reason(run, rb->skipped);
	}
	return 0;
}

static void
rebuild_clear(struct rebuild *rb)
{
	for (size_t i = 0; i < rb->nckpts; i++)
		store_checkpoint_clear(&rb->ckpts[i]);
	free(rb->ckpts);
	free(rb->file_bytes);
	free(rb->skipped);
	if (rb->job != NULL)
		job_free(rb->job);
}

static void
rebuild_free(struct rebuild *rb)
{
	rebuild_clear(rb);
	free(rb);
}

/* The files of the run's directory no checkpoint of rb names: what a
 * crash left.  At the start only: no seal, retirement or worker of this
 * daemon's is out yet. */
static void
sweep(struct run *run, const struct rebuild *rb)
{
	char dir[PATH_MAX];

	if (run->mgr->cfg->checkpoint_dir == NULL &&
	    run->spec->checkpoint.dir == NULL)
		return;
	run_dir(run, dir, sizeof(dir));
	ckfile_sweep(dir, run->owner, rb->ckpts, rb->nckpts);
}

void
sweep_now(struct run *run)
{
	struct rebuild rb = { .start_over = true };
	ig_err err;

	if (rebuild_read(run, &rb, &err) == 0)
		sweep(run, &rb);
	rebuild_clear(&rb);
}

static void
rebuild_work(uv_work_t *w)
{
	struct rebuild *rb = w->data;

	if ((rb->rc = build_job(rb->run, &rb->job, &rb->err)) == 0)
		rb->rc = pick_checkpoint(rb, &rb->err);
	if (rb->rc == 0 && rb->sweep)
		sweep(rb->run, rb);
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
	/* in the loop turn that queued the run: it has not stepped yet */
	load_file_later(rb->run);
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

/* After a rebuild that went well, its engine started again where the
 * checkpoint left it; rb->rc says how it went. */
int
rebuild_start(struct rebuild *rb)
{
	if (rb->rc == 0 && start_engine(rb->run, IG_NONE, &rb->err) != 0)
		rb->rc = rb->err.code;
	return rb->rc;
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
	log_resumed(run,
	    run->status == IG_STATUS_RUNNING ? "resumed" : "queued to resume",
	    "");
	return 0;
}

/*
 * The line of a run that goes on: where it does, as its pause's line and
 * its status before showed it.  Mid-epoch, a state just loaded counts the
 * epochs completed (Ignite's load_state_dict: iteration / epoch_length)
 * until its next EPOCH_STARTED, while the run is in the one after.
 */
void
log_resumed(struct run *run, const char *what, const char *after)
{
	const ig_state *s = ig_engine_state(job_engine(run->job));
	int64_t epoch = s->epoch;

	if (s->epoch_length > 0 && epoch * s->epoch_length < s->iteration)
		epoch++;
	run_log(run, LOG_INFO, "%s at epoch %lld, iteration %lld%s", what,
	    (long long)epoch, (long long)s->iteration, after);
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

/* The plugin could not read its checkpoint's file: the run fails with
 * why (its file matched its record: the plugin refuses what it wrote). */
static void
file_failed(struct run *run, const char *why)
{
	char reason[IG_ERR_MAX + 64];

	snprintf(reason, sizeof(reason),
	    "cannot load its checkpoint at iteration %lld: %s",
	    (long long)run->ckpt_iteration, why);
	run_log(run, LOG_ERROR, "%s", reason);
	set_reason(run, reason);
	run->runnable = false;
	run->ending = IG_STATUS_FAILED;
	finish_end(run);
}

static void
file_loaded(void *arg, const char *why)
{
	struct run *run = arg;

	run->rebuilding = false;
	run->mgr->building--;
	if (why != NULL)
		file_failed(run, why);
	else if (run->runnable)
		make_runnable(run);
	if (run->mgr->stopping)
		check_stopped(run->mgr);
}

/*
 * A plugin whose state is in the checkpoint's file reads it on the
 * threadpool (a state of gigabytes takes seconds): the run stays as it
 * is (running or queued, holding what it holds) but does not step, and
 * the verbs answer UNAVAILABLE (rebuilding), until the plugin has.
 */
void
load_file_later(struct run *run)
{
	ig_err err;

	if (!live(run) || !job_file_pending(run->job))
		return;
	if (job_load_file(run->job, file_loaded, run, &err) != 0) {
		file_failed(run, err.message);
		return;
	}
	run->rebuilding = true;
	run->mgr->building++;
}
