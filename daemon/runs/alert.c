/*
 * alert.c - a spec's notify entries: a command run as the run's owner
 * when the run completes, fails, is terminated or paused, or one of its
 * metrics first turns NaN (PROTOCOL.md, "notify").
 *
 * At most once an event: each entry's event is recorded in the store's
 * events (kind "notify", detail "notify[I] EVENT", at the run's iteration;
 * nan at iteration 0, once a run) and the command starts only once that
 * has committed.  An event already recorded is not fired again, so a
 * daemon that restarts, even after a crash, does not repeat one; a crash
 * between the record and the start loses the alert rather than repeat it.
 * A resumed run that pauses or ends again at a later iteration fires
 * again: that is a new event.
 *
 * Nothing waits on the loop: the owner's user database entry is read on
 * the threadpool, and the command is started through ignited
 * --exec-worker (exec_worker.h), as the owner, in the worker's cwd (or /),
 * with the environment of an exec worker and the run's IGNITE_RUN_*,
 * stdin /dev/null and stdout and stderr one pipe read into the run's log
 * (at most OUTPUT_MAX bytes).  It is a process group of its own, killed
 * (SIGKILL) whole at its timeout.
 */
#include <pwd.h>
#include <signal.h>

#include "runs/runs_int.h"
#include "worker/exec_worker.h"

#define OUTPUT_MAX (64 * 1024) /* bytes of output kept in the run's log */
#define LINE_MAX_LEN 512 /* a longer line is split: run_log takes 767 */
#define VALUE_MAX (32 * 1024) /* IGNITE_RUN_METRICS; _JSON holds twice */

struct alert {
	struct runs *mgr; /* NULL once the manager has closed */
	struct alert *next; /* in mgr->alerts */
	int64_t run_id;
	uid_t owner;
	size_t index; /* its entry in the spec's notify */
	int event; /* enum ig_notify_on */
	ig_strv argv, vars; /* the command; its IGNITE_RUN_* */
	char *cwd;
	uint64_t timeout_ms;

	/* the owner's entry, read on the threadpool */
	uv_work_t work;
	bool working;
	char **env;
	bool setid;
	gid_t gid;
	char why[160]; /* why it cannot start, or "" */

	/* the process: three handles once spawned */
	uv_process_t proc;
	uv_pipe_t out; /* its stdout and stderr */
	uv_timer_t timer;
	int open;
	bool exited, timed_out;
	size_t taken, dropped; /* bytes of output logged, and past OUTPUT_MAX */
	char line[LINE_MAX_LEN + 1];
	size_t linelen;
	char rbuf[4096];
};

/* ---- a string being built ----------------------------------------------- */

struct text {
	char *p;
	size_t len, cap;
	bool full; /* past its cap or out of memory: it is not used */
};

static void __attribute__((format(printf, 2, 3)))
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len)
		t->full = true;
	else
		t->len += (size_t)n;
}

/* s as a JSON string, or null. */
static void
text_json_str(struct text *t, const char *s)
{
	if (s == NULL) {
		text_add(t, "null");
		return;
	}
	text_add(t, "\"");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			text_add(t, "\\%c", c);
		else if (c < 0x20)
			text_add(t, "\\u%04x", c);
		else
			text_add(t, "%c", c);
	}
	text_add(t, "\"");
}

/* ---- what the command is told ------------------------------------------- */

/* {"name": value, ...}: non-finite values as null, which JSON has for
 * them.  Metrics past VALUE_MAX are left out: the object stays whole. */
static void
metrics_json(struct text *t, const ig_summary *s)
{
	text_add(t, "{");
	for (size_t i = 0; i < s->nmetrics && !t->full; i++) {
		size_t before = t->len;

		text_add(t, "%s", i > 0 ? "," : "");
		text_json_str(t, s->metrics[i].name);
		if (isfinite(s->metrics[i].value))
			text_add(t, ":%.17g", s->metrics[i].value);
		else
			text_add(t, ":null");
		if (t->full || t->len + 2 > t->cap) {
			t->len = before;
			t->full = false;
			break;
		}
	}
	text_add(t, "}");
}

