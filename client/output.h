/*
 * output.h - what ignitectl prints, as one table of functions per form:
 * output_text for people (output_text.c, with text_metrics.c and
 * text_watch.c), output_json for scripts (output_json.c).  --json points
 * ctl->output at output_json, once, where the options are read; the
 * commands fetch and check the daemon's answers and hand them here, and
 * never ask which form is in use.
 *
 * Functions that print return an exit status and fill ctl->e; those that
 * start a list or add to it (ls_start, ls_row, logs_start, logs_line,
 * ckpts_start, ckpts_row)
 * return 0, or -1 when out of memory or the output failed, and leave the
 * message to the command.  Errors go to stderr the same in both forms
 * (report() in dispatch.c).
 */
#ifndef OUTPUT_H
#define OUTPUT_H

#include "ignitectl.h"

/* A run's metric history (cmd_metrics.c): every series so far; each page
 * adds points to the series of their name. */
struct history {
	const char *run; /* as the user named it */
	int64_t id; /* the run's, from the answer */
	double start; /* the run's start, unix seconds (0: not started) */
	ig_series *s;
	size_t n;
};

/* What metrics aligns runs on: iterations, epochs, or wall time (each
 * point's time since its run's start; by iteration on the wire). */
enum maxis {
	AX_ITERATION,
	AX_EPOCH,
	AX_WALL,
};

/* A metrics request about one run (cmd_metrics.c). */
struct mquery {
	const char *run; /* an id or a name */
	const char *const *names; /* nnames series; none: all */
	size_t nnames;
	enum maxis axis; /* wall asks by iteration */
	int64_t from, to, max_points; /* IG_NONE when not given */
	bool minmax; /* buckets of max_points: as points, min then max */
	double *started; /* when not NULL: the run's start from the answer */
	unsigned columns; /* IG_COL_* to ask for; 0: all four */
};

/* Called with each page of a history in turn: the run's id and the page's
 * series, freed after the call (take what is kept, and leave NULL).
 * Returns an exit status; anything but CTL_OK stops the reading. */
typedef int page_fn(
    struct ctl *, void *arg, int64_t id, ig_series *s, size_t n);
/* Read q's history page by page, from q.from on, as the daemon pages it
 * (PROTOCOL.md, metrics): a page at a time in memory, however long. */
int history_pages(struct ctl *ctl, struct mquery q, page_fn *fn, void *arg);

/* What ls shows beyond the summaries (cmd_runs.c). */
struct ls_cols {
	bool tags; /* a TAGS column */
	const char *metric; /* --metric: its statistics, or NULL */
	bool lowest_best; /* --metric NAME:min: best is the lowest */
};

/* A series over its whole history, for ls --metric. */
struct mstats {
	size_t n; /* points; 0 when the run has none */
	double last; /* the last point's value, NaN or not */
	double min, max; /* over the values that are not NaN; NaN if none */
	int64_t min_at, max_at; /* the iteration of the first of each */
};

/* The forms of metrics' text: --csv, --plot, else a table. */
enum mformat {
	M_TABLE,
	M_CSV,
	M_PLOT
};

/* A run followed by watch (watch.c): its summary, kept up to date by the
 * notifications, so ls, status and watch show a run the same way. */
struct view {
	ig_summary s; /* owned: cleared by watch_run */
	double eta; /* seconds; < 0 unknown */
	char last[256]; /* the latest event or log line */
	/* the text form's own */
	bool tty; /* redrawn in place, else plain lines */
	int drawn; /* lines of the view on the screen */
	time_t plain_at; /* when the last progress line went out */
};

/* The notifications watch knows; others are newer than us. */
enum note {
	NOTE_PROGRESS,
	NOTE_STATUS,
	NOTE_EVENT,
	NOTE_LOG,
	NOTE_METRICS,
	NOTE_OTHER
};

/* The machine as top shows it (cmd_top.c): the machine method's answer
 * and the running and queued runs. */
