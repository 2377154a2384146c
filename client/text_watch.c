/*
 * text_watch.c - watch for people (output.h): on a terminal the view
 * redrawn in place, otherwise a plain line for each change worth telling
 * (progress at most every PLAIN_PROGRESS_SECONDS).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "output.h"

#define BAR_WIDTH 24
#define VIEW_LINES 4
#define PLAIN_PROGRESS_SECONDS 2 /* between progress lines off a tty */

/* "epoch 2/3  [#########...]  120/450  1.2k it/s  ETA 12s" */
static void
progress_line(char *buf, size_t len, const struct view *v)
{
	const ig_summary *s = &v->s;
	char ep[32], max[32], it[32], elen[32], rate[32], eta[32];
	char bar[BAR_WIDTH + 1];
	int64_t in_epoch = s->iteration;
	int fill = 0;

	if (s->epoch_length > 0 && s->epoch >= 1) {
		in_epoch = s->iteration - (s->epoch - 1) * s->epoch_length;
		if (in_epoch < 0)
			in_epoch = 0;
		if (in_epoch > s->epoch_length)
			in_epoch = s->epoch_length;
		fill = (int)(in_epoch * BAR_WIDTH / s->epoch_length);
	}
	for (int i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	fmt_count(ep, sizeof ep, s->epoch);
	fmt_count(max, sizeof max, s->max_epochs);
	fmt_count(it, sizeof it, in_epoch);
	fmt_count(elen, sizeof elen, s->epoch_length);
	fmt_rate(rate, sizeof rate, s->rate);
	fmt_duration(eta, sizeof eta, v->eta);
	snprintf(buf, len, "epoch %s/%s  [%s]  %s/%s  %s it/s  ETA %s", ep, max,
	    bar, it, elen, rate, eta);
}

/* "run 3 digits: running" (and the reason, when there is one) */
static void
title_line(char *buf, size_t len, const struct view *v)
{
	const char *status = ig_status_name(v->s.status);

	snprintf(buf, len, "run %lld%s%s: %s%s%s", (long long)v->s.id,
	    v->s.name != NULL ? " " : "", v->s.name != NULL ? v->s.name : "",
	    status != NULL ? status : "?", v->s.reason != NULL ? " - " : "",
	    v->s.reason != NULL ? v->s.reason : "");
}

/* s cut to width columns with a visible mark, for a line that must not
 * wrap (the redraw counts lines). */
static void
put_fit(FILE *f, const char *s, int width)
{
	int w = 0;

	for (const char *p = s; *p != '\0'; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80 && ++w == width &&
		    text_width(p) > 1) {
			fputs(">", f);
			return;
		}
		fputc(*p, f);
	}
}

static void
draw(struct ctl *ctl, struct view *v)
{
	char lines[VIEW_LINES][512];
	struct summary_text f;
	int width = term_width(ctl->out);

	title_line(lines[0], sizeof lines[0], v);
	progress_line(lines[1], sizeof lines[1], v);
	if (summary_text(&f, &v->s, time(NULL)) == 0) {
		snprintf(lines[2], sizeof lines[2], "%s", f.cell[SUM_METRICS]);
		summary_text_clear(&f);
	} else {
		snprintf(lines[2], sizeof lines[2], "(out of memory)");
	}
	snprintf(lines[3], sizeof lines[3], "%s", v->last);
	if (v->drawn > 0)
		fprintf(ctl->out, "\033[%dA", v->drawn);
	for (int i = 0; i < VIEW_LINES; i++) {
		char *safe = text_safe(lines[i]);

		fputs("\r\033[K", ctl->out);
		put_fit(
		    ctl->out, safe != NULL ? safe : "(out of memory)", width);
		fputc('\n', ctl->out);
		free(safe);
	}
	v->drawn = VIEW_LINES;
	fflush(ctl->out);
}

/* A line off a terminal. */
static void __attribute__((format(printf, 2, 3)))
plain(struct ctl *ctl, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	put_text(ctl->out, line);
	fputc('\n', ctl->out);
	fflush(ctl->out);
}

/* The run's title, as a plain line. */
static void
plain_title(struct ctl *ctl, const struct view *v)
{
	char text[512];

	title_line(text, sizeof text, v);
	plain(ctl, "%s", text);
}

int
text_watch_begin(struct ctl *ctl, struct view *v)
{
	v->tty = isatty(fileno(ctl->out));
	if (!v->tty && !run_ended(v->s.status))
		plain_title(ctl, v);
	return CTL_OK;
}

int
text_watch_show(struct ctl *ctl, struct view *v)
{
	if (v->tty)
		draw(ctl, v);
	return CTL_OK;
}

int
text_watch_note(struct ctl *ctl, struct view *v, enum note kind,
    const char *method, const msgpack_object *params, const ig_series *series,
    size_t nseries)
{
	struct summary_text f;
	char text[512];

	(void)method;
	(void)params;
	(void)series;
	(void)nseries;
	if (v->tty)
		return CTL_OK; /* the next show draws it */
	switch (kind) {
	case NOTE_PROGRESS:
		if (time(NULL) - v->plain_at >= PLAIN_PROGRESS_SECONDS) {
			v->plain_at = time(NULL);
			progress_line(text, sizeof text, v);
			plain(ctl, "%s", text);
		}
		break;
	case NOTE_STATUS:
		plain_title(ctl, v);
		break;
	case NOTE_EVENT:
		plain(ctl, "event %s", v->last);
		break;
	case NOTE_LOG:
		plain(ctl, "log %s", v->last);
		break;
	case NOTE_METRICS:
		if (summary_text(&f, &v->s, time(NULL)) != 0)
			return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
		plain(ctl, "metrics at epoch %s: %s", f.cell[SUM_EPOCH],
		    f.cell[SUM_METRICS]);
		summary_text_clear(&f);
		break;
	case NOTE_OTHER:
		break;
	}
	return CTL_OK;
}

int
text_watch_ended(struct ctl *ctl, struct view *v)
{
	if (!v->tty)
		plain_title(ctl, v);
	return CTL_OK;
}
