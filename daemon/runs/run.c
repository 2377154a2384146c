/*
 * run.c - a run and its job: building, the job's hooks, the run's own handlers, loading a checkpoint, the summary.
 */
#include "runs/runs_int.h"

static void clear_last_metrics(struct run *run);

static void
hook_checkpoint(void *ud)
{
	struct run *run = ud;

	run->want_checkpoint = true;
	ig_engine_yield(job_engine(run->job));
}

static void
hook_wake(void *ud)
{
	struct run *run = ud;

	run->waiting = false;
	make_runnable(run);
}

static int64_t
hook_run_id(void *ud)
{
	return ((struct run *)ud)->id;
}

/* A job for run->spec, with the run's hooks.  A run whose stored record
 * was not to be trusted has no spec, and never gets a job. */
/* A job for run->spec, with the run's hooks, into *out.  Safe on a
 * threadpool thread: it reads the run's spec and owner only. */
/* The run's checkpoint directory: the spec's checkpoint.dir or the
 * daemon's --checkpoint-dir, then run-ID. */
void
run_dir(const struct run *run, char *buf, size_t len)
{
	const char *base = run->spec != NULL && run->spec->checkpoint.dir ?
	    run->spec->checkpoint.dir :
	    run->mgr->cfg->checkpoint_dir;

	snprintf(buf, len, "%s/run-%lld", base != NULL ? base : ".",
	    (long long)run->id);
}

int
build_job(struct run *run, struct job **out, ig_err *err)
{
	struct job_hooks hooks = { hook_point, hook_checkpoint, hook_log,
		hook_wake, hook_run_id, run, remote_want };

	if (run->spec == NULL)
		return ig_err_set(err, IG_PROTO_CONFLICT,
		    "run %lld cannot run again: %s", (long long)run->id,
		    run->reason != NULL ? run->reason : "");
	return job_new(run->mgr->loop, run->mgr->cfg, run->spec, run->owner,
	    &hooks, out, err);
}

int
on_epoch_completed(ig_engine *e, int event, void *ud)
{
	struct run *run = ud;

	(void)event;
	if (run->watchers != NULL)
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

static int
on_lifecycle(ig_engine *e, int event, void *ud)
{
	struct run *run = ud;
	const ig_state *s = ig_engine_state(e);
	ig_event_note n = { run->id, (char *)ig_event_name(e, event), s->epoch,
		s->iteration };

	if (run->watchers != NULL)
		broadcast(run, "event", pack_event_note, &n);
	if (event != IG_EVENT_EXCEPTION_RAISED)
		return 0;
	/* Told, not handled: returning 0 would swallow the error (Ignite's
	 * rule 14) and end a failed run as completed. */
	char why[IG_ERR_MAX * 4];
	snprintf(why, sizeof(why), "%s", ig_engine_error(e));
	return ig_engine_raise(e, "%s", why);
}

int
add_run_handlers(struct run *run)
{
	static const ig_event_spec lifecycle[] = {
		{ .event = IG_EVENT_STARTED },
		{ .event = IG_EVENT_EPOCH_STARTED },
		{ .event = IG_EVENT_EPOCH_COMPLETED },
		{ .event = IG_EVENT_COMPLETED },
		{ .event = IG_EVENT_TERMINATE },
		{ .event = IG_EVENT_TERMINATE_SINGLE_EPOCH },
		{ .event = IG_EVENT_INTERRUPT },
		{ .event = IG_EVENT_EXCEPTION_RAISED },
	};
	ig_engine *e = job_engine(run->job);

	/* Nothing on the per-iteration events: the engine keeps its fast
	 * path, and checkpoints by count or time are taken between steps. */
	if (ig_engine_on(e, IG_EVENT_EPOCH_COMPLETED, NULL, on_epoch_completed,
	        run) == 0 ||
	    ig_engine_add_handler(e, lifecycle,
	        sizeof(lifecycle) / sizeof(lifecycle[0]), on_lifecycle,
	        run) == 0)
		return -1;
	return 0;
}

void
run_free(struct run *run)
{
	if (run == NULL)
		return;
	tell_ended(run);
	queue_forget(run);
	/* at the daemon's stop a Slurm job runs on: its worker dials the
	 * next daemon */
	if (run->job != NULL && run->mgr->stopping)
		job_remote_leave(run->job);
	if (run->job != NULL)
		job_free(run->job);
	remote_free(run);
	tell_rpc(run, RUN_GONE, NULL);
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
struct run *
run_alloc(struct runs *mgr, ig_spec *spec, uid_t owner)
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
	queue_entry_init(run, mgr->next_seq++);
	return run;
}

void
pack_spec(msgpack_sbuffer *sb, const ig_spec *spec)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	ig_spec_pack(&pk, spec);
}

/* A seed for a shuffled run that has none, recorded in its spec so that a
 * resumed run shuffles the same way. */
int64_t
fresh_seed(void)
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
int
start_engine(struct run *run, int64_t max_epochs, ig_err *err)
{
	ig_run_args a = job_run_args(run->job);
	ig_engine *e = job_engine(run->job);
	double now = (double)uv_now(run->mgr->loop) / 1e3;

	if (max_epochs != IG_NONE)
		a.max_epochs = max_epochs;
	if (ig_engine_start(e, job_data(run->job), &a) != 0)
		return ig_err_set(
		    err, IG_PROTO_INVALID_PARAMS, "%s", ig_engine_error(e));
	run->ckpt_iteration = run->rate_iteration =
	    ig_engine_state(e)->iteration;
	run->ckpt_time = run->rate_time = now;
	run->rate = 0;
	/* a worker restarted during a shutdown stops with the others */
	run->suspend = run->mgr->stopping ? SUSPEND_SHUTDOWN : SUSPEND_NONE;
	return 0;
}