static int
add_var(ig_strv *v, const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 2;

	if ((v->v[v->n] = malloc(n)) == NULL)
		return -1;
	snprintf(v->v[v->n++], n, "%s=%s", name, value);
	return 0;
}

/* IGNITE_RUN_ID, _NAME, _OWNER, _EVENT, _STATUS, _REASON, _EPOCH,
 * _ITERATION, _METRICS (a JSON object) and _JSON (all of it as one JSON
 * object, for a webhook's body). */
static int
make_vars(struct run *run, int event, const char *reason, ig_strv *v)
{
	char num[4][24], *metrics = malloc(VALUE_MAX),
	                 *json = malloc(2 * VALUE_MAX);
	struct text m = { metrics, 0, VALUE_MAX, metrics == NULL };
	struct text j = { json, 0, 2 * VALUE_MAX, json == NULL };
	const char *status;
	ig_summary s;
	int rc = -1;

	run_summary(run, &s);
	status = ig_status_name(s.status);
	metrics_json(&m, &s);
	snprintf(num[0], sizeof(num[0]), "%lld", (long long)run->id);
	snprintf(num[1], sizeof(num[1]), "%lu", (unsigned long)run->owner);
	snprintf(num[2], sizeof(num[2]), "%lld", (long long)s.epoch);
	snprintf(num[3], sizeof(num[3]), "%lld", (long long)s.iteration);
	text_add(&j, "{\"id\":%s,\"name\":", num[0]);
	text_json_str(&j, s.name);
	text_add(&j, ",\"owner\":%s,\"event\":\"%s\",\"status\":\"%s\",",
	    num[1], ig_notify_on_name(event), status);
	text_add(&j, "\"reason\":");
	text_json_str(&j, reason);
	text_add(&j, ",\"epoch\":%s,\"iteration\":%s,\"metrics\":%s}", num[2],
	    num[3], m.full ? "{}" : metrics);
	if (!m.full && !j.full && (v->v = calloc(11, sizeof(*v->v))) != NULL &&
	    add_var(v, "IGNITE_RUN_ID", num[0]) == 0 &&
	    add_var(v, "IGNITE_RUN_NAME", s.name != NULL ? s.name : "") == 0 &&
	    add_var(v, "IGNITE_RUN_OWNER", num[1]) == 0 &&
	    add_var(v, "IGNITE_RUN_EVENT", ig_notify_on_name(event)) == 0 &&
	    add_var(v, "IGNITE_RUN_STATUS", status) == 0 &&
	    add_var(v, "IGNITE_RUN_REASON", reason != NULL ? reason : "") ==
	        0 &&
	    add_var(v, "IGNITE_RUN_EPOCH", num[2]) == 0 &&
	    add_var(v, "IGNITE_RUN_ITERATION", num[3]) == 0 &&
	    add_var(v, "IGNITE_RUN_METRICS", metrics) == 0 &&
	    add_var(v, "IGNITE_RUN_JSON", json) == 0)
		rc = 0;
	run_summary_clear_metrics(&s);
	free(metrics);
	free(json);
	return rc;
}

/* ---- saying how it went -------------------------------------------------- */

/* A line to the run's log, or to the daemon's once the run is gone. */
static void __attribute__((format(printf, 3, 4)))
say(struct alert *a, enum log_level level, const char *fmt, ...)
{
	struct run *run = a->mgr != NULL ? runs_find(a->mgr, a->run_id) : NULL;
	char line[IG_ERR_MAX * 3];
	int n;
	va_list ap;

	n = snprintf(line, sizeof(line), "notify[%zu] %s: ", a->index,
	    ig_notify_on_name(a->event));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (run != NULL)
		run_log(run, level, "%s", line);
	else
		log_msg(level, a->run_id, "%s", line);
}

/* ---- its life ------------------------------------------------------------ */

static void
alert_free(struct alert *a)
{
	struct alert **p;

	if (a->mgr != NULL) {
		for (p = &a->mgr->alerts; *p != a; p = &(*p)->next)
			;
		*p = a->next;
	}
	ig_strv_free(&a->argv);
	ig_strv_free(&a->vars);
	job_env_free(a->env);
	free(a->cwd);
	free(a);
}

