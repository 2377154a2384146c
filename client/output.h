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
	int64_t id; /* the run's, from the answer */
	ig_series *s;
	size_t n;
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
	int (*ls_start)(struct ctl *, void **list);
	int (*ls_row)(struct ctl *, void *list, const ig_summary *);
	int (*ls_end)(struct ctl *, void *list, int status);
	/* queue: the queued runs as ls gives them, printed in their order */
	int (*queue_start)(struct ctl *, void **list);
	int (*queue_row)(struct ctl *, void *list, const ig_summary *);
	int (*queue_end)(struct ctl *, void *list, int status);
	int (*status)(struct ctl *, const ig_summary *);
	int (*state)(struct ctl *, json_t *state); /* takes state */
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
	/* cmd_metrics.c */
	int (*metrics)(
	    struct ctl *, const struct history *, bool epochs, enum mformat);
	/* watch.c: begin once, show before each wait and at the end, note
	 * after each notification has updated v (params and series as they
	 * came; series only for metrics), ended when asking found it over */
	int (*watch_begin)(struct ctl *, struct view *v);
	int (*watch_show)(struct ctl *, struct view *v);
	int (*watch_note)(struct ctl *, struct view *v, enum note,
	    const char *method, const msgpack_object *params,
	    const ig_series *series, size_t nseries);
	int (*watch_ended)(struct ctl *, struct view *v);
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
    struct ctl *, const struct history *, bool epochs, enum mformat);
int text_watch_begin(struct ctl *, struct view *);
int text_watch_show(struct ctl *, struct view *);
int text_watch_note(struct ctl *, struct view *, enum note, const char *,
    const msgpack_object *, const ig_series *, size_t);
int text_watch_ended(struct ctl *, struct view *);

#endif
