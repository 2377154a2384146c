/*
 * protocol.h - the wire protocol between ignited, its clients and its workers.
 *
 * A frame is a 4-byte big-endian length followed by exactly one msgpack
 * object shaped as msgpack-RPC:
 *
 *	request       [0, msgid, method, params]
 *	response      [1, msgid, error, result]    error: nil or {code, message}
 *	notification  [2, method, params]
 *
 * docs/PROTOCOL.md is the contract; this header is the C side of it.
 *
 * Conventions: functions that can fail return 0 or an IG_PROTO_* code and
 * fill an ig_err with a message meant for the user.  Objects handed out as
 * `const msgpack_object *` point into a decoded message and live as long as
 * it does.  Everything a function allocates is named at its declaration,
 * with the function that frees it.
 */
#ifndef IGNITE_PROTOCOL_H
#define IGNITE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef IG_NONE
#define IG_NONE INT64_C(-1) /* same token sequence as engine.h */
#endif

#define IG_PROTO_VERSION 1 /* the newest version we speak */
#define IG_FRAME_HEADER 4 /* length prefix, big-endian */
#define IG_FRAME_MAX_DEFAULT (16u << 20) /* body bytes; 16 MiB */
#define IG_FRAME_MAX_DEPTH 32 /* nested arrays and maps */
#define IG_NAME_MAX 64 /* run and metric names */
#define IG_RUN_METRICS_MAX 1024 /* metrics a worker may add to a run */

/* Message types: the first element of every frame. */
enum ig_msg_type {
	IG_MSG_REQUEST = 0,
	IG_MSG_RESPONSE = 1,
	IG_MSG_NOTIFY = 2,
};

/*
 * Error codes.  Stable: they go on the wire and into scripts; never renumber.
 * 1-99 answer a request that was well framed; the connection stays up.
 * 100-199 say a frame could not be used; the receiver reports the error (a
 * notification "error") and closes the stream, which is out of step.
 */
enum ig_proto_code {
	IG_PROTO_OK = 0,
	IG_PROTO_BAD_REQUEST =
	    1, /* well formed, but not a request we take now */
	IG_PROTO_UNKNOWN_METHOD = 2,
	IG_PROTO_INVALID_PARAMS =
	    3, /* a param is missing, unknown or has the wrong type */
	IG_PROTO_NOT_FOUND = 4, /* no such run */
	IG_PROTO_PERMISSION_DENIED = 5, /* the run belongs to another uid */
	IG_PROTO_CONFLICT =
	    6, /* not in this state: name taken, run finished... */
	IG_PROTO_UNAVAILABLE =
	    7, /* shutting down, or out of a resource; retry later */
	IG_PROTO_INTERNAL = 8, /* our bug or out of memory; see the message */
	IG_PROTO_TOO_LARGE = 9, /* the answer would exceed the frame limit */
	IG_PROTO_VERSION_MISMATCH =
	    10, /* no common protocol version, or no hello yet */

	IG_PROTO_FRAME_EMPTY = 100, /* length prefix 0 */
	IG_PROTO_FRAME_TOO_LARGE = 101, /* length prefix over the limit */
	IG_PROTO_FRAME_TRUNCATED =
	    102, /* the object runs past the frame, or the stream ended mid-frame */
	IG_PROTO_FRAME_TRAILING = 103, /* bytes after the object */
	IG_PROTO_FRAME_INVALID =
	    104, /* a byte that starts no msgpack object (0xc1) */
	IG_PROTO_FRAME_TOO_DEEP = 105, /* nesting over IG_FRAME_MAX_DEPTH */
	IG_PROTO_FRAME_COUNT =
	    106, /* array/map count larger than the bytes left */
	IG_PROTO_FRAME_UTF8 = 107, /* a str that is not valid UTF-8 */
	IG_PROTO_MSG_NOT_ARRAY = 110, /* the object is not an array */
	IG_PROTO_MSG_ARITY = 111, /* wrong element count for its type */
	IG_PROTO_MSG_TYPE = 112, /* type not 0, 1 or 2 */
	IG_PROTO_MSG_MSGID = 113, /* msgid not an unsigned 32-bit integer */
	IG_PROTO_MSG_METHOD = 114, /* method not a non-empty str without NUL */
	IG_PROTO_MSG_PARAMS = 115, /* params neither array nor map */
	IG_PROTO_MSG_ERROR =
	    116, /* response error neither nil nor {code, message} */
};

