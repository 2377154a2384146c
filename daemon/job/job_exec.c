/*
 * job_exec.c - the exec engine: an external worker process as the job's
 * process function, behind the same ig_plugin interface the builtins and
 * plugins use, so that checkpoints (job_state.c) and events
 * (job_plugin_events) need nothing of their own.
 *
 *   - The worker is started at the trainer's STARTED, sent setup with the
 *     state job_load handed over (nil on a fresh start), and told of
 *     STARTED, EPOCH_STARTED, EPOCH_COMPLETED and COMPLETED.  These
 *     requests are pipelined: nothing waits for their answers.
 *   - Each iteration sends process and returns IG_PROCESS_PENDING; the
 *     answer completes the engine (ig_engine_complete) and wakes the run.
 *   - A checkpoint asks for state_dict (job_exec_request_state) and the
 *     run waits at that clean point for the answer; the loop goes on.
 *   - A worker that fails (exits, hangs, garbage) fails the pending
 *     iteration, or the next one, with the reason; job_worker_lost()
 *     then tells the run manager it may restart the run from a checkpoint.
 *
 * Ownership: struct job_exec is the plugin instance (job->self), freed by
 * exec_destroy with the job; it owns the worker, its argv, env and cwd
 * copies, the packed params, the state to hand over and the last output.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job/job_int.h"
#include "launch/launch.h"
#include "worker/worker.h"

#define TIMEOUT_DEFAULT_MS 30000
#define SETUP_TIMEOUT_MIN_MS 60000 /* imports (torch) take a while */
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

struct job_exec {
	struct job *job;
	ig_strv argv; /* copied from the spec */
	char **env; /* NULL-terminated, owned strings */
	char *cwd;
	bool setid;
	/* its placement's; without spawn, placed on a cluster: the worker
	 * dials back (worker_remote), the run manager launches it */
	const struct launcher *launcher;
	bool remote;
	uid_t uid;
	gid_t gid;
	uint64_t timeout_ms;
	int64_t rlimits[IG_RLIMIT_COUNT]; /* the spec's, IG_NONE: inherited */
	msgpack_sbuffer params; /* the spec's params, packed */

	struct worker *w; /* NULL until STARTED */
	char *state; /* for setup: from job_load */
	size_t state_len;
	bool have_state;
	char *ckpt_file; /* for setup: the checkpoint file resumed from */
	char *lost; /* why the worker failed, or NULL */
	uint32_t events; /* events it asked for (1 << IG_EVENT_*) */
	job_state_fn *state_fn; /* a state_dict request is out: its asker */
	void *state_arg;

	bool pending; /* a process request is out */
	ig_worker_output wout; /* the last answer, owned */
	ig_field *fields; /* views of wout for the metrics */
	size_t fields_cap;
	ig_output out;
};

static void state_done(struct job_exec *x, const void *buf, size_t len,
    bool saved, const char *err);

/* ---- building ------------------------------------------------------------ */