static void
clear_last_metrics(struct run *run)
{
	for (size_t i = 0; i < run->nlast; i++)
		free(run->last_metrics[i].name);
	free(run->last_metrics);
	run->last_metrics = NULL;
	run->nlast = 0;
}

/* Keep a metric value for a run that no longer has a job. */
static void
keep_metric(struct run *run, const char *name, double value)
{
	ig_named_value *v =
	    realloc(run->last_metrics, (run->nlast + 1) * sizeof(*v));

	if (v == NULL)
		return;
	run->last_metrics = v;
	if ((v[run->nlast].name = strdup(name)) != NULL)
		v[run->nlast++].value = value;
}

/* What status shows of a run once its job is gone. */
void
snapshot(struct run *run)
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

void
run_summary(struct run *run, ig_summary *s)
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
	queue_summary(run, s);
	remote_summary(run, s);
	/* as it is now; watchers hear of it less often (record.c) */
	s->throttled = run->throttled && run->status == IG_STATUS_RUNNING ?
	    (char *)"store" :
	    NULL;
	if (run->spec != NULL) {
		s->tags = run->spec->tags;
		s->ntags = run->spec->ntags;
	}
	if (!live(run)) {
		s->epoch = run->last.epoch;
		s->iteration = run->last.iteration;
		s->max_epochs = run->last.max_epochs;
		s->epoch_length = run->last.epoch_length;
		if (run->nlast > 0 &&
		    (s->metrics = calloc(run->nlast, sizeof(*s->metrics))) !=
		        NULL) {
			memcpy(s->metrics, run->last_metrics,
			    run->nlast * sizeof(*s->metrics));
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
			s->metrics[i].name = (char *)ig_engine_metric_at(
			    e, i, &s->metrics[i].value);
		s->nmetrics = n;
	}
}

/* The last value of each of a stored run's series. */
void
load_last_metrics(struct run *run)
{
	struct store_query q = {
		.run_id = run->id,
		.axis = STORE_AXIS_ITERATION,
		.from = INT64_MIN,
		.to = INT64_MAX,
		.max_points = 1,
		.downsample = STORE_DS_LAST,
	};
	struct store_series_data *d;
	size_t n;

	if (store_history(store_loop_reader(run->mgr->store), &q, &d, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (d[i].n > 0)
			keep_metric(run, d[i].name, d[i].value[d[i].n - 1]);
	store_series_free(d, n);
}

void
run_summary_clear_metrics(ig_summary *s)
{
	free(s->metrics);
	s->metrics = NULL;
	s->nmetrics = 0;
}

/* Load a checkpoint into a run's fresh job; the store forgets what the
 * lost run wrote past it. */
int
load_checkpoint(struct run *run, const struct store_checkpoint *c,
    const void *file_bytes, size_t file_len, ig_err *err)
{
	if (c->file != NULL &&
	    job_set_checkpoint_file(
	        run->job, c->file, file_bytes, file_len, err) != 0)
		return err->code;
	if (restore_checkpoint(run, c, err) != 0)
		return err->code;
	store_truncate(run->mgr->store, run->id, c->iteration, NULL, NULL);
	return 0;
}

/* A checkpoint's engine state, data cursor and job state into the run's
 * fresh job (its file, if any, is the caller's to give the job). */
int
restore_checkpoint(
    struct run *run, const struct store_checkpoint *c, ig_err *err)
{
	ig_engine *e = job_engine(run->job);

	if (load_state_dict(run, c->state_dict, c->state_dict_len, err) != 0)
		return ig_err_set(err, IG_PROTO_INTERNAL, "checkpoint %lld: %s",
		    (long long)c->seq, err->message);
	ig_data_cursor cur = { c->data_pass, c->data_pos };
	if (ig_engine_set_data_cursor(e, &cur) != 0 ||
	    job_load(run->job, c->process_state, c->process_state_len, err) !=
	        0) {
		if (err->code == 0)
			ig_err_set(
			    err, IG_PROTO_INTERNAL, "%s", ig_engine_error(e));
		return err->code;
	}
	run->ckpt_iteration = c->iteration;
	return 0;
}

/* Ignite's load_state_dict from msgpack bytes into the run's engine. */
int
load_state_dict(struct run *run, const void *buf, size_t len, ig_err *err)
{
	ig_engine *e = job_engine(run->job);
	msgpack_unpacked u;
	ig_state_dict d;
	char msg[256];
	int rc;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, buf, len, NULL) != MSGPACK_UNPACK_SUCCESS)
		rc = ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "state_dict: not one msgpack object");
	else if (ig_state_dict_unpack(&u.data, &d, msg, sizeof(msg)) != 0)
		rc = ig_err_set(err, IG_PROTO_INVALID_PARAMS, "%s", msg);
	else {
		rc = ig_engine_load_state_dict(e, &d);
		ig_state_dict_clear(&d);
		if (rc != 0)
			rc = ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "state_dict: %s", ig_engine_error(e));
	}
	msgpack_unpacked_destroy(&u);
	return rc;
}

int
spec_from_bytes(const void *buf, size_t len, ig_spec **spec, ig_err *err)
{
	msgpack_unpacked u;
	int rc;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, buf, len, NULL) != MSGPACK_UNPACK_SUCCESS)
		rc = ig_err_set(
		    err, IG_PROTO_INTERNAL, "the stored spec is not msgpack");
	else
		rc = ig_spec_read(&u.data, spec, err);
	msgpack_unpacked_destroy(&u);
	return rc;
}
