/*
 * core.h - libignite's internals, shared by its source files only.
 */
#ifndef IGNITE_CORE_H
#define IGNITE_CORE_H

#include "ignite/engine.h"

/* A list of named values: state.metrics (doubles), event counters (ints)
 * and user keys (any), in the order they were added.  Names and string
 * values are owned by the list.  by_name orders v by name, so that a
 * lookup among many (a worker may report a thousand metrics) is a binary
 * search; a short list is searched in place. */
struct var {
	char *name;
	ig_value v;
};
struct vars {
	struct var *v;
	size_t *by_name; /* indices into v, names ascending */
	size_t n, cap;
};

struct var *engine_vars_find(const struct vars *vs, const char *name);
/* The entry called name, created as nil if absent; NULL on ENOMEM. */
struct var *engine_vars_get(struct vars *vs, const char *name);
int engine_vars_remove(struct vars *vs, const char *name);
void engine_vars_clear(struct vars *vs);
/* Copy src into *dst (strings duplicated); frees what *dst held. */
int engine_value_copy(ig_value *dst, const ig_value *src);
void engine_value_clear(ig_value *v);

/* One registered handler on one event. */
struct hentry {
	ig_handler_fn fn;
	void *ud;
	ig_handle handle;
	ig_filter filter; /* once is an owned copy */
	bool filtered;
	int64_t every_next; /* see every_pass() */
	uint64_t removed_at; /* firing serial at removal; 0 while live */
};

struct hlist {
	struct hentry *v;
	size_t n, cap;
	unsigned firing; /* nesting depth of firings of this event */
	bool dirty; /* holds removed entries to compact */
};

/* An event: core ones first, then custom ones in registration order. */
struct evinfo {
	char *name; /* custom events only; core names are static */
	char *attr; /* counter name or NULL */
	struct hlist handlers;
};

/* Something the engine owns on a user's behalf, freed with it: attached
 * metrics. */
struct adopted_obj {
	char *name;
	void *obj;
	void (*free_fn)(void *obj);
	ig_handle handle;
};

enum phase {
	PH_IDLE,
	PH_STARTED,
	PH_EPOCH_BEGIN,
	PH_EPOCH_SETUP,
	PH_FETCH,
	PH_FETCH_NEXT,
	PH_DATA_RESTART,
	PH_ITERATION,
	PH_PROCESS,
	PH_AWAIT,
	PH_PROCESS_DONE,
	PH_ITERATION_DONE,
	PH_EPOCH_END,
	PH_TERMINATE,
	PH_COMPLETE,
};

/* terminate / terminate_epoch requests: off, on, on and skip the event. */
enum tri_flag {
	FLAG_OFF,
	FLAG_ON,
	FLAG_SKIP
};

struct ig_engine {
	ig_state state;
	ig_process_fn process;
	void *process_ud;

	struct evinfo *events;
	size_t nevents, capevents;
	uint64_t fire_serial;
	ig_handle next_handle;
	int last_event;

	struct vars metrics;
	struct vars counters;
	struct vars user;
	char **user_keys;
	size_t nuser_keys;

	struct adopted_obj *adopted;
	size_t nadopted;

	/* the run */
	enum phase phase;
	ig_run_status status;
	bool suspended; /* interrupted; the next start continues */
	bool running; /* a run is in progress (suspended or not) */
	enum tri_flag should_terminate;
	enum tri_flag should_terminate_epoch;
	bool should_interrupt;
	bool should_yield; /* ig_engine_yield: at the next clean point */
	ig_data *data;
	int64_t data_n; /* its size, cached */
	bool data_ra; /* random access */
	bool iter_live; /* Ignite's _dataloader_iter is not None */
	bool fetch_retry; /* Ignite's should_exit */
	int64_t iter_counter; /* iterations done in this epoch */
	int64_t init_iter; /* IG_NONE, or where the next epoch starts */
	ig_data_cursor cursor;
	bool cursor_valid; /* cursor says where to resume the data */
	int64_t none_left; /* batches left in the no-data iterator */
	ig_batch batch;
	const ig_output *pending_output;
	bool pending_failed;
	double t_run, t_epoch;

	char *error;
	ig_warning_fn *warning; /* ig_engine_on_warning, or NULL */
	void *warning_ud;
};

/* Fire event's handlers; -1 when one raised. */
int engine_fire_slow(ig_engine *e, int event);

static inline int
engine_fire(ig_engine *e, int event)
{
	e->last_event = event;
	if (e->events[event].handlers.n == 0)
		return 0;
	return engine_fire_slow(e, event);
}

/* Any live handler on event? */
bool engine_has_live_handlers(const ig_engine *e, int event);
int engine_events_init(ig_engine *e);
void engine_events_free(ig_engine *e);
/* Set the engine's error message (printf-style); returns the code given. */
int engine_set_error(ig_engine *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Own obj under name until ig_engine_free or engine_release(name). */
int engine_adopt(ig_engine *e, const char *name, void *obj,
    void (*free_fn)(void *), ig_handle h);
int engine_release(ig_engine *e, const char *name);
bool engine_adopted_has(const ig_engine *e, const char *name);

double engine_now(void);
/* Something Ignite would warnings.warn() about, to the embedding program. */
void engine_warn(ig_engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The run's data, with its shape cached: the loop asks for it every fetch. */
void engine_use_data(ig_engine *e, ig_data *d);
/* Start a new pass of the data (Ignite's _setup_dataloader_iter). */
int engine_restart_data(ig_engine *e, char *err, size_t errlen);

/* Data sources: restart a pass; a sequential source's next batch (1 got,
 * 0 exhausted, -1 error with a message in err).  They pass err on to
 * ig_data_ops, whose char buffer is engine.h's public ABI, and libignite
 * stands alone: ig_err is libignite_proto's, which it does not link. */
int engine_data_restart(ig_data *d, char *err, size_t errlen);
int engine_data_next(ig_data *d, ig_batch *out, char *err, size_t errlen);
bool engine_data_random_access(const ig_data *d);
/* Random access: the source's get for f. */
int engine_data_get(
    ig_data *d, const ig_fetch *f, ig_batch *out, char *err, size_t errlen);

#endif
