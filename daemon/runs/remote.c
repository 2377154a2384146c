/*
 * remote.c - runs placed on a cluster (spec placement.slurm): the worker
 * submitted as a job of the cluster's scheduler (launch/launch.h), which
 * dials back (ignited --worker-listen) with the run's secret.
 *
 *   - The secret (256 random bits) is drawn when the run is accepted and
 *     kept in the store with the job id, so that after a restart of the
 *     daemon the job is found again and its worker is let back in.
 *   - When the run's job wants its worker (the exec engine's STARTED:
 *     a start, a restart after the worker dropped, a resume), the job is
 *     asked after, and a new one submitted when there is none running.
 *     It is then followed every POLL_WAIT_MS while the run waits for its
 *     worker, every POLL_MS while the worker is connected.
 *   - A job that ended after its worker had connected is submitted again
 *     (the drop already counted as a restart of the worker); one that
 *     ended before fails the waiting worker with the scheduler's state,
 *     which counts as a restart (worker.max_restarts) or fails the run.
 *   - Once the run wants no worker (ended, paused) a job still in the
 *     scheduler is cancelled (its worker was told to shut down when the
 *     run ended); a paused run's resume submits a new one.
 *
 * struct remote outlives its run while commands are in flight (refs).
 */
#include <pwd.h>

#include <sodium.h>

#include "launch/launch.h"
#include "runs/runs_int.h"

#define POLL_WAIT_MS 1000
#define POLL_MS 10000
#define FAILING_POLLS 5 /* the job's end awaited for a failure's reason */

struct remote {
	struct run *run; /* NULL once the run is gone */
	int refs; /* the run, the timer, each command in flight */
	const struct launcher *launcher;
	unsigned char secret[STORE_SECRET_LEN];
	char job[LAUNCH_JOB_MAX]; /* "": none submitted */
	struct launch_status st; /* the job's, when known */
	bool known;
	bool busy; /* a submission or a status is out */
	bool connected; /* a worker of this job connected */
	bool spent; /* a waiting worker was failed for this job's end */
	bool cancelled; /* the job was cancelled */
	bool erred; /* the last status could not be had (logged once) */
	int told; /* the status its watchers were last told */
	char told_why[LAUNCH_STATE_MAX + LAUNCH_REASON_MAX + 96]; /* and why */
	/* the run failed with its worker gone: polls since, while its job's
	 * end is awaited for the reason; -1 once note says it */
	int failing;
	char note[LAUNCH_STATE_MAX + LAUNCH_REASON_MAX + 96];
	uv_timer_t timer;
	char shown[LAUNCH_STATE_MAX + LAUNCH_REASON_MAX + 96];
};

static void tick(struct remote *r);

static void
unref(struct remote *r)
{
	if (--r->refs == 0)
		free(r);
}

static void
on_timer_closed(uv_handle_t *h)
{
	unref(h->data);
}

/* Still wants a worker: running, not ending, not pausing.  (A daemon
 * shutting down leaves the job be: its worker dials the next one.) */
static bool
keep(const struct run *run)
{
	return run->job != NULL && run->status == IG_STATUS_RUNNING &&
	    run->ending < 0 && run->suspend != SUSPEND_PAUSE;
}

int
remote_check(struct runs *mgr, const ig_spec *spec, ig_err *err)
{
	if (spec->slurm.set && mgr->cfg->worker_addr == NULL)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "placement.slurm: this ignited does not listen for "
		    "workers (ignited --worker-listen HOST:PORT), so a worker "
		    "on a compute node could not reach it; ask its "
		    "administrator, or run a per-user ignited with it");
	return 0;
}

