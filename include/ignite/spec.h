/*
 * spec.h - a run spec: what `ignitectl run` asks the daemon to run.
 *
 * On the wire a spec is a msgpack map (docs/PROTOCOL.md, "Run spec").
 * ig_spec_read() checks its shape and types and gives a struct whose every
 * field has a value: defaults filled in, absent integers IG_NONE.  It does
 * not look at files, columns or builtins; the daemon does.
 *
 * Ownership: ig_spec_read() allocates the spec and everything in it;
 * ig_spec_free() releases all of it.
 */
#ifndef IGNITE_SPEC_H
#define IGNITE_SPEC_H

#include "ignite/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Entries in params, metrics, handlers, once, env, argv and columns. */
#define IG_SPEC_MAX_ITEMS 1024
/* An answer a worker may take; a checkpoint waits no longer at shutdown
 * than the shutdown grace, however long this is. */
#define IG_WORKER_TIMEOUT_MAX_MS 3600000
/* checkpoint.dir: room left in PATH_MAX for run-ID/ckpt-N.part */
#define IG_CKPT_DIR_MAX 3072
/* Tags a spec may carry, and the bytes of a tag's value. */
#define IG_SPEC_MAX_TAGS 64
#define IG_TAG_VALUE_MAX 256

enum ig_engine_kind {
	IG_ENGINE_BUILTIN,
	IG_ENGINE_PLUGIN,
	IG_ENGINE_EXEC
};
/* A data kind is its index in the table of kinds (proto/spec.c); a kind
 * added there needs no name here (ig_data_kind_find finds it). */
enum ig_data_kind {
	IG_DATA_NONE, /* no data: batches are empty, epoch_length needed */
	IG_DATA_RANGE,
	IG_DATA_CSV,
	IG_DATA_MSGPACK,
	IG_DATA_WORKER, /* the exec worker makes its own batches */
};
/* What a data kind's short form, a str in place of the data map, holds. */
enum ig_data_form {
	IG_DATA_FORM_NONE, /* none: the kind has no short form */
	IG_DATA_FORM_WORD, /* "worker": the name alone */
	IG_DATA_FORM_COUNT, /* "range:N": the map's n */
	IG_DATA_FORM_PATH, /* "csv:PATH": the map's path */
};
enum ig_metric_kind {
	IG_METRIC_AVERAGE,
	IG_METRIC_LOSS,
	IG_METRIC_ACCURACY,
	IG_METRIC_RUNNING_AVERAGE,
	IG_METRIC_OUTPUT,
};
enum ig_action {
	IG_ACTION_LOG,
	IG_ACTION_CHECKPOINT,
	IG_ACTION_TERMINATE,
	IG_ACTION_TERMINATE_EPOCH,
	IG_ACTION_EARLY_STOPPING,
	IG_ACTION_TERMINATE_ON_NAN,
	IG_ACTION_EVALUATE,
};
enum ig_split {
	IG_SPLIT_TRAIN,
	IG_SPLIT_VAL
};
/* The exec worker's resource limits (setrlimit(2)'s RLIMIT_CPU, _AS, ...). */
enum ig_rlimit {
	IG_RLIMIT_CPU, /* seconds of CPU time */
	IG_RLIMIT_AS, /* bytes of address space */
	IG_RLIMIT_NOFILE, /* open file descriptors */
	IG_RLIMIT_NPROC, /* processes of the worker's uid */
	IG_RLIMIT_CORE, /* bytes of a core dump */
	IG_RLIMIT_FSIZE, /* bytes of a file written */
	IG_RLIMIT_COUNT
};
enum ig_mode {
	IG_MODE_MIN,
	IG_MODE_MAX
};
/* What a notify entry fires on (its on: [...]). */
enum ig_notify_on {
	IG_NOTIFY_COMPLETED,
	IG_NOTIFY_FAILED,
	IG_NOTIFY_TERMINATED,
	IG_NOTIFY_PAUSED,
	IG_NOTIFY_NAN, /* a metric first NaN or infinite, once a run */
	IG_NOTIFY_COUNT
};
/* notify: at most IG_NOTIFY_MAX entries, each a command of at most
 * IG_NOTIFY_ARGV_MAX strings of at most IG_NOTIFY_ARG_MAX bytes, killed
 * after its timeout_ms (default IG_NOTIFY_TIMEOUT_MS). */
