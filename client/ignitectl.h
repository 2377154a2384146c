/*
 * ignitectl.h - what the files of ignitectl share.
 *
 * Errors are values: a function that can fail returns an exit status
 * (enum ctl_exit, 0 on success) and fills an ig_err with a message the
 * user can act on; only main.c ends the process.  Who owns what is said
 * at each declaration.  What the commands print goes through the table
 * of output functions in output.h, text or JSON.
 */
#ifndef IGNITECTL_H
#define IGNITECTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <getopt.h>
#include <jansson.h>
#include <msgpack.h>

#include "ignite/protocol.h"

#ifndef IGNITE_VERSION
#define IGNITE_VERSION "unknown"
#endif

/* Exit statuses; docs/ignitectl.1 lists them too. */
enum ctl_exit {
	CTL_OK = 0,
	CTL_EDAEMON = 1, /* the daemon answered an error; or the run failed */
	CTL_EUSAGE = 2, /* bad option, argument or spec file */
	CTL_ETERMINATED = 3, /* watch / run --follow: the run was terminated */
	CTL_EUNAVAILABLE = 69, /* no daemon at the socket (EX_UNAVAILABLE) */
	CTL_ELOCAL = 70, /* out of memory, or output failed (EX_SOFTWARE) */
};

/* ---- conn.c: the control socket ----------------------------------------- */

struct conn;

/* Where the daemon's socket is: path when given, else $IGNITE_SOCKET, else
 * the daemon's default for this uid.  *how says which, for messages. */
int conn_socket_path(
    const char *path, char *buf, size_t len, const char **how, ig_err *err);
/* Connect and say hello.  *out is freed with conn_close().  Returns
 * CTL_EUNAVAILABLE with a message naming the path when nobody answers
 * there (then *nobody is set, unless NULL) or the daemon hangs up. */
int conn_open(const char *path, struct conn **out, bool *nobody, ig_err *err);
void conn_close(struct conn *c);
/* The socket, for poll(2): readable when a notification may be there. */
int conn_fd(const struct conn *c);
/* The daemon's name and version from hello, e.g. "ignited 0.1.0". */
const char *conn_daemon(const struct conn *c);

/* A request: pack its params with the packer conn_begin() returns, then
 * conn_call() sends it and waits for the answer (notifications that come
 * first are dropped).  *result lives until the next call or read on c. */
msgpack_packer *conn_begin(struct conn *c, const char *method);
int conn_call(struct conn *c, const msgpack_object **result, ig_err *err);
/* A request whose params are {id: RUN}, RUN an id ("12") or a name. */
int conn_call_run(struct conn *c, const char *method, const char *run,
    const msgpack_object **result, ig_err *err);
/* Pack RUN as the protocol's id: an integer when it is all digits. */
void conn_pack_run(msgpack_packer *pk, const char *run);
/* Wait up to timeout_ms (-1: for ever) for the next notification; its
 * method and params live until the next call or read on c.  *method is
 * NULL when the time ran out. */
int conn_next(struct conn *c, int timeout_ms, const char **method,
    const msgpack_object **params, ig_err *err);

/* ---- dispatch.c: options and the command table --------------------------- */

struct output;

/* What every command gets. */
struct ctl {
	const char *socket; /* --socket, or NULL for the default */
	const struct output *output; /* output_text, or with --json
	                                 * output_json (output.h) */
	FILE *out, *err; /* stdout and stderr; tests pass their own */
	struct conn *conn; /* opened by ctl_connect(); owned here */
	char path[108]; /* the socket ctl_connect() dialled */
	const char *path_how; /* where that path came from (static) */
	bool unreachable; /* nobody answered: report() says what to do */
	const struct command *cmd;
	ig_err e; /* the error a command fails with */
};

struct command {
	const char *name;
	int (*run)(struct ctl *, int, char **);
	const char *args; /* the synopsis after the name */
	const char *help; /* options, description and examples */
};

/* The whole program, minus exit(): returns the exit status. */
int ctl_main(int argc, char **argv, FILE *out, FILE *err);
/*
 * The next option of the current command, with --json, --socket and
 * --help handled for all of them: returns an option's val, -1 after the
 * last one (argv[optind] is then the first operand) or CTL_OPT_DONE when
 * help was printed or the options were bad; *status is then the exit
 * status.
 */
