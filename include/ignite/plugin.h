/*
 * plugin.h - the process-function provider interface, version 2.
 *
 * One interface for every process function the daemon hosts in-process: the
 * builtins (noop, sleep, meanstd, softmax) are ig_plugin values compiled into
 * ignited, and a C plugin is a shared object exporting IG_PLUGIN_SYMBOL, a
 * function returning its ig_plugin.  The daemon creates one instance per run,
 * calls process once per iteration, asks for the instance's state at every
 * checkpoint and gives it back on resume.
 *
 * A plugin depends on this header and engine.h only (for ig_batch, ig_output
 * and ig_value): parameters arrive already decoded as an array of ig_param,
 * and state is an opaque byte string the plugin formats as it likes, or a
 * file of any size it writes itself (save_file, load_file: version 2).
 *
 * Errors: a callback that fails returns -1 (create: NULL) after writing a
 * NUL-terminated, human-readable message of at most errlen bytes (errlen > 0)
 * to err; the daemon shows it as the run's failure reason.  Messages should
 * say what to change ("softmax: param lr must be > 0, got -1").
 *
 * Threading: the daemon never overlaps two calls on one instance.  Without
 * IG_PLUGIN_BLOCKING every callback but save_file and load_file runs on the
 * daemon's loop thread and must return quickly (microseconds: it holds up
 * every other run and client).  With it, process may run on a worker
 * thread, a different one from call to call, so instances must not use
 * thread-local state; the other callbacks still run on the loop thread
 * while no process call is in flight.  save_file and load_file always run
 * on a worker thread: they may take as long as the file takes.
 * Different instances may be called concurrently from different threads, so
 * a plugin must not share mutable globals between instances.
 */
#ifndef IGNITE_PLUGIN_H
#define IGNITE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "ignite/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Bumped on any change of ig_plugin or of what it is given.  Version 2
 * added save_file and load_file at the end of ig_plugin; ignited still
 * loads version 1 plugins (whose ig_plugin ends at event_mask) and reads
 * nothing past what their version has.
 */
#define IG_PLUGIN_ABI_VERSION 2u

/* The symbol a plugin's shared object exports, of type ig_plugin_entry_fn. */
#define IG_PLUGIN_SYMBOL "ignite_plugin_v1"

/* ig_plugin.flags */
enum {
	/* process may block (sleeps, I/O, heavy compute): run it off the loop
	 * thread.  Without it, process runs on the loop thread. */
	IG_PLUGIN_BLOCKING = 1u << 0,
};

/* The mode argument of process: a trainer updates its model on TRAIN
 * batches and only predicts on EVAL batches (an evaluator engine). */
enum ig_plugin_mode {
	IG_MODE_TRAIN = 0,
	IG_MODE_EVAL = 1,
};

/*
 * One run-spec parameter.  key and value (and value.u.s) are borrowed: they
 * stay valid only for the duration of the create call, which copies what it
 * keeps.  Keys are unique within one array.  Numbers arrive as IG_VALUE_INT
 * or IG_VALUE_DOUBLE as the client wrote them; accept both where a number
 * is meant.
 */
typedef struct ig_param {
	const char *key;
	ig_value value;
} ig_param;

typedef struct ig_plugin {
	/* IG_PLUGIN_ABI_VERSION as the plugin was compiled; the daemon refuses
	 * a plugin whose version it does not speak. */
	uint32_t abi_version;
	/* IG_PLUGIN_* bits. */
	uint32_t flags;
	/* Short name for messages and listings ("softmax"); static storage. */
	const char *name;

	/*
	 * Make an instance from params (nparams may be 0, params then NULL).
	 * Reject unknown keys and bad values here, naming them, rather than
	 * failing later in process.  Returns the instance, owned by the caller
	 * until it passes it to destroy, or NULL with err set.
	 */
	void *(*create)(
	    const ig_param *params, size_t nparams, char *err, size_t errlen);

	/*
	 * Process one batch in mode IG_MODE_TRAIN or IG_MODE_EVAL.  batch (and
	 * the memory it points to) belongs to the data source and is valid only
	 * until process returns; it is NULL when the run has no data.  On
	 * success set *out to the output, or NULL for none, and return 0.  The
	 * output and everything it points to belong to the instance and must
	 * stay unchanged until the next call of process or destroy on it (the
	 * daemon's metrics and handlers read it after process returns).
	 */
	int (*process)(void *self, const ig_batch *batch, int mode,
	    const ig_output **out, char *err, size_t errlen);

	/*
	 * Serialise the instance's state (model weights, optimizer state,
	 * counters) so that load_state_dict on a fresh instance made with the
	 * same params continues bit-identically: store doubles exactly.  On
	 * success *buf is a malloc'd buffer of *len bytes the caller frees (it
	 * may be NULL when *len is 0).  NULL for a stateless plugin.
	 */
	int (*state_dict)(
	    void *self, void **buf, size_t *len, char *err, size_t errlen);

	/*
	 * Restore what state_dict produced, called after create and before the
	 * first process.  buf is borrowed and may come from an older daemon or
	 * a corrupt store: validate it entirely before changing anything, so
	 * that a refused state leaves the instance as it was.  NULL exactly
	 * when state_dict is NULL.
	 */
	int (*load_state_dict)(
	    void *self, const void *buf, size_t len, char *err, size_t errlen);

	/* Release the instance and everything it owns; self may be NULL. */
	void (*destroy)(void *self);

	/*
	 * Optional (NULL when unused): called on the loop thread when the
	 * run's engine fires one of the events in event_mask (bit 1u << event,
	 * core events only), after the engine's own state is updated.  state
	 * is borrowed for the call.  Returning -1 raises the error in the
	 * engine, as a failing handler does.
	 */
	int (*on_event)(void *self, int event, const ig_state *state, char *err,
	    size_t errlen);
	uint32_t event_mask;

	/* ---- version 2 ---- */

	/*
	 * Optional, both or neither (NULL when unused): the state as a file of
	 * any size and format, for states too large to hold as state_dict's
	 * bytes (a model's weights).  When set they are used instead of
	 * state_dict and load_state_dict at every checkpoint.
	 *
	 * save_file creates the file at path (a fresh name in the run's
	 * checkpoint directory, which does not exist yet) and writes the
	 * state into it; it need not fsync, the daemon does.  It runs on a
	 * worker thread, with the file access of the run's owner (the file
	 * is the owner's), while the run waits at its iteration boundary: no
	 * other call on the instance overlaps it, and the loop and every
	 * other run go on.  A failure pauses the run; its previous
	 * checkpoint stands.
	 *
	 * load_file restores what save_file wrote, called after create and
	 * before the first process (and before any on_event), on a worker
	 * thread with the file access of the run's owner, while the run waits
	 * to start: the loop and every other run go on.  A failure fails the
	 * run with the message.  The daemon hands it only a file whose size
	 * and checksum match what it sealed; still validate it before
	 * changing anything, as load_state_dict.
	 */
	int (*save_file)(
	    void *self, const char *path, char *err, size_t errlen);
	int (*load_file)(
	    void *self, const char *path, char *err, size_t errlen);
} ig_plugin;

/* What IG_PLUGIN_SYMBOL points to.  The returned ig_plugin has static
 * storage and stays valid until the shared object is unloaded. */
typedef const ig_plugin *(*ig_plugin_entry_fn)(void);

/* A plugin defines this function (exported, default visibility); the
 * declaration lets the compiler check the definition's type.  The builtins
 * do not define it. */
const ig_plugin *ignite_plugin_v1(void);

#ifdef __cplusplus
}
#endif
#endif