#define IG_NOTIFY_MAX 16
#define IG_NOTIFY_ARGV_MAX 64
#define IG_NOTIFY_ARG_MAX 4096
#define IG_NOTIFY_TIMEOUT_MS 30000
#define IG_NOTIFY_TIMEOUT_MAX_MS 600000

/* The wire names of the enums above ("builtin", "csv", "running_average",
 * "early_stopping", ...); NULL when v is out of range. */
const char *ig_engine_kind_name(int v);
const char *ig_data_kind_name(int v);
const char *ig_metric_kind_name(int v);
const char *ig_action_name(int v);
const char *ig_rlimit_name(int v); /* "cpu", "as", "nofile", ... */
const char *ig_notify_on_name(int v); /* "completed", ..., "nan" */

/* The data kind called name (len bytes), or -1. */
int ig_data_kind_find(const char *name, size_t len);
/* Its short form (enum ig_data_form); IG_DATA_FORM_NONE when kind is out
 * of range. */
int ig_data_kind_form(int kind);

typedef struct ig_spec_engine {
	int kind; /* enum ig_engine_kind */
	char *target; /* builtin: its name; plugin: the .so path */
	ig_strv argv; /* exec: the command */
} ig_spec_engine;

/* A parameter for the process function. */
typedef enum ig_param_type {
	IG_PARAM_INT,
	IG_PARAM_DOUBLE,
	IG_PARAM_BOOL,
	IG_PARAM_STR
} ig_param_type;
typedef struct ig_spec_param {
	char *key;
	ig_param_type type;
	union {
		int64_t i;
		double d;
		bool b;
		char *s;
	} v;
} ig_spec_param;

/* A CSV column by name (name set) or by 0-based index (name NULL). */
typedef struct ig_column {
	char *name;
	int64_t index;
} ig_column;

typedef struct ig_spec_data {
	int kind; /* enum ig_data_kind */
	int64_t n; /* range: items, >= 1 */
	char *path; /* csv, msgpack */
	int64_t batch_size; /* csv, msgpack: rows per batch; IG_NONE: 1 */
	bool shuffle; /* range, csv, msgpack; false by default */
	ig_column *columns; /* csv: features; none: all but the label */
	size_t ncolumns;
	ig_column label; /* csv: name NULL and index IG_NONE when none */
	bool header; /* csv: first line names the columns; default true */
	double split; /* csv, msgpack: validation fraction in [0, 1) */
	double scale; /* csv: divide every feature by it; 0: none */
	bool scale_standard; /* csv: scale "standard": each feature to mean 0
	                         * and std 1, over the train rows */
} ig_spec_data;

typedef struct ig_spec_metric {
	char name[IG_NAME_MAX + 1];
	int kind; /* enum ig_metric_kind */
	char *field; /* output field; accuracy: predictions ("y_pred") */
	char *target; /* accuracy: labels ("y"); else NULL */
	double threshold; /* accuracy: binary at this score; < 0 multi-class */
	double alpha; /* running_average: 0 < alpha < 1, default 0.98 */
	int split; /* enum ig_split: which data it measures */
} ig_spec_metric;

typedef struct ig_spec_handler {
	const char *event; /* a core event's name (static) */
	int64_t every, before, after; /* 0 when absent, as in ig_filter */
	int64_t *once;
	size_t nonce;
	int action; /* enum ig_action */
	char *metric; /* early_stopping: the metric it watches */
	int64_t patience; /* early_stopping: epochs without progress */
	int mode; /* early_stopping: enum ig_mode, default max */
	double min_delta; /* early_stopping: >= 0, default 0 */
	char *field; /* terminate_on_nan: output field; NULL: all */
	char *message; /* log: the line; NULL: the default line */
} ig_spec_handler;

