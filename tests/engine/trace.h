/*
 * trace.h - shared helpers for the engine tests.
 *
 * A trace is the list of (event, epoch, iteration) an engine fired, as seen
 * by a recorder handler; tests compare it with an expected list written as
 * an array of triples (or built with the tb_* helpers for long plain runs)
 * and get a side-by-side diff when they differ.
 *
 * The rest are small fixtures most tests need: a process function that
 * records the batch indices it saw, "action" handlers that call terminate,
 * terminate_epoch, interrupt or raise at a chosen (event, epoch, iteration),
 * and batch arrays for iterator sources.
 */
#ifndef IGNITE_TESTS_ENGINE_TRACE_H
#define IGNITE_TESTS_ENGINE_TRACE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ignite/engine.h"

/* Short names for the core events, so expected traces fit on a line. */
enum {
	E_ST = IG_EVENT_STARTED,
	E_ES = IG_EVENT_EPOCH_STARTED,
	E_GBS = IG_EVENT_GET_BATCH_STARTED,
	E_GBC = IG_EVENT_GET_BATCH_COMPLETED,
	E_IS = IG_EVENT_ITERATION_STARTED,
	E_IC = IG_EVENT_ITERATION_COMPLETED,
	E_DSI = IG_EVENT_DATALOADER_STOP_ITERATION,
	E_EXR = IG_EVENT_EXCEPTION_RAISED,
	E_TSE = IG_EVENT_TERMINATE_SINGLE_EPOCH,
	E_TRM = IG_EVENT_TERMINATE,
	E_INT = IG_EVENT_INTERRUPT,
	E_EC = IG_EVENT_EPOCH_COMPLETED,
	E_CO = IG_EVENT_COMPLETED,
};

/* One fired event.  Recorders with a tag (to tell handlers apart) store
 * TG(tag, event) as the event; the main recorder has tag 0. */
typedef struct tr_ev {
	int event;
	int64_t epoch;
	int64_t iteration;
} tr_ev;
#define TG(tag, ev) ((tag)*100 + (ev))

typedef struct tr_rec tr_rec;

typedef struct trace {
	tr_ev *v;
	size_t n, cap;
	tr_rec
	    *recs; /* recorders made by trace_record*, freed with the trace */
} trace;

/* What trace_handler gets as user data: where to record, with which tag.
 * Tests that need to name a recorder (has_handler, remove) declare one. */
struct tr_rec {
	trace *t;
	int tag;
	tr_rec *next;
};

void trace_init(trace *t);
void trace_free(trace *t);
void trace_reset(trace *t);
void trace_push(trace *t, int event, int64_t epoch, int64_t iteration);

/* Every core event except EXCEPTION_RAISED, whose mere presence changes the
 * run (rule 14): attach that one on purpose with trace_record_event(). */
#define TR_ALL_BUT_EXCEPTION (~(UINT32_C(1) << IG_EVENT_EXCEPTION_RAISED))
#define TR_ALL UINT32_MAX

/* Attach a recorder (tag 0) to the core events in mask (bit = event id);
 * returns false if an add failed. */
bool trace_record(ig_engine *e, trace *t, uint32_t mask);
/* Attach a recorder with the given tag to one event (core or custom) with an
 * optional filter; returns the handle (0 on failure). */
ig_handle trace_record_event(
    ig_engine *e, trace *t, int event, const ig_filter *f, int tag);
/* The recorder handler itself, for has_handler/remove_handler tests. */
int trace_handler(ig_engine *e, int event, void *ud);

/* Compare actual with the n expected entries; on a mismatch print a diff and
 * fail the test. */
void trace_check(const trace *actual, const tr_ev *exp, size_t n,
    const char *what, const char *file, int line);
#define TRACE_EQ(actual, arr) \
	trace_check((actual), (arr), sizeof(arr) / sizeof((arr)[0]), #arr, \
	    __FILE__, __LINE__)
#define TRACE_EQ_T(actual, exptrace) \
	trace_check((actual), (exptrace)->v, (exptrace)->n, #exptrace, \
	    __FILE__, __LINE__)

/* Builders for expected traces of plain stretches (rule 1): iterations
 * first..last of an epoch, each GET_BATCH_STARTED/COMPLETED at (epoch, i-1)
 * then ITERATION_STARTED/COMPLETED at (epoch, i); with_data false leaves out
 * the GET_BATCH events (rule 5).  restart puts a DATALOADER_STOP_ITERATION
 * after the first GET_BATCH_STARTED (data exhausted at the last epoch's end,
 * rule 2). */