struct top_gpu {
	int64_t index; /* as CUDA numbers it */
	int64_t run; /* who holds it; IG_NONE: nobody */
	char *name; /* the holder's; NULL: none */
	int64_t owner;
	int64_t util, mem_used, mem_total; /* IG_NONE: NVML does not say */
};
struct top_frame {
	struct top_gpu *gpus;
	size_t ngpus;
	int64_t cpus_used, cpus_total;
	ig_summary *running; /* by id */
	size_t nrunning;
	ig_summary *queued; /* in the queue's order */
	size_t nqueued;
	bool live; /* one of a series, a second apart */
};

struct output {
	/* cmd_daemon.c */
	int (*ping)(struct ctl *, double ms);
	int (*version)(struct ctl *);
	int (*shutdown)(struct ctl *);
	/* cmd_run.c: res is the answer to run */
	int (*started)(struct ctl *, const msgpack_object *res, int64_t id);
	/* cmd_runs.c.  A list: *list is the form's own; end prints what
	 * is left to print when status is CTL_OK, frees the list in any
	 * case and returns the status. */
	int (*ls_start)(struct ctl *, void **list, const struct ls_cols *);
	/* st: the --metric's statistics, NULL without --metric */
	int (*ls_row)(struct ctl *, void *list, const ig_summary *,
	    const struct mstats *st);
	int (*ls_end)(struct ctl *, void *list, int status);
	/* queue: the queued runs as ls gives them, printed in their order */
	int (*queue_start)(struct ctl *, void **list);
	int (*queue_row)(struct ctl *, void *list, const ig_summary *);
	int (*queue_end)(struct ctl *, void *list, int status);
	int (*status)(struct ctl *, const ig_summary *);
	int (*state)(struct ctl *, json_t *state); /* takes state */
	int (*spec)(struct ctl *, json_t *spec); /* takes spec */
	int (*logs_start)(struct ctl *, void **list);
	int (*logs_line)(struct ctl *, void *list, const ig_log_line *);
	int (*logs_end)(
	    struct ctl *, void *list, const msgpack_object *id, int status);
	int (*ckpts_start)(struct ctl *, void **list);
	int (*ckpts_row)(struct ctl *, void *list, const ig_ckpt_info *);
	int (*ckpts_end)(
	    struct ctl *, void *list, const msgpack_object *id, int status);
	/* an action on run: done says what happens now, res is the answer */
	int (*action)(struct ctl *, const char *run, const char *done,
	    const msgpack_object *res);
	/* cmd_metrics.c: the histories of n runs, in the order asked */
	int (*metrics)(struct ctl *, const struct history *, size_t n,
	    enum maxis, enum mformat);
	/* watch.c: begin once, show before each wait and at the end, note
	 * after each notification has updated v (params and series as they
	 * came; series only for metrics), ended when asking found it over */
	int (*watch_begin)(struct ctl *, struct view *v);
	int (*watch_show)(struct ctl *, struct view *v);
	int (*watch_note)(struct ctl *, struct view *v, enum note,
	    const char *method, const msgpack_object *params,
	    const ig_series *series, size_t nseries);
	int (*watch_ended)(struct ctl *, struct view *v);
	/* cmd_top.c: one frame */
	int (*top)(struct ctl *, const struct top_frame *);
	/* cmd_dashboard.c: where the page is served */
	int (*dashboard)(struct ctl *, const char *url, int port);
};

extern const struct output output_text;
extern const struct output output_json;

/* A notification as watch --json prints it: its params and its "type",
 * a metric batch's series as points.  A new reference, or NULL when out
 * of memory. */
json_t *json_note(const char *method, const msgpack_object *params,
    const ig_series *series, size_t nseries);

/* ---- watch.c ------------------------------------------------------------ */

/* Has a run in status ended: completed, terminated or failed? */
bool run_ended(int status);

/* ---- text_metrics.c, text_watch.c: output_text's larger parts ----------- */

int text_metrics(
    struct ctl *, const struct history *, size_t n, enum maxis, enum mformat);
int text_watch_begin(struct ctl *, struct view *);
int text_watch_show(struct ctl *, struct view *);
int text_watch_note(struct ctl *, struct view *, enum note, const char *,
    const msgpack_object *, const ig_series *, size_t);
int text_watch_ended(struct ctl *, struct view *);

#endif