void
remote_setup(struct run *run, bool stored)
{
	struct store_reader *rd = store_loop_reader(run->mgr->store);
	struct remote *r;
	int rc = IG_PROTO_NOT_FOUND;

	if (run->spec == NULL || !run->spec->slurm.set ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->run = run;
	r->refs = 2; /* the run, the timer */
	r->told = run->status;
	r->launcher = launch_for(run->spec);
	uv_timer_init(run->mgr->loop, &r->timer);
	r->timer.data = r;
	run->remote = r;
	if (stored)
		rc = store_get_launch(
		    rd, run->id, r->secret, r->job, sizeof(r->job));
	if (rc == IG_PROTO_NOT_FOUND) {
		randombytes_buf(r->secret, sizeof(r->secret));
		if (store_set_launch(run->mgr->store, run->id, r->secret, "") !=
		    0)
			run_log(run, LOG_ERROR, "cannot record its secret");
	} else if (rc != 0) {
		run_log(run, LOG_ERROR, "%s", store_reader_error(rd));
	}
	/* a job submitted before the daemon's restart had its worker */
	r->connected = r->job[0] != '\0';
}

void
remote_free(struct run *run)
{
	struct remote *r = run->remote;

	if (r == NULL)
		return;
	run->remote = NULL;
	r->run = NULL;
	uv_close((uv_handle_t *)&r->timer, on_timer_closed);
	unref(r);
}

static void
on_tick(uv_timer_t *t)
{
	tick(t->data);
}

void
remote_want(void *ud)
{
	struct run *run = ud;
	struct remote *r = run->remote;

	if (r == NULL)
		return;
	r->failing = 0;
	uv_timer_start(&r->timer, on_tick, 0, POLL_WAIT_MS);
}

/* Running, and waiting for its worker to connect. */
bool
remote_waiting(struct run *run)
{
	return run->remote != NULL && run->status == IG_STATUS_RUNNING &&
	    run->job != NULL && job_remote_worker(run->job) != NULL;
}

/* Running without its worker connected: from its start until the worker
 * dials in, and from a drop until the next one does. */
static bool
shows_queued(struct run *run)
{
	return run->remote != NULL && run->status == IG_STATUS_RUNNING &&
	    run->job != NULL && !job_remote_connected(run->job);
}

/* Its status as shown (summary, status notes): queued while it has no
 * worker. */
int
remote_shown_status(struct run *run)
{
	return shows_queued(run) ? IG_STATUS_QUEUED : run->status;
}

/* Its status changed: a run that ended or paused has its job cancelled
 * at once, not at the next poll. */
void
remote_status(struct run *run)
{
	struct remote *r = run->remote;

	if (r != NULL && !keep(run) && r->job[0] != '\0' && !r->cancelled)
		uv_timer_start(&r->timer, on_tick, 0, POLL_WAIT_MS);
}

/* The run fails, its worker gone (no restarts left): held until its job's
 * next status (its end: TIMEOUT, PREEMPTED, NODE_FAIL...) for the reason. */
bool
remote_hold_failure(struct run *run)
{
	struct remote *r = run->remote;

	if (r == NULL || r->job[0] == '\0' || r->failing != 0 ||
	    run->job == NULL || !job_worker_lost(run->job))
		return false;
	r->failing = 1;
	uv_timer_start(&r->timer, on_tick, 0, POLL_WAIT_MS);
	return true;
}

const char *
remote_failure_note(const struct run *run)
{
	const struct remote *r = run->remote;

	return r != NULL && r->failing < 0 ? r->note : "";
}

/* A held failure goes on once the job ended, or after FAILING_POLLS. */
static void
fail_held(struct remote *r, const struct launch_status *st)
{
	if (st != NULL && st->phase == LAUNCH_RUNNING &&
	    r->failing++ < FAILING_POLLS)
		return;
	if (st != NULL)
		snprintf(r->note, sizeof(r->note), "; Slurm job %s %s %s%s%s",
		    r->job, st->phase == LAUNCH_ENDED ? "ended" : "is",
		    st->state, st->reason[0] != '\0' ? ": " : "", st->reason);
	else
		r->note[0] = '\0';
	r->failing = -1;
	finish(r->run, IG_RUN_FAILED);
}

/* Where its job stands while the run waits for its worker ("Slurm job 12
 * PENDING: Resources"), into r->shown. */
static char *
where(struct remote *r)
{
	if (r->job[0] == '\0')
		snprintf(r->shown, sizeof(r->shown), "submitting to Slurm");
	else if (!r->known)
		snprintf(r->shown, sizeof(r->shown), "Slurm job %s", r->job);
	else if (r->st.phase == LAUNCH_RUNNING)
		snprintf(r->shown, sizeof(r->shown),
		    "Slurm job %s %s, its worker not connected yet", r->job,
		    r->st.state);
	else
		snprintf(r->shown, sizeof(r->shown), "Slurm job %s %s%s%s",
		    r->job, r->st.state, r->st.reason[0] != '\0' ? ": " : "",
		    r->st.reason);
	return r->shown;
}

/* Why its status notes say queued: where its job stands; NULL when it
 * has its worker. */
char *
remote_reason(struct run *run)
{
	return shows_queued(run) ? where(run->remote) : NULL;
}

/* Its watchers told how it shows: queued while it waits for its worker,
 * again when its job's state or Slurm's reason changes (Resources, then
 * ReqNodeNotAvail), running once it has it.  A job just submitted, its
 * state not yet asked, is no news.  Other changes of status are told
 * where they happen. */
static void
tell(struct remote *r)
{
	struct run *run = r->run;
	const char *why = remote_reason(run);
	int shown = remote_shown_status(run);
	bool news = why != NULL && (r->job[0] == '\0' || r->known) &&
	    strcmp(why, r->told_why) != 0;

	if (run->status == IG_STATUS_RUNNING && (shown != r->told || news))
		notify_status(run);
}

/* Its watchers were told status, and why (NULL: no reason of ours). */
void
remote_told(struct run *run, int status, const char *why)
{
	struct remote *r = run->remote;

	if (r == NULL)
		return;
	r->told = status;
	snprintf(
	    r->told_why, sizeof(r->told_why), "%s", why != NULL ? why : "");
}

/* ---- the launcher's request: as the owner, with the worker's env -------- */

struct req {
	struct launch_req lr;
	char **env;
};

static void
req_free(struct req *q)
{
	job_env_free(q->env);
}

static int
req_make(struct remote *r, struct req *q, ig_err *err)
{
	struct run *run = r->run;
	const ig_spec *spec = run->spec;
	struct passwd pwbuf, *pw = NULL;
	char buf[4096], hex[2 * STORE_SECRET_LEN + 1];
	const char *conf = getenv("SLURM_CONF");
	ig_strv extra = { 0 };
	size_t n = 0;
	int rc = 0;

	if (run->mgr->cfg->worker_addr == NULL)
		return ig_err_set(err, IG_PROTO_UNAVAILABLE,
		    "this ignited does not listen for workers (ignited "
		    "--worker-listen HOST:PORT), so the run's worker could not "
		    "reach it");
	getpwuid_r(run->owner, &pwbuf, buf, sizeof(buf), &pw);
	q->lr = (struct launch_req){ .spec = spec, .run = run->id };
	q->lr.cwd = spec->worker.cwd != NULL ? spec->worker.cwd : "/";
	q->lr.setid = geteuid() == 0 && run->owner != 0;
	q->lr.uid = run->owner;
	q->lr.gid = pw != NULL ? pw->pw_gid : getegid();
	if (q->lr.setid && pw == NULL)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "uid %lu has no passwd entry, so its job's group is "
		    "unknown",
		    (unsigned long)run->owner);
	sodium_bin2hex(hex, sizeof(hex), r->secret, sizeof(r->secret));
	if ((extra.v = calloc(spec->worker.env.n + 5, sizeof(char *))) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	for (size_t i = 0; i < spec->worker.env.n; i++)
		extra.v[n++] = spec->worker.env.v[i];
	if (asprintf(&extra.v[n++], "IGNITE_WORKER_ADDR=%s",
	        run->mgr->cfg->worker_addr) < 0 ||
	    asprintf(&extra.v[n++], "IGNITE_WORKER_RUN=%lld",
	        (long long)run->id) < 0 ||
	    asprintf(&extra.v[n++], "IGNITE_WORKER_SECRET=%s", hex) < 0 ||
	    (conf != NULL &&
	        asprintf(&extra.v[n++], "SLURM_CONF=%s", conf) < 0))
		rc = ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	extra.n = n;
	if (rc == 0 && (q->env = job_env(&extra, pw)) == NULL)
		rc = ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	q->lr.env = q->env;
	for (size_t i = spec->worker.env.n; i < n; i++)
		free(extra.v[i]);
	free(extra.v);
	sodium_memzero(hex, sizeof(hex));
	return rc;
}

/* ---- submitting, following, cancelling ----------------------------------- */

static void
cancel(struct remote *r)
{
	struct req q = { 0 };
	ig_err err;

	if (r->job[0] == '\0' || r->cancelled)
		return;
	r->cancelled = true;
	if (req_make(r, &q, &err) != 0 ||
	    r->launcher->cancel(r->run->mgr->loop, &q.lr, r->job, &err) != 0)
		run_log(r->run, LOG_WARN, "cannot cancel Slurm job %s: %s",
		    r->job, err.message);
	else
		run_log(r->run, LOG_INFO, "Slurm job %s cancelled", r->job);
	req_free(&q);
}

/* A command of r's came back: the run it was for, or NULL once the run is
 * gone (and r with it, maybe).  A run holds its own ref, so r stays. */
static struct run *
came_back(struct remote *r)
{
	struct run *run = r->run;

	r->busy = false;
	unref(r);
	return run;
}

static void
on_submitted(void *arg, const char *job, const char *err)
{
	struct remote *r = arg;
	struct run *run = came_back(r);

	if (run == NULL)
		return;
	if (job == NULL) {
		run_log(run, LOG_ERROR, "%s", err);
		if (run->job != NULL)
			job_remote_fail(run->job, err);
	} else {
		snprintf(r->job, sizeof(r->job), "%s", job);
		r->known = r->connected = r->spent = r->cancelled = false;
		r->failing = 0;
		if (store_set_launch(
		        run->mgr->store, run->id, r->secret, job) != 0)
			run_log(
			    run, LOG_ERROR, "cannot record Slurm job %s", job);
		run_log(run, LOG_INFO, "submitted to Slurm as job %s", job);
	}
}

static void
submit(struct remote *r)
{
	struct req q = { 0 };
	ig_err err;

	cancel(r); /* one that ended: a requeue must not bring it back */
	if (req_make(r, &q, &err) == 0 &&
	    r->launcher->submit(
	        r->run->mgr->loop, &q.lr, on_submitted, r, &err) == 0) {
		r->busy = true;
		r->refs++;
	} else {
		run_log(r->run, LOG_ERROR, "cannot submit to Slurm: %s",
		    err.message);
		job_remote_fail(r->run->job, err.message);
	}
	req_free(&q);
}

/* The job ended while the run waits for its worker. */
static void
ended(struct remote *r)
{
	char why[sizeof(r->shown) + 64];

	/* cancelled here (a pause): nothing went wrong with it */
	if (r->connected || r->spent || r->cancelled) {
		submit(r);
		return;
	}
	r->spent = true;
	snprintf(why, sizeof(why),
	    "Slurm job %s ended (%s%s%s) before its worker connected", r->job,
	    r->st.state, r->st.reason[0] != '\0' ? ": " : "", r->st.reason);
	run_log(r->run, LOG_ERROR, "%s", why);
	job_remote_fail(r->run->job, why);
}

static void
on_status(void *arg, const struct launch_status *st, const char *err)
{
	struct remote *r = arg;
	struct run *run = came_back(r);

	if (run == NULL)
		return;
	if (st == NULL) {
		if (!r->erred)
			run_log(run, LOG_WARN, "%s", err);
		r->erred = true;
		if (r->failing > 0)
			fail_held(r, NULL);
		return;
	}
	r->erred = false;
	if (!r->known || strcmp(st->state, r->st.state) != 0)
		run_log(run, LOG_INFO, "Slurm job %s is %s%s%s", r->job,
		    st->state, st->reason[0] != '\0' ? ": " : "", st->reason);
	r->st = *st;
	r->known = true;
	tell(r);
	if (r->failing > 0) {
		fail_held(r, st);
		return;
	}
	if (!keep(run)) {
		if (st->phase == LAUNCH_ENDED)
			uv_timer_stop(&r->timer);
		else
			cancel(r);
		return;
	}
	if (st->phase == LAUNCH_ENDED && job_remote_worker(run->job) != NULL)
		ended(r);
}

static void
tick(struct remote *r)
{
	struct run *run = r->run;
	ig_err err;

	tell(r);
	if (r->busy)
		return;
	if (r->job[0] == '\0') {
		if (keep(run) && job_remote_worker(run->job) != NULL)
			submit(r);
		else
			uv_timer_stop(&r->timer);
		return;
	}
	if (r->launcher->status(run->mgr->loop, r->job, on_status, r, &err) !=
	    0) {
		run_log(run, LOG_WARN, "%s", err.message);
		return;
	}
	r->busy = true;
	r->refs++;
}

/* ---- the worker's hello, and how the run shows ------------------------------ */

enum worker_claim
runs_worker_claim(void *ud, int64_t id, const unsigned char *secret,
    struct worker **w, char *why, size_t whylen)
{
	struct run *run = runs_find(ud, id);
	struct remote *r = run != NULL ? run->remote : NULL;

	if (r == NULL) {
		snprintf(
		    why, whylen, "no run of that id is placed on a cluster");
		return WORKER_CLAIM_UNKNOWN;
	}
	if (sodium_memcmp(r->secret, secret, sizeof(r->secret)) != 0) {
		snprintf(why, whylen, "the wrong secret");
		return WORKER_CLAIM_UNKNOWN;
	}
	if (run->status >= IG_STATUS_COMPLETED ||
	    run->status == IG_STATUS_PAUSED) {
		snprintf(
		    why, whylen, "the run is %s", ig_status_name(run->status));
		return WORKER_CLAIM_ENDED;
	}
	if (run->job != NULL && (*w = job_remote_worker(run->job)) != NULL) {
		r->connected = true;
		/* the next tick, once attached, tells it is running */
		uv_timer_start(&r->timer, on_tick, 0, POLL_MS);
		return WORKER_CLAIM_TAKE;
	}
	snprintf(why, whylen,
	    run->job != NULL && job_remote_connected(run->job) ?
	        "run %lld has a worker connected" :
	        "run %lld is not ready for its worker yet; try again",
	    (long long)id);
	return WORKER_CLAIM_BUSY;
}

/* A run waiting for its worker shows as queued, with where its job is. */
void
remote_summary(struct run *run, ig_summary *s)
{
	if (!shows_queued(run))
		return;
	/* not in the daemon's own queue: first, waiting for Slurm */
	s->status = IG_STATUS_QUEUED;
	s->queue_position = 1;
	s->waiting_for = where(run->remote);
}
