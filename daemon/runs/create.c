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

	/* a branch (run's `from`): the source's checkpoint, its file's bytes
	 * when small (for setup), and the new run's copy of the file */
	bool branch;
	int64_t from_id;
	uid_t from_owner;
	struct store_checkpoint ckpt;
	void *file_bytes;
	size_t file_len;
	struct ckfile file;
};

static void
creating_free(struct creating *cr)
{
	if (cr->branch)
		store_checkpoint_clear(&cr->ckpt);
	free(cr->file_bytes);
	free(cr);
}

static void
creating_fail(struct creating *cr)
{
	cr->done(cr->arg, NULL, &cr->err);
	run_free(cr->run);
	creating_free(cr);
}

static void branch_start(struct creating *cr);

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
		creating_free(cr);
		return;
	}
	remote_setup(run, false);
	if (cr->branch) {
		branch_start(cr);
		return;
	}
	if (run->job != NULL && !mgr->stopping)
		queue_start(run);
	cr->done(cr->arg, run, NULL);
	creating_free(cr);
}

/*
 * A branch's record is in: its own first checkpoint is the source's,
 * whose file (if any) is linked or copied into its directory first, off
 * the loop and as its owner; only once that checkpoint has committed
 * does it start, so that a crash or a worker's restart resumes it from
 * there and never from the start.  Whatever fails takes the new run
 * away again: the client is told why and nothing stays.
 */
static void
branch_fail(struct creating *cr)
{
	struct runs *mgr = cr->run->mgr;
	int64_t id = cr->run->id;

	cr->done(cr->arg, NULL, &cr->err);
	store_delete_run(mgr->store, id, NULL, NULL);
	runs_abandon(mgr, id);
	creating_free(cr);
}

static void
on_branched(void *arg, const ig_err *err)
{
	struct creating *cr = arg;
	struct run *run = cr->run;

	if (err != NULL) {
		ig_err_set(&cr->err, IG_PROTO_UNAVAILABLE,
		    "the run's first checkpoint could not be stored: %s",
		    err->message);
		branch_fail(cr);
		return;
	}
	if (!run->mgr->stopping)
		queue_start(run);
	cr->done(cr->arg, run, NULL);
	creating_free(cr);
	/* a plugin reads the checkpoint's file, now the run's own */
	load_file_later(run);
}

static void
branch_commit(struct creating *cr)
{
	struct run *run = cr->run;
	const ig_spec_checkpoint *pol = &run->spec->checkpoint;
	struct store_checkpoint c = cr->ckpt;
	struct store_progress p = progress_of(run);

	c.run_id = run->id;
	c.seq = 0;
	c.wall = 0;
	c.file = c.file != NULL ? cr->file.path : NULL;
	c.score = NAN; /* the source's metric, perhaps not this spec's */
	c.keep_last = pol->n_saved;
	c.keep_best = pol->best_n;
	c.best_sign = pol->best_metric[0] == '\0' ? 0 :
	    pol->best_mode == IG_MODE_MIN         ? -1 :
	                                            1;
	if (store_save_checkpoint(run->mgr->store, &c, &p, on_branched, cr) !=
	    0) {
		ig_err_set(&cr->err, IG_PROTO_UNAVAILABLE,
		    "the run's first checkpoint could not be stored");
		branch_fail(cr);
	}
}

static void
branch_work(uv_work_t *w)
{
	struct creating *cr = w->data;
	struct run *run = cr->run;
	bool shared = run->spec->checkpoint.dir != NULL;
	char dir[PATH_MAX];

	run_dir(run, dir, sizeof(dir));
	if ((cr->rc = ckfile_run_dir(dir, run->owner, shared, &cr->err)) == 0)
		cr->rc = ckfile_branch(cr->ckpt.file, cr->ckpt.file_size,
		    cr->ckpt.file_sum, cr->from_owner == run->owner, dir,
		    cr->ckpt.iteration, ckfile_tag(), run->owner, &cr->file,
		    &cr->err);
	if (cr->rc != 0)
		ckfile_remove_dir(dir, run->owner);
}

static void
branch_copied(uv_work_t *w, int status)
{
	struct creating *cr = w->data;
	struct run *run = cr->run;
	struct runs *mgr = run->mgr;

	mgr->building--;
	if (status != 0)
		ig_err_set(
		    &cr->err, IG_PROTO_UNAVAILABLE, "ignited is shutting down");
	if (status != 0 || cr->rc != 0 ||
	    job_set_checkpoint_file(run->job, cr->file.path, cr->file_bytes,
	        cr->file_len, &cr->err) != 0)
		branch_fail(cr);
	else {
		run->dir_made = true;
		branch_commit(cr);
	}
	if (mgr->stopping)
		check_stopped(mgr);
}