static void
on_closed(uv_handle_t *h)
{
	struct alert *a = h->data;

	if (--a->open == 0)
		alert_free(a);
}

static void
close_all(struct alert *a)
{
	uv_close((uv_handle_t *)&a->proc, on_closed);
	uv_close((uv_handle_t *)&a->out, on_closed);
	uv_close((uv_handle_t *)&a->timer, on_closed);
}

static void
flush_line(struct alert *a)
{
	a->line[a->linelen] = '\0';
	a->linelen = 0;
	say(a, LOG_INFO, "%s", a->line);
}

/* Output to the run's log a line at a time, OUTPUT_MAX bytes at most; the
 * rest is read and counted, so that the command never blocks on it. */
static void
take(struct alert *a, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a->taken == OUTPUT_MAX) {
			a->dropped += n - i;
			return;
		}
		a->taken++;
		if (p[i] != '\n')
			a->line[a->linelen++] = p[i];
		if (p[i] == '\n' || a->linelen == LINE_MAX_LEN)
			flush_line(a);
	}
}

static void
alloc_out(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct alert *a = h->data;

	(void)hint;
	*buf = uv_buf_init(a->rbuf, sizeof(a->rbuf));
}

static void
on_output(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct alert *a = s->data;

	if (n > 0)
		take(a, buf->base, (size_t)n);
	else if (n < 0)
		uv_read_stop(s);
}

/* Its exit: what is left in the pipe (a child it left may hold the pipe
 * open, so what is there now, no more), then how it ended. */
static void
on_exited(uv_process_t *p, int64_t status, int sig)
{
	struct alert *a = p->data;
	uv_os_fd_t fd;
	ssize_t n;

	a->exited = true;
	uv_timer_stop(&a->timer);
	if (uv_fileno((uv_handle_t *)&a->out, &fd) == 0)
		while ((n = read(fd, a->rbuf, sizeof(a->rbuf))) > 0)
			take(a, a->rbuf, (size_t)n);
	if (a->linelen > 0)
		flush_line(a);
	if (a->dropped > 0)
		say(a, LOG_WARN,
		    "%zu bytes of output past the first %d dropped", a->dropped,
		    OUTPUT_MAX);
	if (a->timed_out)
		say(a, LOG_WARN, "%s killed after %llu ms, its timeout",
		    a->argv.v[0], (unsigned long long)a->timeout_ms);
	else if (sig != 0)
		say(a, LOG_WARN, "%s was killed by signal %d (%s)",
		    a->argv.v[0], sig, strsignal(sig));
	else
		say(a, status == 0 ? LOG_INFO : LOG_WARN,
		    "%s exited with status %lld", a->argv.v[0],
		    (long long)status);
	close_all(a);
}

/* The whole group: what the command started goes with it. */
static void
on_timeout(uv_timer_t *t)
{
	struct alert *a = t->data;

	a->timed_out = true;
	if (!a->exited)
		kill(-a->proc.pid, SIGKILL);
}