void tb_iters(trace *t, int64_t epoch, int64_t first, int64_t last,
    bool with_data, bool restart);
/* EPOCH_STARTED, tb_iters, EPOCH_COMPLETED. */
void tb_epoch(trace *t, int64_t epoch, int64_t first, int64_t last,
    bool with_data, bool restart);
/* A whole plain fresh run with epoch_length == len(data): STARTED, epochs
 * 1..max_epochs (each after the first opening with DATALOADER_STOP_ITERATION
 * when there is data), COMPLETED. */
void tb_run(trace *t, int64_t max_epochs, int64_t len, bool with_data);

/* Append n entries. */
void tb_append(trace *t, const tr_ev *v, size_t n);
#define TR_LIST(...) \
	(const tr_ev[]){ __VA_ARGS__ }, \
	    (sizeof((const tr_ev[]){ __VA_ARGS__ }) / sizeof(tr_ev))
#define TB_APPEND(t, ...) tb_append((t), TR_LIST(__VA_ARGS__))
/* Index of the first entry (event, epoch, iteration) in t; fails the test
 * when there is none. */
size_t trace_find(const trace *t, int event, int64_t epoch, int64_t iteration);
/* Append src entries [from, to). */
void tb_slice(trace *dst, const trace *src, size_t from, size_t to);

/* Fill t with every entry of src whose event is ev. */
void trace_only(trace *dst, const trace *src, int ev);
/* Name of a core event for diagnostics ("?" otherwise). */
const char *tr_event_name(int event);

/* ---- process function ------------------------------------------------- */

/* The process function used by most tests: records each batch index it saw
 * (-1 for no batch), outputs one scalar field "x" = index, and fails with
 * "boom" at iteration fail_at (0: never). */
typedef struct proc_rec {
	int64_t seen[256];
	size_t nseen;
	int64_t fail_at; /* state.iteration at which to fail, 0 never */
	int calls;
	ig_field field;
	ig_output out;
} proc_rec;

int proc_record(
    ig_engine *e, const ig_batch *b, const ig_output **out, void *ud);

/* A new engine running proc_record on rec (zeroed here). */
ig_engine *new_engine(proc_rec *rec);

/* ---- actions at a point --------------------------------------------- */

typedef enum act_kind {
	ACT_TERMINATE,
	ACT_TERMINATE_SKIP, /* terminate(skip_completed=true) */
	ACT_TERMINATE_EPOCH,
	ACT_TERMINATE_EPOCH_SKIP, /* terminate_epoch(skip_epoch_completed=true) */
	ACT_INTERRUPT,
	ACT_RAISE,
} act_kind;

/* Do `kind` when `event` fires at (epoch, iteration); -1 matches any value.
 * times: how many matches to act on (0 means 1). */
typedef struct action {
	act_kind kind;
	int event;
	int64_t epoch, iteration;
	int times;
	int done; /* how many times it acted */
} action;

int action_handler(ig_engine *e, int event, void *ud);
/* Attach a to its event; asserts the add worked. */
void action_attach(ig_engine *e, action *a);

/* Batches whose index is 0..n-1 (n <= 256), for ig_data_iterator/array. */
const ig_batch *index_batches(size_t n);

/* ---- fixture ------------------------------------------------------------ */

/* What most tests start from: an engine running proc_record, a recorder on
 * every core event but EXCEPTION_RAISED, and up to two data sources freed
 * at teardown. */
typedef struct fixture {
	proc_rec rec;
	ig_engine *e;
	trace t;
	ig_data *d, *d2;
} fixture;

int fx_setup(void **state);
/* The same without the recorder. */
int fx_setup_bare(void **state);
int fx_teardown(void **state);
#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
#define FX_TEST_BARE(fn) \
	cmocka_unit_test_setup_teardown(fn, fx_setup_bare, fx_teardown)

/* The batch indices the process function saw, in order. */
void assert_seen(const proc_rec *r, const int64_t *exp, size_t n,
    const char *file, int line);
#define ASSERT_SEEN(r, ...) \
	assert_seen((r), (const int64_t[]){ __VA_ARGS__ }, \
	    sizeof((const int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t), \
	    __FILE__, __LINE__)

/* Run and assert the return code. */
#define RUN_OK(e, data, args) \
	assert_int_equal(ig_engine_run((e), (data), (args)), 0)

/* ig_run_args literal. */
static inline ig_run_args
run_args(int64_t max_epochs, int64_t epoch_length, int64_t seed)
{
	ig_run_args a = { max_epochs, epoch_length, seed };
	return a;
}

#endif