typedef struct ig_spec_checkpoint {
	int64_t every; /* iterations; IG_NONE: not by count */
	double seconds; /* 0: not by time */
	bool epoch_completed; /* default true */
	int64_t n_saved; /* keep the last N, >= 1; default 2 */
	/* best: besides the last N, keep the best_n with the best value of
	 * best_metric ("" when absent), as Ignite's score_function */
	char best_metric[IG_NAME_MAX + 1];
	int best_mode; /* enum ig_mode, default max */
	int64_t best_n; /* >= 1, default 1 */
	char *dir; /* absolute; NULL: the daemon's --checkpoint-dir */
} ig_spec_checkpoint;

typedef struct ig_spec_worker {
	int64_t timeout_ms; /* IG_NONE: the daemon's default; at most
	                         * IG_WORKER_TIMEOUT_MAX_MS */
	int64_t max_restarts; /* IG_NONE: the daemon's default */
	ig_strv env; /* "KEY=VALUE" entries */
	char *cwd; /* NULL: the daemon's choice */
	/* by enum ig_rlimit: soft and hard limit, >= 0; IG_NONE: inherited */
	int64_t rlimits[IG_RLIMIT_COUNT];
} ig_spec_worker;

/* What a run holds while it runs (ignited --gpus, --cpus): a run waits
 * queued until they are free. */
typedef struct ig_spec_resources {
	int64_t gpus; /* >= 0, default 0 */
	int64_t cpus; /* CPU slots, >= 1, default 1 */
} ig_spec_resources;

/* Where an exec worker runs: NULL (absent) strings and IG_NONE integers
 * are Slurm's defaults.  set: placement.slurm was given, and the worker is
 * submitted with sbatch and dials back (ignited --worker-listen). */
typedef struct ig_spec_slurm {
	bool set;
	char *partition, *gres, *mem, *time, *account, *qos, *constraint;
	int64_t nodes, ntasks_per_node, cpus_per_task; /* >= 1 */
	ig_strv extra_args; /* sbatch options, each starting with - */
} ig_spec_slurm;

/* A command run as the run's owner when one of its events happens. */
typedef struct ig_spec_notify {
	unsigned on; /* bit 1u << enum ig_notify_on per event */
	ig_strv exec; /* argv; exec[0] searched in PATH */
	int64_t timeout_ms; /* IG_NONE: IG_NOTIFY_TIMEOUT_MS */
} ig_spec_notify;

typedef struct ig_spec {
	ig_spec_engine engine;
	char name[IG_NAME_MAX + 1]; /* "" when unnamed */
	ig_spec_param *params;
	size_t nparams;
	ig_spec_data data;
	int64_t max_epochs, epoch_length, seed; /* IG_NONE when absent */
	ig_spec_metric *metrics;
	size_t nmetrics;
	ig_spec_handler *handlers;
	size_t nhandlers;
	ig_spec_checkpoint checkpoint;
	void *state_dict; /* the map's msgpack bytes, or NULL */
	size_t state_dict_len;
	ig_spec_worker worker;
	ig_spec_resources resources;
	ig_spec_slurm slurm; /* placement.slurm */
	int64_t priority; /* default 0; above 0 only root's runs */
	bool preemptible; /* default false */
	ig_spec_notify *notify;
	size_t nnotify;
	ig_tag *tags; /* KEY: a name; value: a str, at most IG_TAG_VALUE_MAX
	               * bytes */
	size_t ntags;
} ig_spec;

/*
 * Read the spec map o into a new *out.  Returns 0, or
 * IG_PROTO_INVALID_PARAMS with a message that names the field's path
 * ("handlers[2].every: expected a positive integer, got 0"), or
 * IG_PROTO_INTERNAL when out of memory; *out is then NULL.
 */
int ig_spec_read(const msgpack_object *o, ig_spec **out, ig_err *err);
void ig_spec_free(ig_spec *spec);

/* The canonical form: every default spelled out, data as a map, exec as an
 * argv array.  Reading it back gives the same spec. */
void ig_spec_pack(msgpack_packer *pk, const ig_spec *spec);
/* Its params alone, as a map: what a process function is given. */
void ig_spec_params_pack(msgpack_packer *pk, const ig_spec *spec);

#ifdef __cplusplus
}
#endif
#endif