static void
spawn(struct alert *a)
{
	int64_t inherited[IG_RLIMIT_COUNT];
	uv_process_options_t po = { 0 };
	uv_stdio_container_t stdio[3];
	uv_file fds[2];
	char **args;
	int rc = 0;

	for (int r = 0; r < IG_RLIMIT_COUNT; r++)
		inherited[r] = IG_NONE;
	args = exec_worker_argv(a->argv.v, a->cwd, inherited, NULL);
	if (args == NULL || (rc = uv_pipe(fds, UV_NONBLOCK_PIPE, 0)) != 0) {
		say(a, LOG_ERROR, "cannot start %s: %s", a->argv.v[0],
		    args == NULL ? "out of memory" : uv_strerror(rc));
		free(args);
		alert_free(a);
		return;
	}
	stdio[0] = (uv_stdio_container_t){ UV_IGNORE, { NULL } };
	stdio[1] = (uv_stdio_container_t){ UV_INHERIT_FD, { .fd = fds[1] } };
	stdio[2] = stdio[1];
	po.exit_cb = on_exited;
	po.file = EXEC_WORKER_SELF;
	po.args = args;
	po.env = a->env;
	po.stdio = stdio;
	po.stdio_count = 3;
	/* a group of its own, killed whole at the timeout */
	po.flags = UV_PROCESS_DETACHED;
	if (a->setid) {
		po.flags |= UV_PROCESS_SETUID | UV_PROCESS_SETGID;
		po.uid = a->owner;
		po.gid = a->gid;
	}
	a->open = 3;
	uv_pipe_init(a->mgr->loop, &a->out, 0);
	uv_pipe_open(&a->out, fds[0]);
	uv_timer_init(a->mgr->loop, &a->timer);
	a->proc.data = a->out.data = a->timer.data = a;
	rc = uv_spawn(a->mgr->loop, &a->proc, &po);
	close(fds[1]);
	free(args);
	if (rc != 0) {
		say(a, LOG_ERROR, "cannot start %s as uid %lu: %s",
		    a->argv.v[0], (unsigned long)a->owner, uv_strerror(rc));
		close_all(a);
		return;
	}
	say(a, LOG_INFO, "started %s (pid %d)", a->argv.v[0], a->proc.pid);
	uv_read_start((uv_stream_t *)&a->out, alloc_out, on_output);
	uv_timer_start(&a->timer, on_timeout, a->timeout_ms, 0);
}

/* On the threadpool: the user database may be a network away. */
static void
look_up_owner(uv_work_t *w)
{
	struct alert *a = w->data;
	struct passwd pwbuf, *pw = NULL;
	char buf[4096];

	getpwuid_r(a->owner, &pwbuf, buf, sizeof(buf), &pw);
	/* as root, as the run's owner, never as root for someone else */
	a->setid = geteuid() == 0 && a->owner != 0;
	a->gid = pw != NULL ? pw->pw_gid : getegid();
	if (a->setid && pw == NULL)
		snprintf(a->why, sizeof(a->why),
		    "uid %lu has no user database entry, so its group is "
		    "unknown",
		    (unsigned long)a->owner);
	else if ((a->env = job_env(&a->vars, pw)) == NULL)
		snprintf(a->why, sizeof(a->why), "out of memory");
}

static void
looked_up(uv_work_t *w, int status)
{
	struct alert *a = w->data;

	a->working = false;
	if (status != 0 || a->mgr == NULL || a->mgr->stopping)
		alert_free(a);
	else if (a->why[0] != '\0') {
		say(a, LOG_ERROR, "cannot start %s: %s", a->argv.v[0], a->why);
		alert_free(a);
	} else
		spawn(a);
}

/* The event is recorded: from now on it is not fired again. */
static void
on_recorded(void *arg, const ig_err *err)
{
	struct alert *a = arg;
	int rc;

	if (err != NULL || a->mgr == NULL || a->mgr->stopping) {
		if (a->mgr != NULL)
			say(a, LOG_WARN, "not run: %s",
			    err != NULL ? err->message :
			                  "the daemon is stopping");
		alert_free(a);
		return;
	}
	a->work.data = a;
	if ((rc = uv_queue_work(
	         a->mgr->loop, &a->work, look_up_owner, looked_up)) != 0) {
		say(a, LOG_ERROR, "not run: %s", uv_strerror(rc));
		alert_free(a);
		return;
	}
	a->working = true;
}

/* ---- firing --------------------------------------------------------------- */

/* Was this entry's event recorded at this iteration?  When the store
 * cannot say, it counts as fired: at most once. */
static bool
fired(struct run *run, const char *detail, int64_t iteration)
{
	struct store_event *ev;
	size_t n;
	bool found = false;

	if (store_events(store_loop_reader(run->mgr->store), run->id, 0, 0, &ev,
	        &n) != 0) {
		run_log(run, LOG_ERROR,
		    "%s: not run: cannot read whether it ran: %s", detail,
		    store_reader_error(store_loop_reader(run->mgr->store)));
		return true;
	}
	for (size_t i = 0; i < n && !found; i++)
		found = strcmp(ev[i].kind, "notify") == 0 &&
		    ev[i].detail != NULL && strcmp(ev[i].detail, detail) == 0 &&
		    ev[i].iteration == iteration;
	store_events_free(ev, n);
	return found;
}