void
job_env_free(char **env)
{
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

static bool
spec_sets(const ig_strv *sv, const char *entry)
{
	size_t k = strcspn(entry, "=");

	for (size_t i = 0; i < sv->n; i++)
		if (strncmp(sv->v[i], entry, k + 1) == 0)
			return true;
	return false;
}

char **
job_env(const ig_strv *spec_env, const struct passwd *pw)
{
	const char *path = getenv("PATH");
	char base[4][1024];
	size_t n = 0, nbase = 0;
	char **env = calloc(4 + spec_env->n + 1, sizeof(*env));

	if (env == NULL)
		return NULL;
	snprintf(base[nbase++], sizeof(base[0]), "PATH=%s",
	    path != NULL ? path : DEFAULT_PATH);
	if (pw != NULL) {
		snprintf(base[nbase++], sizeof(base[0]), "HOME=%s", pw->pw_dir);
		snprintf(
		    base[nbase++], sizeof(base[0]), "USER=%s", pw->pw_name);
		snprintf(
		    base[nbase++], sizeof(base[0]), "LOGNAME=%s", pw->pw_name);
	}
	for (size_t i = 0; i < nbase; i++)
		if (!spec_sets(spec_env, base[i]) &&
		    (env[n++] = strdup(base[i])) == NULL)
			goto oom;
	for (size_t i = 0; i < spec_env->n; i++)
		if ((env[n++] = strdup(spec_env->v[i])) == NULL)
			goto oom;
	return env;
oom:
	job_env_free(env);
	return NULL;
}

int
job_argv_copy(ig_strv *dst, const ig_strv *src)
{
	if ((dst->v = calloc(src->n + 1, sizeof(*dst->v))) == NULL)
		return -1;
	for (dst->n = 0; dst->n < src->n; dst->n++)
		if ((dst->v[dst->n] = strdup(src->v[dst->n])) == NULL)
			return -1;
	return 0;
}

static void
exec_destroy(void *self)
{
	struct job_exec *x = self;

	if (x == NULL)
		return;
	worker_free(x->w);
	ig_strv_free(&x->argv);
	job_env_free(x->env);
	free(x->cwd);
	msgpack_sbuffer_destroy(&x->params);
	free(x->state);
	free(x->ckpt_file);
	free(x->lost);
	ig_worker_output_clear(&x->wout);
	free(x->fields);
	free(x);
}

int
job_exec_create(struct job *job, const ig_spec *spec, uid_t owner, ig_err *err)
{
	struct job_exec *x = calloc(1, sizeof(*x));
	struct passwd pwbuf, *pw = NULL;
	char buf[4096];
	msgpack_packer pk;

	if (x == NULL)
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "engine: out of memory");
	x->job = job;
	msgpack_sbuffer_init(&x->params);
	msgpack_packer_init(&pk, &x->params, msgpack_sbuffer_write);
	ig_spec_params_pack(&pk, spec);
	getpwuid_r(owner, &pwbuf, buf, sizeof(buf), &pw);
	/* as root, the worker runs as the run's owner, never as root for
	 * someone else; as anyone else the daemon cannot change uid */
	x->setid = geteuid() == 0 && owner != 0;
	if (x->setid && pw == NULL) {
		exec_destroy(x);
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "engine: uid %lu has no passwd "
		    "entry, so its worker's group is unknown",
		    (unsigned long)owner);
	}
	x->uid = owner;
	x->gid = pw != NULL ? pw->pw_gid : getegid();
	x->launcher = launch_for(spec);
	x->remote = x->launcher->spawn == NULL;
	x->timeout_ms = spec->worker.timeout_ms != IG_NONE ?
	    (uint64_t)spec->worker.timeout_ms :
	    TIMEOUT_DEFAULT_MS;
	memcpy(x->rlimits, spec->worker.rlimits, sizeof(x->rlimits));
	if (job_argv_copy(&x->argv, &spec->engine.argv) != 0 ||
	    (x->env = job_env(&spec->worker.env, pw)) == NULL ||
	    (x->cwd = strdup(
	         spec->worker.cwd != NULL ? spec->worker.cwd : "/")) == NULL) {
		exec_destroy(x);
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "engine: out of memory");
	}
	job->self = x;
	return 0;
}

/* ---- failures -------------------------------------------------------------- */

/* The worker cannot go on: fail the pending iteration now, or the next. */
static void
lose(struct job_exec *x, const char *reason)
{
	struct job *job = x->job;

	if (x->lost == NULL)
		x->lost = strdup(reason);
	state_done(x, NULL, 0, false, x->lost != NULL ? x->lost : reason);
	if (!x->pending)
		return;
	x->pending = false;
	ig_engine_complete(
	    job->trainer, NULL, x->lost != NULL ? x->lost : reason);
	job->hooks.wake(job->hooks.ud);
}

static void
on_fail(void *ud, const char *reason)
{
	lose(ud, reason);
}

static void
on_log(void *ud, const char *line)
{
	struct job_exec *x = ud;

	x->job->hooks.log(x->job->hooks.ud, line);
}

/* An error answer to setup or event: the worker's code failed. */
static void
lose_msg(struct job_exec *x, const char *what, const ig_msg *msg)
{
	char reason[IG_ERR_MAX * 2];

	snprintf(reason, sizeof(reason), "the worker's %s failed: %s", what,
	    msg->error_message != NULL ? msg->error_message : "no message");
	/* the process is fine but out of step with the run: stop it */
	worker_free(x->w);
	x->w = NULL;
	lose(x, reason);
}

/* ---- setup and events ------------------------------------------------------ */

struct setup_args {
	struct job_exec *x;
	const ig_state *s;
};

