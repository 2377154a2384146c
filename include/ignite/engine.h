/*
 * engine.h - PyTorch-Ignite's Engine in C.
 *
 * An engine calls a process function on every batch of its data, epoch after
 * epoch, firing Ignite's events as it goes.  The rules it follows are the
 * numbered list in ENGINE-SEMANTICS.md; comments cite them as "rule N".
 *
 * The library does no I/O and keeps no globals.  All functions are for one
 * thread at a time per engine: handlers run on the thread that steps.
 *
 * Errors: functions that can fail return 0 on success or a negative IG_E*
 * code; ig_engine_error() then holds a message for the user.
 */
#ifndef IGNITE_ENGINE_H
#define IGNITE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ig_engine ig_engine;

/* "Not set": unknown epoch_length, max_epochs never given, run argument absent. */
#define IG_NONE INT64_C(-1)

enum ig_errcode {
	IG_OK = 0,
	IG_EINVAL = -1, /* bad argument or state_dict */
	IG_ENOMEM = -2,
	IG_ESTATE = -3, /* not allowed in the engine's current state */
	IG_ENOENT = -4, /* no such handler, event, key or metric */
	IG_ERUN =
	    -5, /* the run ended with an error (process function, handler, data) */
};

/* Core events, in Ignite's names.  Custom events get ids from ig_engine_register_event(). */
typedef enum ig_event {
	IG_EVENT_STARTED = 0,
	IG_EVENT_EPOCH_STARTED,
	IG_EVENT_GET_BATCH_STARTED,
	IG_EVENT_GET_BATCH_COMPLETED,
	IG_EVENT_ITERATION_STARTED,
	IG_EVENT_ITERATION_COMPLETED,
	IG_EVENT_DATALOADER_STOP_ITERATION,
	IG_EVENT_EXCEPTION_RAISED,
	IG_EVENT_TERMINATE_SINGLE_EPOCH,
	IG_EVENT_TERMINATE,
	IG_EVENT_INTERRUPT,
	IG_EVENT_EPOCH_COMPLETED,
	IG_EVENT_COMPLETED,
	IG_EVENT_CORE_COUNT
} ig_event;

/* Wildcard for ig_engine_has_handler(): search every event. */
#define IG_EVENT_ANY (-1)

/* "STARTED", "EPOCH_COMPLETED", ... or a custom event's name; NULL if unknown. */
const char *ig_event_name(const ig_engine *e, int event);
/* The core or custom event called name, or a negative IG_ENOENT. */
int ig_event_from_name(const ig_engine *e, const char *name);

/* ---- batches and outputs ---------------------------------------------- */

/*
 * A batch as the process function sees it: a view whose memory belongs to the
 * data source and stays valid until the next fetch.  Sources fill what they
 * have: a range gives only the index, a CSV source gives x (rows x cols,
 * row-major) and y (rows labels), a msgpack source gives raw bytes.
 */
typedef struct ig_batch {
	int64_t index; /* item in the source (after any shuffling) */
	size_t rows, cols;
	const double *x;
	const double *y;
	const void *raw; /* one msgpack object, or NULL */
	size_t raw_len;
} ig_batch;

/* One named value of an output: a scalar (data == NULL) or an array of len
 * doubles, a matrix when cols > 1 (len = rows * cols). */
typedef struct ig_field {
	const char *name;
	double value;
	const double *data;
	size_t len;
	size_t cols;
} ig_field;

/* A process function's output; memory belongs to the process function and
 * stays valid until its next call. */
typedef struct ig_output {
	const ig_field *fields;
	size_t nfields;
} ig_output;

/* The field called name, or NULL. */
const ig_field *ig_output_field(const ig_output *out, const char *name);

/* ---- data sources ------------------------------------------------------ */

/*
 * A data source.  Random-access sources (size >= 0 and get) can be shuffled
 * deterministically and sought on resume; sequential sources (next and
 * rewind) are iterators whose length is found by exhaustion (rule 4).
 * Each callback returns 0 (next: 1 or 0) or -1 after writing a message to err.
 */

/* Which batch the engine wants: the pos-th of pass number pass (pass counts
 * iterator restarts).  seed is the run's seed or IG_NONE; a source that
 * shuffles must make its order a pure function of (seed, pass), e.g. with
 * ig_shuffle_index(). */
typedef struct ig_fetch {
	int64_t seed;
	int64_t pass;
	int64_t pos;
} ig_fetch;

