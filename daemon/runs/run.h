/*
 * run.h - runs: the run manager's records and verbs, shared by the run
 * manager (daemon/runs/) and the methods over them (daemon/api/runs.c).
 *
 * A run lives in the store from the moment it is accepted.  In memory it
 * has a job (engine, process function, data) while it can still run:
 * running, paused or queued.  A finished run keeps only its record; its
 * state_dict and history are read back from the store.
 */
#ifndef IGNITED_RUN_H
#define IGNITED_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>
#include <uv.h>

#include "hist.h"
#include "ignite/protocol.h"
#include "ignite/spec.h"
#include "store/history.h"
#include "log.h"
#include "job/job.h"
#include "runs/sched.h"
#include "store/store.h"

struct runs;
struct run;

/* A request about a run that is answered later: with the run, or the
 * error (run NULL). */
typedef void run_done_fn(void *arg, struct run *run, const ig_err *err);

/*
 * What the run manager tells the RPC side, which alone knows who watches
 * what (api/watch.c), through one function: the run manager does not
 * know connections.  As Neovim's broadcast_event, a note goes to whoever
 * subscribed, but here in two views: the run's private parts (its log,
 * the reason it failed) only to its owner and root.
 */
/* Packs a notification's params at pk; arg is the caller's. */
typedef void run_pack_fn(msgpack_packer *pk, void *arg);

enum run_news {
	RUN_NOTE, /* a notification for the run's watchers (note) */
	RUN_LIVE, /* accepted or resumed: watchers of every run take it */
	RUN_GONE, /* ended or freed: its watchers are done with it */
};

/* Notification method with params pack(arg) for the run's owner and
 * root, public(parg) for the other watchers (public NULL: nothing). */
struct run_note {
	const char *method;
	run_pack_fn *pack;
	void *arg;
	run_pack_fn *public;
	void *parg;
};

struct runs_rpc {
	/* the news about run; note is NULL but for RUN_NOTE */
	void (*news)(void *ud, struct run *run, enum run_news what,
	    const struct run_note *note);
	/* requests served so far: turns shorten while they keep coming */
	uint64_t (*requests)(void *ud);
	void *ud;
};

/* A metric series a run writes, with its store id; run.series is sorted
 * by name. */
struct run_series {
	char *name;
	int64_t id;
};

struct run {
	struct runs *mgr;
	int64_t id;
	char name[IG_NAME_MAX + 1];
	uid_t owner;
	int status; /* enum ig_status */
	int ending; /* final status on its way to the store, or -1 */
	char *reason; /* why it ended, failed or paused */
	double created, started, finished;

	ig_spec *spec; /* owned */
	struct job *job; /* NULL once finished */
	/* where a run without a job stands, for status and list */
	struct store_progress last;
	ig_named_value *last_metrics; /* owned, names too */
	size_t nlast;

	/* scheduling */
	bool runnable; /* in mgr's run queue */
	bool waiting; /* a blocking process call is out */
	bool throttled; /* its points outpace the store: not stepped until
	                 * the store's queue drains (schedule.c) */
	bool throttle_shown; /* what status and watchers were told */
	uint64_t throttled_at; /* loop ms, when last throttled */
	uint64_t slice; /* iterations per slice, adapted */

	/* checkpoints */
	int64_t ckpt_iteration; /* of the last one taken */
	double ckpt_time;
	uint64_t ckpt_began; /* uv_hrtime() of the one out */
	bool want_checkpoint; /* the checkpoint action fired */
	bool ckpt_out; /* asked of the worker, or not yet committed */
	bool ckpt_done; /* ... and came: go on as ckpt_then says */
	bool dir_made; /* its checkpoint directory, this daemon's life */
	uint64_t ckpt_tag; /* names the file asked of its worker */
	int ckpt_then; /* enum ckpt_then */
	int suspend; /* enum run_suspend: pause or shutdown asked */
	bool store_failed; /* a write was lost: resume from the store */
	bool rebuilding; /* its job is being built again, off the loop */
	bool revive_waits; /* taken back at the start, its rebuild not begun */
	bool pausing; /* paused, not yet committed: shown once it is */
	int64_t restarts; /* after its exec worker failed */
	bool nan_seen; /* a metric was NaN: notify's nan fired (alert.c) */

	/* metric points waiting to be handed to the store */
	struct store_point *points;
	size_t npoints, cappoints;
	struct run_series *series;
	size_t nseries;

	/* its log: lines in the window since log_window (uv_now), and
	 * dropped past the burst (runs.c) */
	uint64_t log_window;
	unsigned log_lines;
	uint64_t log_dropped;

	/* rate and progress */
	int64_t rate_iteration;
	double rate_time, rate;
	double progress_sent;

	/* a paused run's terminate waits for its end to be recorded */
	run_done_fn *ended;
	void *ended_arg;

	/* who watches it: the RPC side's own (api/watch.c), opaque here;
	 * NULL while nobody does, so that no note is made for nobody */
	void *watchers;

	/* its place in the queue and what it holds (queue.c); the summary's
	 * strings are kept here */
	struct sched_entry sched;
	bool waited; /* it was queued: its start is logged */
	int64_t preempted_by; /* the run it stopped for, while it waits */
	char devices[SCHED_MAX_GPUS * 5];
	char waiting_for[128];