static void
branch_start(struct creating *cr)
{
	struct runs *mgr = cr->run->mgr;
	int rc;

	if (cr->ckpt.file == NULL) {
		branch_commit(cr);
		return;
	}
	if ((rc = uv_queue_work(
	         mgr->loop, &cr->work, branch_work, branch_copied)) != 0) {
		ig_err_set(&cr->err, IG_PROTO_INTERNAL,
		    "cannot queue the checkpoint's copy: %s", uv_strerror(rc));
		branch_fail(cr);
		return;
	}
	mgr->building++;
}

/* On a threadpool thread: the run is nobody else's yet. */
static void
create_work(uv_work_t *w)
{
	struct creating *cr = w->data;

	cr->rc = build_job(cr->run, &cr->run->job, &cr->err);
	/* a damaged source is refused before anything is stored */
	if (cr->rc == 0 && cr->branch && cr->ckpt.file != NULL &&
	    ckfile_verify(cr->ckpt.file, cr->ckpt.file_size, cr->ckpt.file_sum,
	        cr->from_owner, SETUP_STATE_MAX, &cr->file_bytes, &cr->file_len,
	        &cr->err) != 0)
		cr->rc = ig_err_set(&cr->err, IG_PROTO_CONFLICT,
		    "from: run %lld's checkpoint at iteration %lld cannot be "
		    "used: %s",
		    (long long)cr->from_id, (long long)cr->ckpt.iteration,
		    cr->err.message);
}

/* The source's checkpoint into the new run's engine and job: what does
 * not fit the new spec (another builtin's state, metrics it lacks) is
 * refused with why. */
static int
branch_load(struct creating *cr)
{
	ig_run_args a;
	ig_state s;

	if (restore_checkpoint(cr->run, &cr->ckpt, &cr->err) != 0)
		return ig_err_set(&cr->err, IG_PROTO_INVALID_PARAMS,
		    "from: run %lld's checkpoint at iteration %lld does not "
		    "fit this spec: %s",
		    (long long)cr->from_id, (long long)cr->ckpt.iteration,
		    cr->err.message);
	/* Ignite's run() of a finished state starts over: a branch that
	 * silently did would be no branch */
	s = *ig_engine_state(job_engine(cr->run->job));
	a = job_run_args(cr->run->job);
	if (s.max_epochs != IG_NONE && a.max_epochs != IG_NONE)
		s.max_epochs = a.max_epochs;
	if (ig_state_done(&s))
		return ig_err_set(&cr->err, IG_PROTO_INVALID_PARAMS,
		    "max_epochs: run %lld's checkpoint at iteration %lld has "
		    "finished epoch %lld: ask more epochs to go on from it",
		    (long long)cr->from_id, (long long)cr->ckpt.iteration,
		    (long long)s.epoch);
	return 0;
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
	    (cr->branch && branch_load(cr) != 0) ||
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
		.status = IG_STATUS_QUEUED,
		.progress = progress_of(run),
		.queue_seq = run->sched.seq,
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
	/* it runs once its record is in and what it asks is free */
	run->created = store_now();
	run->status = IG_STATUS_QUEUED;
	tell_rpc(run, RUN_LIVE, NULL);
	run_log(run, LOG_INFO, "started by uid %lu: %s",
	    (unsigned long)run->owner,
	    spec->engine.target != NULL ? spec->engine.target : "exec");
	if (cr->branch)
		run_log(run, LOG_INFO,
		    "branched from run %lld at epoch %lld, iteration %lld",
		    (long long)cr->from_id, (long long)cr->ckpt.epoch,
		    (long long)cr->ckpt.iteration);
}

/* Which checkpoint of from's run the new run starts from, checked against
 * its spec; into *out (clear it).  On the loop: the store's reader is. */
static int
branch_pick(struct runs *mgr, const ig_spec *spec, const struct run_from *from,
    struct store_checkpoint *out, ig_err *err)
{
	const struct run *src = from->run;
	struct store_checkpoint *v = NULL;
	size_t n = 0, use = 0;
	int rc = 0;