typedef struct ig_data_ops {
	/* Batches per pass, or IG_NONE when unknown. */
	int64_t (*size)(void *ctx);
	/* Random access: fill the batch for f (0 <= f->pos < size). */
	int (*get)(void *ctx, const ig_fetch *f, ig_batch *out, char *err,
	    size_t errlen);
	/* Sequential: start a new pass. */
	int (*rewind)(void *ctx, char *err, size_t errlen);
	/* Sequential: next batch; 1 got one, 0 exhausted, -1 error. */
	int (*next)(void *ctx, ig_batch *out, char *err, size_t errlen);
	/* Release ctx; may be NULL. */
	void (*destroy)(void *ctx);
} ig_data_ops;

typedef struct ig_data ig_data;

/* Make a source from ops; the source owns ctx and calls destroy on it. */
ig_data *ig_data_new(const ig_data_ops *ops, void *ctx);
/* n batches whose index is 0..n-1 and nothing else (Ignite's range(n)).
 * With a run seed the order of each pass is shuffled, a pure function of
 * (seed, pass); without one it is 0..n-1. */
ig_data *ig_data_range(int64_t n);
/* A copy of n batch views, shuffled like ig_data_range; the memory they
 * point to stays the caller's. */
ig_data *ig_data_array(const ig_batch *batches, size_t n);
/* A one-shot or restartable iterator over `items` with no declared length:
 * with restartable false, after the first exhaustion it yields nothing. */
ig_data *ig_data_iterator(const ig_batch *batches, size_t n, bool restartable);
void ig_data_free(ig_data *d);
int64_t ig_data_size(const ig_data *d);

/* ---- the engine -------------------------------------------------------- */

enum ig_process_result {
	IG_PROCESS_DONE = 0, /* *out is set (may be NULL) */
	IG_PROCESS_PENDING =
	    1, /* result comes later through ig_engine_complete() */
	IG_PROCESS_ERROR = -1, /* message set with ig_engine_raise() */
};

/* Ignite's process_function(engine, batch).  batch is state.batch (may be NULL
 * when the run has no data). */
typedef int (*ig_process_fn)(
    ig_engine *e, const ig_batch *batch, const ig_output **out, void *ud);

/* A handler returns 0, or -1 after ig_engine_raise(): an exception (rules 14, 15). */
typedef int (*ig_handler_fn)(ig_engine *e, int event, void *ud);

/* Custom filter (rule 8): return true to run the handler for this value. */
typedef bool (*ig_filter_fn)(ig_engine *e, int64_t value, void *ud);

/* Filter on one event (rule 7).  Zero-initialise for "no filter".  Only one
 * of: fn, once, the group {every, before, after}.  before/after are 0 when
 * absent (so before=0 cannot be expressed, as it matches nothing anyway). */
typedef struct ig_filter {
	int64_t every;
	int64_t before, after;
	const int64_t *once; /* copied at add */
	size_t nonce;
	ig_filter_fn fn;
	void *fn_ud;
} ig_filter;

/* An event with its filter, for adding one handler on a list of events. */
typedef struct ig_event_spec {
	int event;
	ig_filter filter;
} ig_event_spec;

/* A removable handle for one add (all its events).  0 is never a handle. */
typedef uint64_t ig_handle;

/* A named number in state.metrics, state counters or user keys. */
typedef enum ig_value_type {
	IG_VALUE_NIL,
	IG_VALUE_INT,
	IG_VALUE_DOUBLE,
	IG_VALUE_BOOL,
	IG_VALUE_STR
} ig_value_type;
typedef struct ig_value {
	ig_value_type type;
	union {
		int64_t i;
		double d;
		bool b;
		char *s;
	} u; /* s owned by the holder */
} ig_value;

/* Ignite's state (the seed's list).  Read freely; write only what a handler
 * of Ignite may write: batch (at ITERATION_STARTED), output, metrics via
 * ig_engine_set_metric, user values via ig_engine_set_user. */
typedef struct ig_state {
	int64_t iteration; /* 1-based while running */
	int64_t epoch; /* 1-based while running */
	int64_t epoch_length; /* IG_NONE when unknown */
	int64_t max_epochs; /* IG_NONE when never set */
	int64_t seed; /* IG_NONE when no seed: natural data order */
	const ig_batch *batch;
	const ig_output *output;
	/* times (rule 24): seconds, NaN before the first run */
	double time_epoch; /* times["EPOCH_COMPLETED"] */
	double time_total; /* times["COMPLETED"] */
} ig_state;