/* Entry i's command for event, once its record commits. */
static void
fire_entry(struct run *run, size_t i, int event, const char *reason)
{
	const ig_spec_notify *n = &run->spec->notify[i];
	const ig_state *st =
	    live(run) ? ig_engine_state(job_engine(run->job)) : NULL;
	struct store_event ev = { .run_id = run->id, .kind = "notify" };
	char detail[64];
	struct alert *a;

	ev.epoch = st != NULL ? st->epoch : run->last.epoch;
	ev.iteration = event == IG_NOTIFY_NAN ? 0 :
	    st != NULL                        ? st->iteration :
	                                        run->last.iteration;
	snprintf(detail, sizeof(detail), "notify[%zu] %s", i,
	    ig_notify_on_name(event));
	ev.detail = detail;
	if (fired(run, detail, ev.iteration))
		return;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		run_log(run, LOG_ERROR, "%s: not run: out of memory", detail);
		return;
	}
	*a = (struct alert){ .mgr = run->mgr,
		.run_id = run->id,
		.owner = run->owner,
		.index = i,
		.event = event,
		.timeout_ms = n->timeout_ms != IG_NONE ?
		    (uint64_t)n->timeout_ms :
		    IG_NOTIFY_TIMEOUT_MS };
	a->next = run->mgr->alerts;
	run->mgr->alerts = a;
	if (job_argv_copy(&a->argv, &n->exec) != 0 ||
	    make_vars(run, event, reason, &a->vars) != 0 ||
	    (a->cwd = strdup(run->spec->worker.cwd != NULL ?
	             run->spec->worker.cwd :
	             "/")) == NULL) {
		run_log(run, LOG_ERROR, "%s: not run: out of memory", detail);
		alert_free(a);
		return;
	}
	if (store_add_event(run->mgr->store, &ev, on_recorded, a) != 0) {
		run_log(run, LOG_ERROR,
		    "%s: not run: the store refused its record", detail);
		alert_free(a);
	}
}

static void
fire(struct run *run, int event, const char *reason)
{
	if (run->spec == NULL)
		return;
	for (size_t i = 0; i < run->spec->nnotify; i++)
		if (run->spec->notify[i].on & 1u << event)
			fire_entry(run, i, event, reason);
}

void
alert_status(struct run *run)
{
	static const struct {
		int status, event;
	} events[] = {
		{ IG_STATUS_COMPLETED, IG_NOTIFY_COMPLETED },
		{ IG_STATUS_FAILED, IG_NOTIFY_FAILED },
		{ IG_STATUS_TERMINATED, IG_NOTIFY_TERMINATED },
		{ IG_STATUS_PAUSED, IG_NOTIFY_PAUSED },
	};

	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (events[i].status == run->status)
			fire(run, events[i].event, run->reason);
}

/* terminate_on_nan's condition: NaN or infinite. */
void
alert_point(struct run *run, const char *name, double value)
{
	char reason[IG_NAME_MAX + 80];

	if (isfinite(value) || run->nan_seen)
		return;
	run->nan_seen = true;
	snprintf(reason, sizeof(reason), "metric %s is %g at iteration %lld",
	    name, value,
	    (long long)ig_engine_state(job_engine(run->job))->iteration);
	fire(run, IG_NOTIFY_NAN, reason);
}

/* The daemon stops: what still runs is killed, what waits dropped. */
void
alerts_close(struct runs *mgr)
{
	struct alert *a, *next;

	for (a = mgr->alerts; a != NULL; a = next) {
		next = a->next;
		a->mgr = NULL;
		if (a->working) {
			/* looked_up frees it, cancelled or not */
			uv_cancel((uv_req_t *)&a->work);
			continue;
		}
		if (a->open == 0) {
			alert_free(a);
			continue;
		}
		if (!a->exited) {
			kill(-a->proc.pid, SIGKILL);
			say(a, LOG_WARN, "%s killed: the daemon stops",
			    a->argv.v[0]);
		}
		if (!uv_is_closing((uv_handle_t *)&a->proc))
			close_all(a);
	}
	mgr->alerts = NULL;
}