	/* placed on a cluster (spec placement): its launch (remote.c) */
	struct remote *remote;
};

enum run_suspend {
	SUSPEND_NONE,
	SUSPEND_PAUSE,
	SUSPEND_SHUTDOWN,
	SUSPEND_PREEMPT /* for preempted_by: back to the queue */
};
/* What follows a checkpoint: stepping on, the interrupt of a pause or
 * shutdown, or the run's end. */
enum ckpt_then {
	THEN_CONTINUE,
	THEN_SUSPEND,
	THEN_FINISH
};

/* Counted where they happen, for the metrics endpoint to read. */
struct runs_stats {
	uint64_t worker_restarts;
	struct hist ckpt_seconds; /* asked for to committed (on_saved) */
	struct hist ckpt_bytes; /* state_dict and process state */
};

struct runs {
	uv_loop_t *loop;
	const struct job_config *cfg; /* borrowed: the daemon's */
	struct store *store;
	struct history *history; /* metric history reads, off the loop */
	struct runs_rpc rpc; /* the RPC side: news out, how busy it is */
	struct sched *sched; /* the machine's GPUs and CPU slots, the queue */
	int64_t next_seq; /* the next run's place in submission order */
	bool opening; /* taking stored runs back: nothing starts yet */
	struct run **v; /* every run the daemon knows, by id */
	size_t n, cap;
	uv_idle_t idle; /* steps runnable runs while any */
	size_t cursor; /* round robin position */
	int building; /* runs whose job is being built */
	int reviving; /* of those, runs taken back at the start */
	uint64_t served; /* rpc.requests() at the last turn */
	/* shutdown */
	uv_timer_t grace; /* how long checkpoints may still wait */
	int open_handles; /* idle and grace, until closed */
	bool grace_over;
	bool stopping;
	struct runs_stats stats;
	struct alert *alerts; /* notify commands on their way (alert.c) */
	void (*stopped)(void *arg, int status);
	void *stopped_arg;
};

struct run *runs_find(struct runs *mgr, int64_t id);
/* A line of the run's own log (the logs method, watchers), also written to
 * the daemon's log at level. */
void run_log(struct run *run, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The run peer means by name: peer's own run called name (names are
 * unique per owner), else the only run of that name, whoever's.  NULL when
 * there is none, or several (others'): *named says how many others have. */
struct run *runs_find_name(
    struct runs *mgr, const char *name, uid_t peer, size_t *named);

/* Accept a run: spec checked, job built (off the loop: its data file may
 * be large), stored, started.  An error found at once is returned, with
 * nothing stored and err naming the spec field; otherwise done(arg, run,
 * NULL) is called once the run's record has committed (answer the client
 * then, so that a run it was told of survives a crash), or done(arg, NULL,
 * err) when it could not be built or stored. */
/* A run started from another run's checkpoint (run's `from`): its engine
 * state, data cursor and job state, and its file copied (or linked) into
 * the new run's directory before it starts; the source is not touched. */
struct run_from {
	struct run *run; /* its owner or root asks: the caller checks */
	int64_t iteration; /* the checkpoint cut there; IG_NONE: the newest */
};
int runs_create(struct runs *mgr, const msgpack_object *spec, uid_t owner,
    const struct run_from *from, run_done_fn *done, void *arg, ig_err *err);
/* 0 when requests that write (run and the control verbs) are taken; else
 * UNAVAILABLE: the store refuses writes (its WAL went). */
int runs_writable(struct runs *mgr, ig_err *err);
/* The control verbs; each returns 0 or an IG_PROTO_* code with err set. */
/* terminate (or terminate_epoch); a paused run is ended without running
 * again, and *later says that ended(arg, run) is called once its end is
 * recorded (or the daemon stops first): answer the client then. */
int run_terminate(struct run *run, bool epoch_only, run_done_fn *ended,
    void *arg, bool *later, ig_err *err);
int run_pause(struct run *run, ig_err *err);
/* resume; a run without a job (ended, or its store failed) has it built
 * again off the loop, and *later says done(arg, ...) answers. */
int run_resume(struct run *run, int64_t max_epochs, run_done_fn *done,
    void *arg, bool *later, ig_err *err);
int runs_delete(struct runs *mgr, struct run *run, ig_err *err);
/* The summary as status and list show it; strings borrowed from run, the
 * metrics array allocated: free it with run_summary_clear_metrics(). */
void run_summary(struct run *run, ig_summary *s);
void run_summary_clear_metrics(ig_summary *s);
/* It has ended (completed, terminated or failed), the end recorded: no
 * note comes for it unless it is resumed. */
bool run_ended(const struct run *run);
/* Its history no longer changes unless it is resumed: it has ended and
 * the end is recorded, or it is paused, and it is not being built again. */
bool run_settled(const struct run *run);

/* May uid read the run's private parts (its log, its reason) and act on
 * it?  Its owner and root may. */
bool run_owned_by(const struct run *run, uid_t uid);
/* Let the RPC side hear the news from now on (api_register). */
void runs_set_rpc(struct runs *mgr, const struct runs_rpc *rpc);

#endif