static void
pack_setup(msgpack_packer *pk, void *arg)
{
	struct setup_args *a = arg;
	struct job_exec *x = a->x;
	struct job *job = x->job;

	msgpack_pack_map(pk, 7);
	ig_pack_str(pk, "run");
	msgpack_pack_int64(pk, job->hooks.run_id(job->hooks.ud));
	ig_pack_str(pk, "params");
	/* packed once at create; appended as they are */
	pk->callback(pk->data, x->params.data, x->params.size);
	ig_pack_str(pk, "state");
	if (x->have_state) {
		msgpack_pack_bin(pk, x->state_len);
		msgpack_pack_bin_body(pk, x->state, x->state_len);
	} else {
		msgpack_pack_nil(pk);
	}
	ig_pack_str(pk, "checkpoint");
	if (x->ckpt_file != NULL)
		ig_pack_str(pk, x->ckpt_file);
	else
		msgpack_pack_nil(pk);
	ig_pack_str(pk, "seed");
	ig_pack_opt_int(pk, job->args.seed);
	ig_pack_str(pk, "epoch_length");
	ig_pack_opt_int(pk, a->s->epoch_length);
	ig_pack_str(pk, "max_epochs");
	ig_pack_opt_int(pk, a->s->max_epochs);
}

/* The events a worker is told of; setup's answer may narrow them. */
#define EXEC_EVENTS \
	(1u << IG_EVENT_STARTED | 1u << IG_EVENT_EPOCH_STARTED | \
	    1u << IG_EVENT_EPOCH_COMPLETED | 1u << IG_EVENT_COMPLETED)

/*
 * setup's answer {events: [name...]} lists the events the worker wants
 * (PROTOCOL.md, worker protocol); without the key it gets all of them.
 * The answer comes after the run's STARTED was sent, so STARTED always is.
 */
static void
on_setup(void *arg, const ig_msg *msg)
{
	struct job_exec *x = arg;
	const msgpack_object *ev =
	    msg->error_code == 0 ? ig_map_get(msg->result, "events") : NULL;

	if (msg->error_code != 0) {
		lose_msg(x, "setup", msg);
		return;
	}
	if (ev == NULL)
		return;
	if (ev->type != MSGPACK_OBJECT_ARRAY) {
		lose(x,
		    "the worker's setup answer: events must be an array of event names");
		return;
	}
	x->events = 0;
	for (uint32_t i = 0; i < ev->via.array.size; i++) {
		const msgpack_object *n = &ev->via.array.ptr[i];
		char name[32];
		int id;
		if (n->type != MSGPACK_OBJECT_STR ||
		    n->via.str.size >= sizeof(name)) {
			lose(x,
			    "the worker's setup answer: events must be an array of event names");
			return;
		}
		snprintf(name, sizeof(name), "%.*s", (int)n->via.str.size,
		    n->via.str.ptr);
		if ((id = ig_event_from_name(NULL, name)) < 0 ||
		    !(EXEC_EVENTS & (1u << id))) {
			char reason[192];
			snprintf(reason, sizeof(reason),
			    "the worker's setup answer: it cannot be "
			    "told of %s (only STARTED, EPOCH_STARTED, EPOCH_COMPLETED, COMPLETED)",
			    name);
			lose(x, reason);
			return;
		}
		x->events |= 1u << id;
	}
}

static int
start_worker(struct job_exec *x, const ig_state *s, char *err, size_t errlen)
{
	struct launch_req req = {
		.argv = x->argv.v,
		.env = x->env,
		.cwd = x->cwd,
		.setid = x->setid,
		.uid = x->uid,
		.gid = x->gid,
		.rlimits = x->rlimits,
		.gpus = x->job->gpus,
		.cpus = x->job->cpus,
	};
	struct worker_cb cb = { on_log, on_fail, x };
	struct setup_args a = { x, s };
	uint64_t setup_ms = x->timeout_ms > SETUP_TIMEOUT_MIN_MS ?
	    x->timeout_ms :
	    SETUP_TIMEOUT_MIN_MS;
	ig_err e = { 0 };

	x->events = EXEC_EVENTS; /* until its setup answer says */
	if ((x->remote ?
	            worker_remote(x->job->loop, x->timeout_ms, &cb, &x->w, &e) :
	            worker_start(x->job->loop, x->launcher, &req, x->timeout_ms,
	                &cb, &x->w, &e)) != 0 ||
	    worker_request(x->w, "setup", setup_ms, pack_setup, &a, on_setup, x,
	        &e) != 0) {
		snprintf(err, errlen, "%s", e.message);
		return -1;
	}
	/* the run manager has it launched; it connects when it runs */
	if (x->remote && x->job->hooks.want_worker != NULL)
		x->job->hooks.want_worker(x->job->hooks.ud);
	/* handed over: a later checkpoint asks the worker */
	free(x->state);
	x->state = NULL;
	x->have_state = false;
	free(x->ckpt_file);
	x->ckpt_file = NULL;
	return 0;
}