#define CTL_OPT_DONE (-2)
int ctl_getopt(struct ctl *ctl, int argc, char **argv,
    const struct option *opts, int *status);
/* Run the command argv[0] (its options and operands after it) with ctl's
 * socket, output and streams; ctl->e holds its error.  Closes the
 * connection it opened. */
int ctl_command(struct ctl *ctl, int argc, char **argv);
/* Report a usage error of the current command; returns CTL_EUSAGE. */
int ctl_usage(struct ctl *ctl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Exactly n operands left, else a usage error. */
int ctl_operands(struct ctl *ctl, int argc, char **argv, int n);
/* For a command without options of its own: parse, and check that n
 * operands follow.  Returns CTL_CONTINUE to go on, else the exit status
 * (CTL_OK after --help). */
#define CTL_CONTINUE (-1)
int ctl_args(struct ctl *ctl, int argc, char **argv, int n);
/* Connect once; later calls return the same connection. */
int ctl_connect(struct ctl *ctl);
/* Parse a decimal integer within [min, max] for option opt. */
int ctl_number(struct ctl *ctl, const char *opt, const char *s, int64_t min,
    int64_t max, int64_t *out);

/* ---- the commands: cmd_daemon.c, cmd_runs.c, cmd_run.c, cmd_metrics.c,
 * watch.c ------------------------------------------------------------------ */
int cmd_ping(struct ctl *, int, char **);
int cmd_version(struct ctl *, int, char **);
int cmd_shutdown(struct ctl *, int, char **);
int cmd_ls(struct ctl *, int, char **);
int cmd_queue(struct ctl *, int, char **);
int cmd_status(struct ctl *, int, char **);
int cmd_state(struct ctl *, int, char **);
int cmd_terminate(struct ctl *, int, char **);
int cmd_terminate_epoch(struct ctl *, int, char **);
int cmd_pause(struct ctl *, int, char **);
int cmd_resume(struct ctl *, int, char **);
int cmd_rm(struct ctl *, int, char **);
int cmd_logs(struct ctl *, int, char **);
int cmd_checkpoints(struct ctl *, int, char **);
int cmd_spec(struct ctl *, int, char **);
int cmd_export(struct ctl *, int, char **);
int cmd_run(struct ctl *, int, char **);
int cmd_metrics(struct ctl *, int, char **);
int cmd_watch(struct ctl *, int, char **);
int cmd_dashboard(struct ctl *, int, char **);
int cmd_top(struct ctl *, int, char **);
/* The runs in the nstatus statuses, every page of list (cmd_runs.c):
 * *out (n of them) is freed with ig_summary_clear on each, then free. */
int runs_in(struct ctl *ctl, const char *const *status, size_t nstatus,
    ig_summary **out, size_t *n);

/* Follow run (an id or name) until it ends; returns its outcome as an exit
 * status: CTL_OK completed, CTL_EDAEMON failed, CTL_ETERMINATED. */
int watch_run(struct ctl *ctl, const char *run);

/* ---- spec.c: run specs from JSON and flags -------------------------------- */

/* The flags of `ignitectl run` that shape the spec, in the order given. */
struct spec_flag {
	const char *key; /* "engine", "param", "metric", ... */
	const char *value; /* borrowed from argv */
};

/*
 * Build the run spec: the JSON file at spec_path (or {}), then the flags
 * over it, then the state_dict from state_path, with relative data and
 * plugin paths made absolute (a file's against its directory, a flag's
 * against cwd).  *out is a new JSON object (json_decref it).  Returns
 * CTL_EUSAGE with a message naming the file, flag or key that is wrong.
 */
int spec_build(const char *spec_path, const struct spec_flag *flags,
    size_t nflags, const char *state_path, const char *cwd, json_t **out,
    ig_err *err);

/* ---- json.c: JSON from and to msgpack ----------------------------------- */

/* A new reference (json_decref it); NULL when out of memory. */
json_t *json_from_msgpack(const msgpack_object *o);
/* JSON -> msgpack, for specs: integers stay integers, reals floats. */
void json_to_msgpack(msgpack_packer *pk, const json_t *j);
/* A finite double, or null: JSON has no NaN or infinity. */
json_t *json_number(double v);

/* ---- format.c: text for people -------------------------------------------- */

/* "just now", "42s ago", "3m ago", "5h ago", "2d ago"; "-" for IG_NONE. */
void fmt_ago(char *buf, size_t len, int64_t t, time_t now);
/* "45s", "3m05s", "1h02m", "2d03h"; "-" when negative (unknown). */
void fmt_duration(char *buf, size_t len, double seconds);
/* 1234567 -> "1,234,567"; IG_NONE -> "-". */
void fmt_count(char *buf, size_t len, int64_t v);
/* A metric value: 4 significant digits, "nan", "inf". */
void fmt_value(char *buf, size_t len, double v);
/* Iterations per second: "0", "12.3", "1.2k", "3.4M". */
void fmt_rate(char *buf, size_t len, double v);
/* Bytes: "812 B", "4.0 KiB", "256.0 MiB", "1.2 GiB". */
void fmt_bytes(char *buf, size_t len, int64_t v);
/* Local time "2024-05-01 12:00:03". */
void fmt_time(char *buf, size_t len, double t);
/* The user name of uid from the passwd database, or NULL when it has none. */
const char *owner_name(int64_t uid);

/* A table printed with aligned columns.  Cells are copied in, through
 * text_safe. */
struct table;
/* headers: NULL-terminated; a header starting with '>' is right-aligned
 * (the '>' is not printed).  NULL when out of memory. */
struct table *table_new(const char *const *headers);
int table_add(struct table *t, const char *const *cells);
int table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

/* The fields of a run summary as people read them; ls shows them as a
 * row, status as lines.  Cells are static or point into f. */
enum {
	SUM_ID,
	SUM_NAME,
	SUM_OWNER,
	SUM_STATUS,
	SUM_RESOURCES,
	SUM_EPOCH,
	SUM_ITERATION,
	SUM_RATE,
	SUM_STARTED,
	SUM_METRICS,
	SUM_NFIELDS
};
extern const char *const summary_headers[]; /* NULL-terminated */
struct summary_text {
	const char *cell[SUM_NFIELDS];
	char buf[SUM_NFIELDS][64];
	char *metrics; /* malloc'd; freed by summary_text_clear */
};
int summary_text(struct summary_text *f, const ig_summary *s, time_t now);
/* "KEY=VALUE KEY=VALUE", "" without tags; malloc'd (NULL: out of memory),
 * raw: print it through put_text or a table. */
char *tags_text(const ig_summary *s);
void summary_text_clear(struct summary_text *f);

/*
 * Text that came from the daemon (names, reasons, log lines: what workers
 * wrote) as it may reach a terminal: control characters made visible as
 * \t, \n, \r or \xHH (\x1b), and so bytes that are not UTF-8, C1 controls
 * and bidirectional overrides; a backslash doubled, so that what is shown
 * reads back unambiguously.  Every text output of ignitectl goes through
 * these.  text_safe's result is malloc'd (NULL when out of memory).
 */
char *text_safe(const char *s);
int put_text(FILE *f, const char *s);
/* The width of the terminal on f, or $COLUMNS, or 80. */
int term_width(FILE *f);
/* Display columns of a UTF-8 string (one per code point). */
size_t text_width(const char *s);

/* ---- chart.c: metric series as a braille line chart ----------------------- */

struct chart_series {
	const char *name; /* the chart's title: the first series' */
	const char *label; /* in the legend, when several share a chart */
	const double *x, *y; /* n points, x ascending */
	size_t n;
	const char *xlabel; /* "iteration" or "epoch" */
};
/* Draw the n series s on one chart in width columns with height rows of
 * plot (each row 4 dots, each column 2); several are told apart by ANSI
 * colours when colour, else by markers, with a legend.  *out is malloc'd
 * text ending in a newline.  Returns 0, or -1 when out of memory or width
 * leaves no room to plot. */
int chart_render(const struct chart_series *s, size_t n, int width, int height,
    bool colour, char **out);

#endif