/* "INVALID_PARAMS" for IG_PROTO_INVALID_PARAMS; "UNKNOWN" for others. */
const char *ig_proto_code_name(int code);
/* Does this code mean the stream must be closed? */
bool ig_proto_code_fatal(int code);

/* An error as a value: a code and a message a user can act on. */
#define IG_ERR_MAX 256
typedef struct ig_err {
	int code; /* IG_PROTO_*; 0 when none */
	char message[IG_ERR_MAX];
} ig_err;

/* Set err (which may be NULL) and return code.  A message that does not
 * fit ends in "..." rather than being cut silently. */
int ig_err_set(ig_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- decoding ----------------------------------------------------------- */

/*
 * A decoded message.  Its pointers lead into the decoder (or into the bytes
 * it was decoded from): valid until the next ig_decoder_feed() or
 * ig_decoder_free() on the same decoder, and only while those bytes are
 * left alone.  Copy what must live longer.
 */
typedef struct ig_msg {
	int type; /* enum ig_msg_type */
	uint32_t msgid; /* requests and responses */
	const char *method; /* requests and notifications; NUL-terminated */
	const msgpack_object
	    *params; /* requests and notifications: array or map */
	int error_code; /* responses: 0 when error is nil */
	const char *error_message; /* responses with an error, else NULL */
	const msgpack_object *result; /* responses */
} ig_msg;

/*
 * Decode one frame body (the bytes after the length prefix).  Checks the
 * whole body with a bounded walk (depth, counts against bytes left, UTF-8,
 * trailing bytes) before msgpack-c allocates anything, then the msgpack-RPC
 * shape.  The objects are allocated in zone (the caller's; clear it to free
 * them) and strings point into body.  Returns 0, a code >= 100, or
 * IG_PROTO_INTERNAL when out of memory.
 */
int ig_frame_decode(
    const void *body, size_t len, msgpack_zone *zone, ig_msg *msg, ig_err *err);

/* A streaming decoder for one byte stream. */
typedef struct ig_decoder ig_decoder;

/* max_frame: the largest body accepted, 0 for IG_FRAME_MAX_DEFAULT.
 * Returns NULL when out of memory.  Free with ig_decoder_free(). */
ig_decoder *ig_decoder_new(size_t max_frame);
void ig_decoder_free(ig_decoder *d);

enum ig_decode_result {
	IG_DECODE_ERROR =
	    -1, /* see ig_decoder_error(); the decoder stays failed */
	IG_DECODE_MORE = 0, /* all of buf is taken; feed more */
	IG_DECODE_MESSAGE = 1, /* *msg is set; feed the rest of buf again */
	IG_DECODE_FRAME =
	    2, /* a deferred frame is whole: ig_decoder_decode() */
};

/*
 * Take bytes from buf until one message is complete or buf is used up;
 * *used says how many were taken.  Any split of a stream into chunks yields
 * the same messages.  Memory stays within one frame: a body is buffered as
 * its bytes arrive, never allocated from the length prefix alone, and a
 * frame that lies whole in buf is decoded in place.  So a typical read
 * callback is:
 *
 *	while (len > 0) {
 *		r = ig_decoder_feed(d, p, len, &used, &msg);
 *		p += used, len -= used;
 *		if (r == IG_DECODE_ERROR) -> report, close
 *		if (r == IG_DECODE_MESSAGE) -> handle msg
 *	}
 */
int ig_decoder_feed(
    ig_decoder *d, const void *buf, size_t len, size_t *used, ig_msg *msg);

/*
 * Frames with a body of min_body bytes or more (0: none, the default) are
 * not decoded by ig_decoder_feed(), which returns IG_DECODE_FRAME once one
 * is whole; ig_decoder_decode() then decodes it into *msg.  That call may
 * run on another thread, as long as nothing else uses the decoder until it
 * returns: decoding a large frame can take longer than an event loop
 * should wait.
 */
void ig_decoder_defer(ig_decoder *d, size_t min_body);
/* IG_DECODE_MESSAGE or IG_DECODE_ERROR, as ig_decoder_feed() would say. */
int ig_decoder_decode(ig_decoder *d, ig_msg *msg);
/* Be done with the message handed out last now, rather than at the next
 * ig_decoder_feed(): a large frame's memory goes back, which takes a while
 * too.  May run on another thread, as ig_decoder_decode() may. */
void ig_decoder_release(ig_decoder *d);

/* Keep a body buffer of up to bytes (64 KiB unless set) for the next
 * frame rather than give it back: a client that reads frame after large
 * frame (a long history, page by page) reuses one buffer instead of
 * allocating, copying and faulting in a new one each time.  A daemon
 * with many peers leaves it at its default. */
void ig_decoder_keep(ig_decoder *d, size_t bytes);

/* Bytes the decoder holds for a frame being received (its body buffer). */
size_t ig_decoder_buffered(const ig_decoder *d);

/* The stream ended: 0 when it ended between frames, else
 * IG_PROTO_FRAME_TRUNCATED (and the decoder fails). */
int ig_decoder_eof(ig_decoder *d);

/* The error that failed the decoder (code 0 while it has not failed). */
const ig_err *ig_decoder_error(const ig_decoder *d);

/* ---- encoding ----------------------------------------------------------- */

/*
 * A frame being written at the end of sb (which may already hold frames,
 * so replies can be batched into one write).  Begin it, pack the rest of
 * the object with f.pk, end it.  The frame must not move in between: pk
 * points at it.  Write failures are kept and reported by ig_frame_end(),
 * so the pack calls in between need no checks.
 */
typedef struct ig_frame {
	msgpack_packer pk;
	msgpack_sbuffer *sb;
	size_t start; /* where the length prefix sits in sb */
	size_t limit; /* largest body; IG_FRAME_MAX_DEFAULT unless changed */
	int error; /* sticky IG_PROTO_* code */
} ig_frame;

/* A bare frame: pack one whole object. */
void ig_frame_begin(ig_frame *f, msgpack_sbuffer *sb);
/* Packs [0, msgid, method, ; then pack the params. */
void ig_frame_request(
    ig_frame *f, msgpack_sbuffer *sb, uint32_t msgid, const char *method);
/* Packs [1, msgid, nil, ; then pack the result. */
void ig_frame_response(ig_frame *f, msgpack_sbuffer *sb, uint32_t msgid);
/* Packs [2, method, ; then pack the params. */
void ig_frame_notify(ig_frame *f, msgpack_sbuffer *sb, const char *method);
/*
 * Patch in the length.  Returns 0, IG_PROTO_TOO_LARGE when the body passed
 * f->limit, or IG_PROTO_INTERNAL when out of memory; on error sb is back to
 * what it held before the frame began.
 */
int ig_frame_end(ig_frame *f, ig_err *err);

/* Drop the frame being written: sb goes back to what it held before
 * ig_frame_begin(), e.g. to send an error reply instead.  f is spent:
 * packing into it does nothing and ig_frame_end() fails. */
void ig_frame_abort(ig_frame *f);

/* A complete error response [1, msgid, {code, message}, nil]. */
int ig_pack_error(msgpack_sbuffer *sb, uint32_t msgid, const ig_err *e);
/* A complete notification "error" {code, message}: what a peer sends
 * before it closes a stream whose frames it cannot use. */
int ig_pack_error_notify(msgpack_sbuffer *sb, const ig_err *e);

/* Pack a C string; NULL packs nil. */
void ig_pack_str(msgpack_packer *pk, const char *s);
/* Pack an integer that may be IG_NONE ("not known"): IG_NONE packs nil. */
void ig_pack_opt_int(msgpack_packer *pk, int64_t v);

/* ---- reading maps ------------------------------------------------------- */

/* The value of key in map m; NULL when absent or m is not a map. */
const msgpack_object *ig_map_get(const msgpack_object *m, const char *key);
/* Any msgpack number (integer or float) as a double; false for others. */
bool ig_obj_number(const msgpack_object *o, double *v);

/* What a field must hold, and the C type that `out` points to. */
typedef enum ig_ftype {
	IG_F_INT, /* int64_t, any integer */
	IG_F_UINT, /* int64_t, >= 0 */
	IG_F_POS, /* int64_t, >= 1 */
	IG_F_DOUBLE, /* double, finite; integers are taken too */
	IG_F_BOOL, /* bool */
	IG_F_STR, /* char *, malloc'd, without NUL bytes */
	IG_F_NAME, /* char[IG_NAME_MAX + 1], a name (ig_name_check) */
	IG_F_STRV, /* ig_strv, an array of strings as IG_F_STR */
	IG_F_ENUM, /* int, index into names[] of the string given */
	IG_F_RUN, /* ig_run_ref: a run id (>= 1) or name */
	IG_F_MAP, /* const msgpack_object *, a map */
	IG_F_ARRAY, /* const msgpack_object *, an array */
	IG_F_ANY, /* const msgpack_object *, any value */
} ig_ftype;

typedef struct ig_fdef {
	const char *key;
	ig_ftype type;
	bool required;
	const char *const *names; /* IG_F_ENUM: NULL-terminated choices */
	void *out;
} ig_fdef;

/* An array of strings, NULL-terminated (v[n] == NULL).  Free with ig_strv_free. */
typedef struct ig_strv {
	char **v;
	size_t n;
} ig_strv;
void ig_strv_free(ig_strv *sv);

/* A run named by id or name: id > 0, or id == 0 and name set. */
typedef struct ig_run_ref {
	int64_t id;
	char name[IG_NAME_MAX + 1];
} ig_run_ref;

#define IG_READ_ALLOW_UNKNOWN 0x1 /* skip keys not in defs (reading replies) */

/*
 * Read map m (usually a request's params) into the fields defs describe.
 * A field that is absent or nil keeps its out value (the default) unless
 * required.  Unknown and duplicate keys are errors unless flags allow
 * unknown ones.  where prefixes the field in messages ("handlers[2]" gives
 * "handlers[2].every: expected a positive integer"); NULL for none.
 *
 * Returns 0, or IG_PROTO_INVALID_PARAMS with err set; IG_PROTO_INTERNAL when
 * out of memory or given more than 64 defs.  Strings go to IG_F_STR and
 * IG_F_STRV outs, which must start NULL / zeroed; on success the caller
 * frees them, on error nothing is left allocated.
 */
int ig_map_read(const msgpack_object *m, const char *where, const ig_fdef *defs,
    size_t n, unsigned flags, ig_err *err);

/* The length of the valid UTF-8 sequence at s (len >= 1 bytes), 1 for
 * ASCII; 0 when s does not start one. */
size_t ig_utf8_seq(const unsigned char *s, size_t len);
/* s (len bytes) as a valid UTF-8 string: each byte that is not part of a
 * valid sequence, and each NUL, becomes U+FFFD.  malloc'd; NULL when out of
 * memory. */
char *ig_utf8_repair(const char *s, size_t len);

/* Is s (len bytes) a valid name: 1..IG_NAME_MAX of [A-Za-z0-9_.-], first a
 * letter, digit or '_', not all digits (those are run ids)?  Returns 0 or
 * IG_PROTO_INVALID_PARAMS with a message naming what (the field) is wrong. */
int ig_name_check(const char *s, size_t len, const char *what, ig_err *err);

/* ---- messages ----------------------------------------------------------- */

/*
 * The *_pack() functions below write one value with pk; given a frame's
 * f.pk, their write errors surface at ig_frame_end().  The *_unpack()
 * functions skip keys they do not know, so that a newer daemon can add
 * some (ig_worker_output_unpack() alone is strict: it catches a worker's
 * typos).
 */

/* Run status, as the strings "queued", "running", ... on the wire. */
enum ig_status {
	IG_STATUS_QUEUED = 0,
	IG_STATUS_RUNNING,
	IG_STATUS_PAUSED,
	IG_STATUS_COMPLETED,
	IG_STATUS_TERMINATED,
	IG_STATUS_FAILED,
	IG_STATUS_COUNT
};
extern const char *const ig_status_names[]; /* NULL-terminated, for IG_F_ENUM */
/* "running" for IG_STATUS_RUNNING; NULL when out of range. */
const char *ig_status_name(int status);

/* hello: the client sends {versions: [...]}.  Pick the highest version both
 * speak, or fail with IG_PROTO_VERSION_MISMATCH naming both sides'. */
int ig_hello_negotiate(const msgpack_object *params, int *version, ig_err *err);

/* A metric's value by name. */
typedef struct ig_named_value {
	char *name;
	double value;
} ig_named_value;

/* A run's tag (the spec's tags): a name and a str of at most
 * IG_TAG_VALUE_MAX bytes. */
typedef struct ig_tag {
	char *key;
	char *value;
} ig_tag;

/* A run as list and status show it.  Absent integers are IG_NONE; absent
 * strings NULL.  Unpacked summaries own their strings and metrics array:
 * free them with ig_summary_clear(). */
typedef struct ig_summary {
	int64_t id;
	char *name;
	int64_t owner; /* uid */
	int status; /* enum ig_status */
	int64_t epoch, iteration;
	int64_t max_epochs, epoch_length;
	double rate; /* iterations per second, recent */
	ig_named_value *metrics;
	size_t nmetrics;
	char *reason; /* why it ended or failed */
	int64_t created, started, finished; /* unix seconds */
	int64_t gpus, cpus; /* what it asks (spec resources) */
	char *devices; /* the GPUs it holds, "0,1"; NULL: none */
	int64_t priority;
	int64_t queue_position; /* 1-based; IG_NONE (or 0) unless queued */
	char *waiting_for; /* while queued: "1 GPU" */
	int64_t preempted_by; /* queued by a preemption: the run it stopped
	                       * for; IG_NONE (or 0) otherwise */
	ig_tag *tags; /* the spec's, in its order */
	size_t ntags;
	char *throttled; /* what holds a running run back: "store"; NULL */
} ig_summary;

void ig_summary_pack(msgpack_packer *pk, const ig_summary *s);
/* Tags as a map KEY -> VALUE. */
void ig_tags_pack(msgpack_packer *pk, const ig_tag *tags, size_t n);
/* Fills s (which need not be initialised); on error s holds nothing. */
int ig_summary_unpack(const msgpack_object *o, ig_summary *s, ig_err *err);
void ig_summary_clear(ig_summary *s);

/* Notification "progress". */
typedef struct ig_progress {
	int64_t id, epoch, iteration;
	int64_t epoch_length, max_epochs; /* IG_NONE when unknown */
	double rate; /* iterations per second */
	double eta; /* seconds; < 0 when unknown */
} ig_progress;
void ig_progress_pack(msgpack_packer *pk, const ig_progress *p);
int ig_progress_unpack(const msgpack_object *o, ig_progress *p, ig_err *err);

/* Notification "event": an engine event fired.  event is malloc'd by
 * unpack; free it with ig_event_note_clear(). */
typedef struct ig_event_note {
	int64_t id;
	char *event;
	int64_t epoch, iteration;
} ig_event_note;
void ig_event_note_pack(msgpack_packer *pk, const ig_event_note *ev);
int ig_event_note_unpack(
    const msgpack_object *o, ig_event_note *ev, ig_err *err);
void ig_event_note_clear(ig_event_note *ev);

/* Notification "status": a run changed status.  reason is malloc'd by
 * unpack (NULL when none); free it with ig_status_note_clear(). */
typedef struct ig_status_note {
	int64_t id;
	int status;
	char *reason;
	char *throttled; /* as in ig_summary: "store" or NULL */
} ig_status_note;
void ig_status_note_pack(msgpack_packer *pk, const ig_status_note *st);
int ig_status_note_unpack(
    const msgpack_object *o, ig_status_note *st, ig_err *err);
void ig_status_note_clear(ig_status_note *st);

/* Notification "log" and the lines of the logs method.  message is
 * malloc'd by unpack; free it with ig_log_line_clear(). */
typedef struct ig_log_line {
	int64_t id;
	double time; /* unix seconds */
	char *message;
} ig_log_line;
void ig_log_line_pack(msgpack_packer *pk, const ig_log_line *l);
int ig_log_line_unpack(const msgpack_object *o, ig_log_line *l, ig_err *err);
void ig_log_line_clear(ig_log_line *l);

/* One of a run's checkpoints, as the checkpoints method lists them.  file
 * is malloc'd by unpack (NULL: the state is in the database); free it with
 * ig_ckpt_info_clear(). */
typedef struct ig_ckpt_info {
	int64_t iteration, epoch;
	int64_t size; /* bytes: the file's, or the state's in the database */
	double time; /* unix seconds, when it was cut */
	double score; /* checkpoint.best's metric then; NAN when none */
	char *file;
	bool last; /* kept as one of the last n_saved */
	bool best; /* kept as one of the best n */
} ig_ckpt_info;
void ig_ckpt_info_pack(msgpack_packer *pk, const ig_ckpt_info *c);
int ig_ckpt_info_unpack(const msgpack_object *o, ig_ckpt_info *c, ig_err *err);
void ig_ckpt_info_clear(ig_ckpt_info *c);

/* ---- metric history ----------------------------------------------------- */

typedef struct ig_point {
	int64_t epoch, iteration;
	double time; /* unix seconds */
	double value;
} ig_point;

/* One named series.  Unpacked series own name and points. */
typedef struct ig_series {
	char *name;
	ig_point *points;
	size_t n;
} ig_series;

/*
 * A batch of series, packed as {name: {epoch, iteration, time, value}}:
 * parallel columns, each a bin of 8-byte big-endian numbers (epoch and
 * iteration unsigned, time and value float64): 32 bytes a point, one
 * msgpack object a column.  A `metrics` answer may carry only the
 * columns asked for (its `columns` param): the mask of IG_COL_* bits.
 */
enum {
	IG_COL_EPOCH = 1,
	IG_COL_ITERATION = 2,
	IG_COL_TIME = 4,
	IG_COL_VALUE = 8,
	IG_COL_ALL = 15
};
/* The IG_COL_* bit of a column's name, 0 when it names none. */
unsigned ig_series_column(const char *name);
void ig_series_pack(msgpack_packer *pk, const ig_series *s, size_t n);
/*
 * msgpack_sbuffer_write, one copy of it for every file: the header's is
 * static inline, so that a packer's callback cannot be told to be it.  A
 * packer made with this one over a msgpack_sbuffer has the columns
 * written straight into its buffer, in one pass over the points.
 */
int ig_sbuffer_write(void *data, const char *buf, size_t len);

/* One series held as columns of n numbers (the daemon's page of history),
 * packed as ig_series_pack() packs points: only the columns in the mask
 * of IG_COL_* bits, which must not be NULL. */
typedef struct ig_columns {
	const char *name;
	const int64_t *epoch, *iteration;
	const double *time, *value;
	size_t n;
} ig_columns;
void ig_columns_pack(
    msgpack_packer *pk, const ig_columns *s, size_t n, unsigned columns);
/* At least the bytes ig_columns_pack() packs: a buffer of that size takes
 * them without growing. */
size_t ig_columns_packed_size(const ig_columns *s, size_t n, unsigned columns);
/* *out is a malloc'd array of *n series; free with ig_series_free().  A
 * column the batch leaves out reads as 0 in every point. */
int ig_series_unpack(
    const msgpack_object *o, ig_series **out, size_t *n, ig_err *err);
void ig_series_free(ig_series *s, size_t n);

/*
 * Large arrays written front to back (a history page, the frame carrying
 * it) fault in 2 MiB at a time where the kernel offers transparent huge
 * pages.  ig_mem_alloc_large is malloc with that hint (free with free());
 * ig_mem_advise_huge gives it for memory already allocated.
 */
void *ig_mem_alloc_large(size_t len);
void ig_mem_advise_huge(void *p, size_t len);

/* ---- the worker protocol ------------------------------------------------ */

/* One field of a process result: a number, or an array (cols 1) or an
 * array of equal rows (rows x cols, row-major). */
typedef struct ig_wfield {
	char *name;
	double value; /* scalars */
	double *data; /* NULL for scalars, else len values */
	size_t len, cols;
} ig_wfield;

/* A worker's answer to process: {output: {name: value}, metrics?: {name:
 * number}}.  Owns everything; free with ig_worker_output_clear(). */
typedef struct ig_worker_output {
	ig_wfield *fields;
	size_t nfields;
	ig_named_value *metrics;
	size_t nmetrics;
} ig_worker_output;
int ig_worker_output_unpack(
    const msgpack_object *result, ig_worker_output *out, ig_err *err);
void ig_worker_output_clear(ig_worker_output *out);

/* A batch for the process request, as a data source gives it: index, then
 * x (rows arrays of cols numbers) and y (rows numbers) when present, raw
 * (one msgpack object, inlined as is) when present.  Returns
 * IG_PROTO_INVALID_PARAMS, having packed nothing, when raw is not exactly
 * one well-formed msgpack object: abort the frame then. */
typedef struct ig_wbatch {
	int64_t index;
	size_t rows, cols;
	const double *x, *y;
	const void *raw;
	size_t raw_len;
} ig_wbatch;
int ig_wbatch_pack(msgpack_packer *pk, const ig_wbatch *b, ig_err *err);

#ifdef __cplusplus
}
#endif
#endif
