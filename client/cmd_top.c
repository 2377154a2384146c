/*
 * cmd_top.c - top: a live view of the machine, a frame a second until q
 * or Ctrl-C (--once: one frame, for scripts): its GPUs and who holds each,
 * with their use where the daemon's NVML gives it, its CPU slots, and the
 * running and queued runs with what they ask.
 */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "output.h"

#define TOP_MS 1000
#define NELEM(a) (sizeof(a) / sizeof(a)[0])

static volatile sig_atomic_t interrupted;

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
frame_clear(struct top_frame *f)
{
	for (size_t i = 0; i < f->ngpus; i++)
		free(f->gpus[i].name);
	free(f->gpus);
	for (size_t i = 0; i < f->nrunning; i++)
		ig_summary_clear(&f->running[i]);
	free(f->running);
	for (size_t i = 0; i < f->nqueued; i++)
		ig_summary_clear(&f->queued[i]);
	free(f->queued);
	memset(f, 0, sizeof(*f));
}

static int
bad_machine(struct ctl *ctl, const ig_err *e)
{
	return ig_err_set(&ctl->e, CTL_EUNAVAILABLE,
	    "the daemon's answer to machine makes no sense: %s",
	    e != NULL ? e->message : "");
}

static int
read_gpu(const msgpack_object *o, struct top_gpu *g, ig_err *e)
{
	const msgpack_object *run = NULL;
	const ig_fdef defs[] = {
		{ "index", IG_F_UINT, true, NULL, &g->index },
		{ "run", IG_F_ANY, false, NULL, &run }, /* nil: nobody */
		{ "utilization", IG_F_UINT, false, NULL, &g->util },
		{ "memory_used", IG_F_UINT, false, NULL, &g->mem_used },
		{ "memory_total", IG_F_UINT, false, NULL, &g->mem_total },
	};
	const ig_fdef rdefs[] = {
		{ "id", IG_F_POS, true, NULL, &g->run },
		{ "name", IG_F_STR, false, NULL, &g->name },
		{ "owner", IG_F_UINT, true, NULL, &g->owner },
	};
	int rc;

	g->run = g->util = g->mem_used = g->mem_total = IG_NONE;
	if ((rc = ig_map_read(o, "machine.gpus[]", defs, NELEM(defs),
	         IG_READ_ALLOW_UNKNOWN, e)) != 0)
		return rc;
	if (run == NULL)
		return 0;
	return ig_map_read(run, "machine.gpus[].run", rdefs, NELEM(rdefs),
	    IG_READ_ALLOW_UNKNOWN, e);
}

static int
read_machine(struct ctl *ctl, struct top_frame *f)
{
	const msgpack_object *res, *gpus = NULL, *cpus = NULL;
	const ig_fdef defs[] = {
		{ "gpus", IG_F_ARRAY, true, NULL, &gpus },
		{ "cpus", IG_F_MAP, true, NULL, &cpus },
	};
	const ig_fdef cdefs[] = {
		{ "used", IG_F_UINT, true, NULL, &f->cpus_used },
		{ "total", IG_F_UINT, true, NULL, &f->cpus_total },
	};
	ig_err e;
	int rc;

	msgpack_pack_map(conn_begin(ctl->conn, "machine"), 0);
	if ((rc = conn_call(ctl->conn, &res, &ctl->e)) != CTL_OK)
		return rc;
	if (ig_map_read(res, "machine", defs, NELEM(defs),
	        IG_READ_ALLOW_UNKNOWN, &e) != 0 ||
	    ig_map_read(cpus, "machine.cpus", cdefs, NELEM(cdefs),
	        IG_READ_ALLOW_UNKNOWN, &e) != 0)
		return bad_machine(ctl, &e);
	if ((f->gpus = calloc(gpus->via.array.size + 1, sizeof(*f->gpus))) ==
	    NULL)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	for (uint32_t i = 0; i < gpus->via.array.size; i++, f->ngpus++)
		if (read_gpu(&gpus->via.array.ptr[i], &f->gpus[i], &e) != 0)
			return bad_machine(ctl, &e);
	return CTL_OK;
}

static int
by_place(const void *a, const void *b)
{
	int64_t x = ((const ig_summary *)a)->queue_position,
	        y = ((const ig_summary *)b)->queue_position;

	/* one queued a moment after the list's answer has no place yet */
	x = x > 0 ? x : INT64_MAX;
	y = y > 0 ? y : INT64_MAX;
	return (x > y) - (x < y);
}

/* One frame: the machine, then the runs. */
static int
frame(struct ctl *ctl, bool live)
{
	static const char *const running[] = { "running" },
	                         *const queued[] = { "queued" };
	struct top_frame f = { .live = live };
	int rc;

	if ((rc = read_machine(ctl, &f)) == CTL_OK &&
	    (rc = runs_in(ctl, running, 1, &f.running, &f.nrunning)) ==
	        CTL_OK &&
	    (rc = runs_in(ctl, queued, 1, &f.queued, &f.nqueued)) == CTL_OK) {
		qsort(f.queued, f.nqueued, sizeof(*f.queued), by_place);
		rc = ctl->output->top(ctl, &f);
	}
	frame_clear(&f);
	return rc;
}

/* Wait a second for q (a key, from a terminal) or Ctrl-C: false to stop. */
static bool
wait_key(bool tty)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	char c;

	if (poll(&p, tty ? 1 : 0, TOP_MS) > 0 &&
	    read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q'))
		return false;
	return !interrupted;
}

int
cmd_top(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, '1' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_interrupt }, old_int;
	struct termios old, raw;
	bool once = false, tty;
	int c, rc;

	while ((c = ctl_getopt(ctl, argc, argv, opts, &rc)) != -1) {
		if (c == CTL_OPT_DONE)
			return rc;
		once = true;
	}
	if ((rc = ctl_operands(ctl, argc, argv, 0)) != CTL_OK ||
	    (rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	if (once)
		return frame(ctl, false);
	/* q without Enter: the terminal's line editing off, and back on
	 * however top ends (Ctrl-C interrupts the wait, not the program) */
	tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		raw = old;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	interrupted = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	while (
	    (rc = frame(ctl, true)) == CTL_OK && !interrupted && wait_key(tty))
		;
	sigaction(SIGINT, &old_int, NULL);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
	return rc;
}
