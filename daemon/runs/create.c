/*
 * create.c - accepting a run: its job built off the loop, its record stored, then started.
 */
#include "runs/runs_int.h"

static void runs_abandon(struct runs *mgr, int64_t id);

/*
 * Accepting a run.  Its job is built on libuv's threadpool: opening and
 * parsing its data file (up to --max-data-size) may take seconds the loop
 * must not spend.  Then the engine's own checks, then its record; only
 * once the record has committed does it start and is the client told, so
 * that nothing it does can outlive a crash that loses the record.
 */
struct creating {
	uv_work_t work;
	struct run *run; /* not in mgr->v until its job is built */
	run_done_fn *done;
	void *arg;
	int rc;
	ig_err err;
};

static void
creating_fail(struct creating *cr)
{
	cr->done(cr->arg, NULL, &cr->err);
	run_free(cr->run);
	free(cr);
}

/* The record is in the store, or could not be. */
static void
on_stored(void *arg, const ig_err *err)
{
	struct creating *cr = arg;
	struct run *run = cr->run;
	struct runs *mgr = run->mgr;

	if (err != NULL) {
		ig_err_set(&cr->err, IG_PROTO_UNAVAILABLE,
		    "the run could not be stored: %s", err->message);
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
static void
create_work(uv_work_t *w)
{
	struct creating *cr = w->data;

	cr->rc = build_job(cr->run, &cr->run->job, &cr->err);
}

static void
create_done(uv_work_t *w, int status)
{
	struct creating *cr = w->data;
	struct run *run = cr->run;
	struct runs *mgr = run->mgr;
	const ig_spec *spec = run->spec;
	msgpack_sbuffer sb;
	int rc;

	mgr->building--;
	if (status != 0 || mgr->stopping) {
		ig_err_set(
		    &cr->err, IG_PROTO_UNAVAILABLE, "ignited is shutting down");
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
	        load_state_dict(run, spec->state_dict, spec->state_dict_len,
	            &cr->err) != 0) ||
	    start_engine(run, IG_NONE, &cr->err) != 0) {
		creating_fail(cr);
		return;
	}
	pack_spec(&sb, spec);
	struct store_run rec = {
		.name = spec->name[0] != '\0' ? spec->name : NULL,
		.owner_uid = run->owner,
		.spec = sb.data,
		.spec_len = sb.size,
		.status = IG_STATUS_RUNNING,
		.progress = progress_of(run),
	};
	rc = store_create_run(
	    mgr->store, &rec, &run->id, on_stored, cr, &cr->err);
	msgpack_sbuffer_destroy(&sb);
	if (rc != 0) {
		/* the store names the uid; the caller knows whose name */
		if (rc == IG_PROTO_CONFLICT)
			ig_err_set(
			    &cr->err, rc, "name: you have a run called that");
		creating_fail(cr);
		return;
	}
	if (runs_add(mgr, run) != 0) {
		/* the record still commits; on_stored then drops it */
		log_msg(
		    LOG_ERROR, run->id, "out of memory for the table of runs");
		return;
	}
	run->created = run->started = store_now();
	run->status = IG_STATUS_RUNNING;
	tell_rpc(run, RUN_LIVE, NULL);
	run_log(run, LOG_INFO, "started by uid %lu: %s",
	    (unsigned long)run->owner,
	    spec->engine.target != NULL ? spec->engine.target : "exec");
}

int
runs_writable(struct runs *mgr, ig_err *err)
{
	return store_writable(mgr->store, err);
}

int
runs_create(struct runs *mgr, const msgpack_object *o, uid_t owner,
    run_done_fn *done, void *arg, ig_err *err)
{
	struct creating *cr;
	ig_spec *spec;
	int rc;

	if (mgr->stopping)
		return ig_err_set(
		    err, IG_PROTO_UNAVAILABLE, "ignited is shutting down");
	if ((rc = runs_writable(mgr, err)) != 0 ||
	    (rc = ig_spec_read(o, &spec, err)) != 0)
		return rc;
	size_t named;
	struct run *same = spec->name[0] != '\0' ?
	    runs_find_name(mgr, spec->name, owner, &named) :
	    NULL;
	if (same != NULL && same->owner == owner) {
		rc = ig_err_set(err, IG_PROTO_CONFLICT,
		    "name: you have a run called %s (run %lld); "
		    "choose another name, or delete it first",
		    spec->name, (long long)same->id);
		ig_spec_free(spec);
		return rc;
	}
	if (spec->seed == IG_NONE && spec->data.shuffle)
		spec->seed = fresh_seed();
	if ((cr = calloc(1, sizeof(*cr))) == NULL ||
	    (cr->run = run_alloc(mgr, spec, owner)) == NULL) {
		free(cr);
		ig_spec_free(spec);
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	}
	cr->done = done;
	cr->arg = arg;
	cr->work.data = cr;
	if ((rc = uv_queue_work(
	         mgr->loop, &cr->work, create_work, create_done)) != 0) {
		run_free(cr->run);
		free(cr);
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "cannot queue the run's set-up: %s", uv_strerror(rc));
	}
	mgr->building++;
	return 0;
}

/* Forget a run whose record could not be stored. */
static void
runs_abandon(struct runs *mgr, int64_t id)
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