ig_engine *ig_engine_new(ig_process_fn fn, void *ud);
/* Frees the engine, its handlers and attached metrics; not its data. */
void ig_engine_free(ig_engine *e);
ig_state *ig_engine_state(ig_engine *e);
/* Has s run all its epochs (Ignite's _is_done)?  run() on such a state
 * starts over (rule 17). */
bool ig_state_done(const ig_state *s);
/* The message of the last failure (run error, refused call); "" if none. */
const char *ig_engine_error(const ig_engine *e);
/* Record an error from a process function or handler; returns -1 so that
 * `return ig_engine_raise(e, "...")` reads naturally. */
int ig_engine_raise(ig_engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Where the engine says what Ignite would warnings.warn() about (data
 * that runs out before the run's total, say); message is borrowed for the
 * call.  The library has no I/O of its own: without a callback they are
 * dropped. */
typedef void ig_warning_fn(ig_engine *e, const char *message, void *ud);
void ig_engine_on_warning(ig_engine *e, ig_warning_fn *fn, void *ud);
/* The last event fired (Ignite's last_event_name), or -1. */
int ig_engine_last_event(const ig_engine *e);

/* Handlers (rule 9).  Adds fn to each event of specs, in order; returns the
 * handle (> 0) or 0 with the error set (unknown event, bad filter, filter on
 * an event without a counter: rule 6). */
ig_handle ig_engine_add_handler(ig_engine *e, const ig_event_spec *specs,
    size_t n, ig_handler_fn fn, void *ud);
/* One event with an optional filter (NULL for none). */
ig_handle ig_engine_on(ig_engine *e, int event, const ig_filter *filter,
    ig_handler_fn fn, void *ud);
/* Remove what one add registered. */
int ig_engine_remove_handle(ig_engine *e, ig_handle h);
/* Ignite's remove_event_handler(handler, event): every registration of
 * (fn, ud) on event; IG_ENOENT naming which when there is none. */
int ig_engine_remove_handler(
    ig_engine *e, ig_handler_fn fn, void *ud, int event);
/* Ignores filters; event IG_EVENT_ANY searches all. */
bool ig_engine_has_handler(
    const ig_engine *e, ig_handler_fn fn, void *ud, int event);

/* Custom events (rule 23).  attr names a state counter (created at 0, never
 * reset by runs) or is NULL.  Returns the new event id or a negative code. */
int ig_engine_register_event(ig_engine *e, const char *name, const char *attr);
/* Fire an event's handlers now (core or registered). */
int ig_engine_fire_event(ig_engine *e, int event);
/* The counter named attr, for handlers to read and advance; NULL if none. */
int64_t *ig_engine_counter(ig_engine *e, const char *attr);

/* state.metrics */
int ig_engine_set_metric(ig_engine *e, const char *name, double value);
/* false when there is no such metric */
bool ig_engine_metric(const ig_engine *e, const char *name, double *value);
size_t ig_engine_metric_count(const ig_engine *e);
/* i-th metric in insertion order; the name stays valid until the metric set changes */
const char *ig_engine_metric_at(const ig_engine *e, size_t i, double *value);

/* User keys that go into state_dict (Ignite's state_dict_user_keys). */
int ig_engine_declare_user_key(ig_engine *e, const char *key);
/* Copies v (and its string). */
int ig_engine_set_user(ig_engine *e, const char *key, const ig_value *v);
/* NULL when key was never set. */
const ig_value *ig_engine_user(const ig_engine *e, const char *key);

/* ---- control (rules 10-13) -------------------------------------------- */

void ig_engine_terminate(ig_engine *e, bool skip_completed);
void ig_engine_terminate_epoch(ig_engine *e, bool skip_epoch_completed);
void ig_engine_interrupt(ig_engine *e);
/* From a handler: the step in progress returns IG_RUN_YIELD at the next
 * point where ig_engine_clean() holds (after this iteration or epoch),
 * whatever its budget; nothing is fired for it.  The host takes a
 * checkpoint there. */
void ig_engine_yield(ig_engine *e);
/* Replace the data; the iterator restarts at once (rule 22).  NULL for none. */
int ig_engine_set_data(ig_engine *e, ig_data *d);
/* During TERMINATE_SINGLE_EPOCH: iterations the cut epoch had done. */
int64_t ig_engine_iter_counter(const ig_engine *e);

/* ---- running (rules 17-19) -------------------------------------------- */

typedef struct ig_run_args {
	int64_t max_epochs; /* IG_NONE: keep or 1 */
	int64_t epoch_length; /* IG_NONE: from the state or the data */
	int64_t seed; /* IG_NONE: keep; >= 0 sets the data order seed */
} ig_run_args;
#define IG_RUN_ARGS_INIT \
	{ \
		IG_NONE, IG_NONE, IG_NONE \
	}

typedef enum ig_run_status {
	IG_RUN_IDLE = 0, /* no run in progress */
	IG_RUN_YIELD, /* budget spent; step again */
	IG_RUN_WAITING, /* an asynchronous process function is pending */
	IG_RUN_SUSPENDED, /* interrupted (rule 13); start again to continue */
	IG_RUN_DONE, /* ended: COMPLETED fired, or terminated */
	IG_RUN_FAILED, /* ended with an error, see ig_engine_error() */
} ig_run_status;

/* Begin (or continue) a run on data (NULL for none) with Ignite's run()
 * rules; nothing is fired until the first step.  The engine keeps a
 * reference to data, which must outlive the run. */
int ig_engine_start(ig_engine *e, ig_data *data, const ig_run_args *args);
/* Advance until the run must wait, ends, or max_iterations iterations have
 * completed (0: no limit). */
ig_run_status ig_engine_step(ig_engine *e, uint64_t max_iterations);
/* Deliver an asynchronous process function's result (out may be NULL), or
 * its failure when errmsg is not NULL. */
int ig_engine_complete(ig_engine *e, const ig_output *out, const char *errmsg);
/* start, then step to the end: Ignite's run().  Returns 0 when the run ended
 * or was suspended, IG_ERUN when it failed, another code when refused. */
int ig_engine_run(ig_engine *e, ig_data *data, const ig_run_args *args);
ig_run_status ig_engine_status(const ig_engine *e);
/* Is the run between iterations, with no epoch half begun or half ended?
 * A state_dict and data cursor taken now resume to exactly this point: the
 * daemon checkpoints only here.  True when no run is in progress. */
bool ig_engine_clean(const ig_engine *e);
/* Was the last run ended by terminate()? */
bool ig_engine_terminated(const ig_engine *e);

/* ---- state_dict (rules 20, 21) ---------------------------------------- */

typedef struct ig_user_entry {
	char *key;
	ig_value value;
} ig_user_entry;

/* Ignite's state_dict.  iteration and epoch are IG_NONE when absent. */
typedef struct ig_state_dict {
	int64_t iteration;
	int64_t epoch;
	int64_t epoch_length;
	int64_t max_epochs;
	ig_user_entry *user; /* owned */
	size_t nuser;
} ig_state_dict;

/* Fill sd (caller frees it with ig_state_dict_clear). */
int ig_engine_state_dict(const ig_engine *e, ig_state_dict *sd);
/* Validates everything before changing anything. */
int ig_engine_load_state_dict(ig_engine *e, const ig_state_dict *sd);
void ig_state_dict_clear(ig_state_dict *sd);

/* msgpack form: a map with Ignite's keys; unknown is nil.  Extra keys are
 * read as user keys.  unpack checks types and fills sd (caller clears it);
 * on error writes a message naming the key to err. */
struct msgpack_packer;
struct msgpack_object;
int ig_state_dict_pack(const ig_state_dict *sd, struct msgpack_packer *pk);
int ig_state_dict_unpack(const struct msgpack_object *o, ig_state_dict *sd,
    char *err, size_t errlen);

/*
 * Where the data iterator stands, for checkpoints that must resume the exact
 * data order even after terminate_epoch or set_data.  pass counts iterator
 * restarts; pos is batches fetched in this pass.  After load_state_dict the
 * position is derived from the iteration (rule 18); set_data_cursor then
 * overrides it.
 */
typedef struct ig_data_cursor {
	int64_t pass;
	int64_t pos;
} ig_data_cursor;
void ig_engine_data_cursor(const ig_engine *e, ig_data_cursor *c);
int ig_engine_set_data_cursor(ig_engine *e, const ig_data_cursor *c);

/* The batch index that pass/pos maps to for a source of n items with seed
 * (IG_NONE: natural order).  A bijection on [0, n) for each (seed, pass). */
int64_t ig_shuffle_index(int64_t seed, int64_t pass, int64_t pos, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