struct event_args {
	const char *name;
	const ig_state *s;
};

static void
pack_event(msgpack_packer *pk, void *arg)
{
	struct event_args *a = arg;

	msgpack_pack_map(pk, 3);
	ig_pack_str(pk, "name");
	ig_pack_str(pk, a->name);
	ig_pack_str(pk, "epoch");
	msgpack_pack_int64(pk, a->s->epoch);
	ig_pack_str(pk, "iteration");
	msgpack_pack_int64(pk, a->s->iteration);
}

static void
on_event_reply(void *arg, const ig_msg *msg)
{
	/* a worker that does not care for events says UNKNOWN_METHOD */
	if (msg->error_code != 0 && msg->error_code != IG_PROTO_UNKNOWN_METHOD)
		lose_msg(arg, "event handler", msg);
}

static const char *
event_name(int event)
{
	switch (event) {
	case IG_EVENT_STARTED:
		return "STARTED";
	case IG_EVENT_EPOCH_STARTED:
		return "EPOCH_STARTED";
	case IG_EVENT_EPOCH_COMPLETED:
		return "EPOCH_COMPLETED";
	default:
		return "COMPLETED";
	}
}

static int
exec_on_event(
    void *self, int event, const ig_state *s, char *err, size_t errlen)
{
	struct job_exec *x = self;
	struct event_args a = { event_name(event), s };
	ig_err e = { 0 };

	if (x->lost != NULL) {
		snprintf(err, errlen, "%s", x->lost);
		return -1;
	}
	if (x->w == NULL && start_worker(x, s, err, errlen) != 0)
		return -1;
	if (!(x->events & (1u << event)))
		return 0;
	if (worker_request(
	        x->w, "event", 0, pack_event, &a, on_event_reply, x, &e) != 0) {
		snprintf(err, errlen, "%s", e.message);
		return -1;
	}
	return 0;
}

/* ---- process ------------------------------------------------------------- */

struct process_args {
	const ig_state *s;
	const ig_batch *batch;
	int rc;
	ig_err err;
};