	if (spec->state_dict != NULL)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "from: give a state_dict or a run to start from, not both");
	if (src->spec == NULL)
		return ig_err_set(err, IG_PROTO_CONFLICT,
		    "from: run %lld has no spec to start from: %s",
		    (long long)src->id, src->reason != NULL ? src->reason : "");
	if (src->spec->engine.kind != spec->engine.kind ||
	    (spec->engine.kind == IG_ENGINE_BUILTIN &&
	        strcmp(src->spec->engine.target, spec->engine.target) != 0))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "from: run %lld's engine is %s%s%s, this spec's %s%s%s: "
		    "a checkpoint loads only into the engine that cut it",
		    (long long)src->id,
		    ig_engine_kind_name(src->spec->engine.kind),
		    src->spec->engine.kind == IG_ENGINE_BUILTIN ? ":" : "",
		    src->spec->engine.kind == IG_ENGINE_BUILTIN ?
		        src->spec->engine.target :
		        "",
		    ig_engine_kind_name(spec->engine.kind),
		    spec->engine.kind == IG_ENGINE_BUILTIN ? ":" : "",
		    spec->engine.kind == IG_ENGINE_BUILTIN ?
		        spec->engine.target :
		        "");
	if (store_list_checkpoints(
	        store_loop_reader(mgr->store), src->id, &v, &n) != 0)
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "from: cannot read run %lld's checkpoints: %s",
		    (long long)src->id,
		    store_reader_error(store_loop_reader(mgr->store)));
	while (from->iteration != IG_NONE && use < n &&
	    v[use].iteration != from->iteration)
		use++;
	if (n == 0)
		rc = ig_err_set(err, IG_PROTO_NOT_FOUND,
		    "from: run %lld has no checkpoint yet", (long long)src->id);
	else if (use == n)
		rc = ig_err_set(err, IG_PROTO_NOT_FOUND,
		    "from: run %lld has no checkpoint at iteration %lld (its "
		    "newest is at %lld; ignitectl checkpoints %lld lists them)",
		    (long long)src->id, (long long)from->iteration,
		    (long long)v[0].iteration, (long long)src->id);
	for (size_t i = 0; i < n; i++)
		if (rc != 0 || i != use)
			store_checkpoint_clear(&v[i]);
	if (rc == 0)
		*out = v[use];
	free(v);
	return rc;
}

int
runs_writable(struct runs *mgr, ig_err *err)
{
	return store_writable(mgr->store, err);
}

int
runs_create(struct runs *mgr, const msgpack_object *o, uid_t owner,
    const struct run_from *from, run_done_fn *done, void *arg, ig_err *err)
{
	struct store_checkpoint ckpt = { 0 };
	struct creating *cr;
	ig_spec *spec;
	int rc;

	if (mgr->stopping)
		return ig_err_set(
		    err, IG_PROTO_UNAVAILABLE, "ignited is shutting down");
	if ((rc = runs_writable(mgr, err)) != 0 ||
	    (rc = ig_spec_read(o, &spec, err)) != 0)
		return rc;
	if ((rc = remote_check(mgr, spec, err)) != 0) {
		ig_spec_free(spec);
		return rc;
	}
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
	if (spec->priority > 0 && owner != 0) {
		ig_spec_free(spec);
		return ig_err_set(err, IG_PROTO_PERMISSION_DENIED,
		    "priority: only root may set a priority above 0; "
		    "leave it at 0 or lower it");
	}
	if (from != NULL &&
	    (rc = branch_pick(mgr, spec, from, &ckpt, err)) != 0) {
		ig_spec_free(spec);
		return rc;
	}
	if ((rc = sched_reserve(mgr->sched, owner, spec->resources.gpus,
	         spec->resources.cpus, err)) != 0) {
		store_checkpoint_clear(&ckpt);
		ig_spec_free(spec);
		return rc;
	}
	if (spec->seed == IG_NONE && spec->data.shuffle)
		spec->seed = fresh_seed();
	if ((cr = calloc(1, sizeof(*cr))) == NULL ||
	    (cr->run = run_alloc(mgr, spec, owner)) == NULL) {
		sched_unreserve(mgr->sched, owner);
		free(cr);
		store_checkpoint_clear(&ckpt);
		ig_spec_free(spec);
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	}
	if (from != NULL) {
		cr->branch = true;
		cr->from_id = from->run->id;
		cr->from_owner = from->run->owner;
		cr->ckpt = ckpt;
	}
	/* counted against its owner's queue until it starts or goes */
	cr->run->sched.reserved = true;
	cr->done = done;
	cr->arg = arg;
	cr->work.data = cr;
	if ((rc = uv_queue_work(
	         mgr->loop, &cr->work, create_work, create_done)) != 0) {
		run_free(cr->run);
		creating_free(cr);
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