static void
pack_process(msgpack_packer *pk, void *arg)
{
	struct process_args *a = arg;
	const ig_batch *b = a->batch;

	msgpack_pack_map(pk, 3);
	ig_pack_str(pk, "epoch");
	msgpack_pack_int64(pk, a->s->epoch);
	ig_pack_str(pk, "iteration");
	msgpack_pack_int64(pk, a->s->iteration);
	ig_pack_str(pk, "batch");
	if (b == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	ig_wbatch wb = { b->index, b->rows, b->cols, b->x, b->y, b->raw,
		b->raw_len };
	a->rc = ig_wbatch_pack(pk, &wb, &a->err);
}

/* The answer as an ig_output the metrics read; its metrics into state.
 * The views are kept from one answer to the next: no allocation an
 * iteration unless an answer has more fields than any before. */
static int
take_output(struct job_exec *x, const msgpack_object *result, ig_err *err)
{
	ig_worker_output o;
	int rc;

	if ((rc = ig_worker_output_unpack(result, &o, err)) != 0)
		return rc;
	if (o.nfields > x->fields_cap) {
		ig_field *f = realloc(x->fields, o.nfields * sizeof(*f));
		if (f == NULL) {
			ig_worker_output_clear(&o);
			return ig_err_set(
			    err, IG_PROTO_INTERNAL, "out of memory");
		}
		x->out.fields = x->fields = f;
		x->fields_cap = o.nfields;
	}
	/* metric values the worker reports itself: in state.metrics, and
	 * in the history at this iteration */
	const ig_state *st = ig_engine_state(x->job->trainer);
	for (size_t i = 0; i < o.nmetrics; i++) {
		if (!job_metric_admit(x->job, o.metrics[i].name))
			continue;
		if (ig_engine_set_metric(x->job->trainer, o.metrics[i].name,
		        o.metrics[i].value) != 0) {
			ig_worker_output_clear(&o);
			return ig_err_set(err, IG_PROTO_INTERNAL,
			    "metrics.%s: %s", o.metrics[i].name,
			    ig_engine_error(x->job->trainer));
		}
		x->job->hooks.point(x->job->hooks.ud, o.metrics[i].name,
		    st->epoch, st->iteration, o.metrics[i].value);
	}
	ig_worker_output_clear(&x->wout);
	x->wout = o;
	for (size_t i = 0; i < o.nfields; i++)
		x->fields[i] = (ig_field){ o.fields[i].name, o.fields[i].value,
			o.fields[i].data, o.fields[i].len, o.fields[i].cols };
	x->out = (ig_output){ x->fields, o.nfields };
	return 0;
}

static void
on_process(void *arg, const ig_msg *msg)
{
	struct job_exec *x = arg;
	struct job *job = x->job;
	char reason[IG_ERR_MAX * 2];
	ig_err err = { 0 };

	x->pending = false;
	if (msg->error_code != 0)
		snprintf(reason, sizeof(reason),
		    "the worker's process failed: %s",
		    msg->error_message != NULL ? msg->error_message :
		                                 "no message");
	else if (take_output(x, msg->result, &err) != 0)
		snprintf(reason, sizeof(reason),
		    "the worker's answer to process: %s", err.message);
	else
		reason[0] = '\0';
	ig_engine_complete(job->trainer, reason[0] == '\0' ? &x->out : NULL,
	    reason[0] == '\0' ? NULL : reason);
	job->hooks.wake(job->hooks.ud);
}

int
job_exec_process(struct job *job, ig_engine *e, const ig_batch *batch)
{
	struct job_exec *x = job->self;
	struct process_args a = { ig_engine_state(e), batch, 0, { 0 } };
	ig_err err = { 0 };

	if (x->lost != NULL)
		return ig_engine_raise(e, "%s", x->lost);
	if (worker_request(
	        x->w, "process", 0, pack_process, &a, on_process, x, &err) != 0)
		return ig_engine_raise(
		    e, "%s", a.rc != 0 ? a.err.message : err.message);
	x->pending = true;
	return IG_PROCESS_PENDING;
}

bool
job_worker_lost(const struct job *job)
{
	const struct job_exec *x = job->self;

	return job->plugin == &job_exec_plugin && x != NULL && x->lost != NULL;
}

/* ---- a remote worker --------------------------------------------------------- */

struct worker *
job_remote_worker(struct job *job)
{
	struct job_exec *x = job->self;

	if (job->plugin != &job_exec_plugin || x == NULL || !x->remote ||
	    x->w == NULL || x->lost != NULL || worker_failed(x->w) ||
	    worker_attached(x->w))
		return NULL;
	return x->w;
}

bool
job_remote_connected(const struct job *job)
{
	const struct job_exec *x = job->self;

	return job->plugin == &job_exec_plugin && x != NULL && x->remote &&
	    x->w != NULL && x->lost == NULL && !worker_failed(x->w) &&
	    worker_attached(x->w);
}

void
job_remote_leave(struct job *job)
{
	struct job_exec *x = job->self;

	if (job->plugin == &job_exec_plugin && x != NULL && x->remote &&
	    x->w != NULL)
		worker_leave(x->w);
}

void
job_remote_fail(struct job *job, const char *reason)
{
	struct worker *w = job_remote_worker(job);

	if (w != NULL)
		worker_fail(w, reason);
}

/* ---- state --------------------------------------------------------------- */

/* The state request's answer to its asker, once. */
static void
state_done(struct job_exec *x, const void *buf, size_t len, bool saved,
    const char *err)
{
	job_state_fn *fn = x->state_fn;

	x->state_fn = NULL;
	if (fn != NULL)
		fn(x->state_arg, buf, len, saved, err);
}

/* {saved: true}: the worker wrote the file it was given; {state: bin}:
 * the daemon writes it (PROTOCOL.md, the worker protocol). */
static void
on_state(void *arg, const ig_msg *msg)
{
	struct job_exec *x = arg;
	const msgpack_object *st = ig_map_get(msg->result, "state");
	const msgpack_object *sv = ig_map_get(msg->result, "saved");
	char reason[IG_ERR_MAX * 2];

	if (msg->error_code != 0) {
		snprintf(reason, sizeof(reason),
		    "the worker's state_dict failed: %s",
		    msg->error_message != NULL ? msg->error_message :
		                                 "no message");
		state_done(x, NULL, 0, false, reason);
	} else if (sv != NULL && sv->type == MSGPACK_OBJECT_BOOLEAN &&
	    sv->via.boolean && st == NULL) {
		state_done(x, NULL, 0, true, NULL);
	} else if (sv != NULL || st == NULL ||
	    (st->type != MSGPACK_OBJECT_BIN &&
	        st->type != MSGPACK_OBJECT_NIL)) {
		state_done(x, NULL, 0, false,
		    "the worker's state_dict answer: expected {saved: true} "
		    "or {state: bin}");
	} else if (st->type == MSGPACK_OBJECT_NIL) {
		state_done(x, "", 0, false, NULL);
	} else {
		state_done(x, st->via.bin.ptr, st->via.bin.size, false, NULL);
	}
}

static void
pack_path(msgpack_packer *pk, void *arg)
{
	msgpack_pack_map(pk, 1);
	ig_pack_str(pk, "path");
	ig_pack_str(pk, arg);
}

bool
job_exec_state_async(const struct job *job)
{
	const struct job_exec *x = job->self;

	return x->w != NULL && x->lost == NULL;
}

int
job_exec_request_state(
    struct job *job, const char *path, job_state_fn *fn, void *arg, ig_err *err)
{
	struct job_exec *x = job->self;

	if (x->state_fn != NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "checkpoint: the worker's state is "
		    "already being asked for");
	if (worker_request(x->w, "state_dict", 0, pack_path, (void *)path,
	        on_state, x, err) != 0)
		return err->code;
	x->state_fn = fn;
	x->state_arg = arg;
	return 0;
}

/* What the worker was given and has not started with, or why it is lost;
 * a running worker is asked with job_exec_request_state instead. */
static int
exec_state_dict(void *self, void **buf, size_t *len, char *err, size_t errlen)
{
	struct job_exec *x = self;

	*buf = NULL;
	*len = 0;
	if (x->lost != NULL || x->w != NULL) {
		snprintf(err, errlen, "%s",
		    x->lost != NULL ?
		        x->lost :
		        "the worker's state is asked for asynchronously");
		return -1;
	}
	/* too large to hold: the checkpoint it came from stands */
	if (x->ckpt_file != NULL && !x->have_state) {
		snprintf(err, errlen, "the worker has not started from %s yet",
		    x->ckpt_file);
		return -1;
	}
	if (x->state_len > 0 && (*buf = malloc(x->state_len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (x->state_len > 0)
		memcpy(*buf, x->state, x->state_len);
	*len = x->state_len;
	return 0;
}

/* Kept for setup: the worker itself checks what it is given. */
static int
exec_load_state_dict(
    void *self, const void *buf, size_t len, char *err, size_t errlen)
{
	struct job_exec *x = self;
	char *copy = len > 0 ? malloc(len) : NULL;

	if (len > 0 && copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (len > 0)
		memcpy(copy, buf, len);
	free(x->state);
	x->state = copy;
	x->state_len = len;
	x->have_state = true;
	return 0;
}

int
job_exec_set_checkpoint_file(struct job *job, const char *path,
    const void *bytes, size_t len, ig_err *err)
{
	struct job_exec *x = job->self;

	free(x->ckpt_file);
	if ((x->ckpt_file = strdup(path)) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	if (bytes != NULL) {
		char msg[64];
		if (exec_load_state_dict(x, bytes, len, msg, sizeof(msg)) != 0)
			return ig_err_set(err, IG_PROTO_INTERNAL, "%s", msg);
	}
	return 0;
}

/* process is job_exec_process, called by the trainer's process function; create is
 * job_exec_create.  Neither fits the in-process signatures. */
const ig_plugin job_exec_plugin = {
	.abi_version = IG_PLUGIN_ABI_VERSION,
	.name = "exec",
	.state_dict = exec_state_dict,
	.load_state_dict = exec_load_state_dict,
	.destroy = exec_destroy,
	.on_event = exec_on_event,
	.event_mask = EXEC_EVENTS,
};
