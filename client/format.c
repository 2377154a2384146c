/*
 * format.c - numbers, times and tables as people read them.
 */
#include <math.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ignitectl.h"

void
fmt_ago(char *buf, size_t len, int64_t t, time_t now)
{
	int64_t d = (int64_t)now - t;

	if (t == IG_NONE)
		snprintf(buf, len, "-");
	else if (d < 1)
		snprintf(buf, len, "just now");
	else if (d < 60)
		snprintf(buf, len, "%llds ago", (long long)d);
	else if (d < 3600)
		snprintf(buf, len, "%lldm ago", (long long)(d / 60));
	else if (d < 86400)
		snprintf(buf, len, "%lldh ago", (long long)(d / 3600));
	else
		snprintf(buf, len, "%lldd ago", (long long)(d / 86400));
}

void
fmt_duration(char *buf, size_t len, double seconds)
{
	long long s;

	if (!(seconds >= 0) || seconds > 1e12) {
		snprintf(buf, len, "-");
		return;
	}
	s = llround(seconds);
	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

void
fmt_count(char *buf, size_t len, int64_t v)
{
	char digits[32];
	size_t n, o = 0, lead;

	if (v == IG_NONE) {
		snprintf(buf, len, "-");
		return;
	}
	n = (size_t)snprintf(digits, sizeof digits, "%lld", (long long)v);
	if (len < n + n / 3 + 1) {
		snprintf(buf, len, "%s", digits);
		return;
	}
	lead = digits[0] == '-' ? 1 : 0;
	for (size_t i = 0; i < n; i++) {
		if (i > lead && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

void
fmt_value(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "nan");
	else if (isinf(v))
		snprintf(buf, len, v > 0 ? "inf" : "-inf");
	else
		snprintf(buf, len, "%.4g", v);
}

void
fmt_rate(char *buf, size_t len, double v)
{
	if (!(v > 0))
		snprintf(buf, len, "0");
	else if (v < 1000)
		snprintf(buf, len, "%.3g", v);
	else if (v < 1e6)
		snprintf(buf, len, "%.3gk", v / 1e3);
	else
		snprintf(buf, len, "%.3gM", v / 1e6);
}

void
fmt_bytes(char *buf, size_t len, int64_t v)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double x = (double)v;
	int u = -1;

	while (x >= 1024 && u < 3) {
		x /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%lld B", (long long)v);
	else
		snprintf(buf, len, "%.1f %s", x, units[u]);
}

const char *
owner_name(int64_t uid)
{
	struct passwd *pw;

	if (uid < 0 || uid >= (int64_t)(uid_t)-1)
		return NULL;
	pw = getpwuid((uid_t)uid);
	return pw != NULL && pw->pw_name[0] != '\0' ? pw->pw_name : NULL;
}

void
fmt_time(char *buf, size_t len, double t)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (localtime_r(&s, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "%.3f", t);
}

/* ---- text from the daemon ------------------------------------------------ */

/* Does the code point at p (n bytes of UTF-8) act on a terminal rather than
 * print: a C1 control, or a bidirectional override that reorders what
 * follows it on the line? */
static bool
invisible(const unsigned char *p, size_t n)
{
	if (n == 2)
		return p[0] == 0xc2 && p[1] < 0xa0; /* U+0080-U+009F */
	if (n == 3 && p[0] == 0xe2 && p[1] == 0x80)
		return p[2] >= 0xaa && p[2] <= 0xae; /* U+202A-U+202E */
	if (n == 3 && p[0] == 0xe2 && p[1] == 0x81)
		return p[2] >= 0xa6 && p[2] <= 0xa9; /* U+2066-U+2069 */
	return false;
}

char *
text_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), o = 0, n;
	char *out = malloc(4 * len + 1);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += n) {
		const char *named = p[i] == '\\' ? "\\\\" :
		    p[i] == '\t'                 ? "\\t" :
		    p[i] == '\n'                 ? "\\n" :
		    p[i] == '\r'                 ? "\\r" :
		                                   NULL;

		n = ig_utf8_seq(p + i, len - i);
		if (named != NULL) {
			memcpy(out + o, named, 2);
			o += 2;
		} else if (n == 0 || p[i] < 0x20 || p[i] == 0x7f ||
		    invisible(p + i, n)) {
			/* the sequence byte by byte: \x1b, \xc2\x9b */
			if (n == 0)
				n = 1;
			for (size_t k = 0; k < n; k++)
				o += (size_t)sprintf(
				    out + o, "\\x%02x", p[i + k]);
		} else {
			memcpy(out + o, p + i, n);
			o += n;
		}
	}
	out[o] = '\0';
	return out;
}

int
put_text(FILE *f, const char *s)
{
	char *safe = text_safe(s);
	int rc;

	if (safe == NULL)
		return -1;
	rc = fputs(safe, f);
	free(safe);
	return rc < 0 ? -1 : 0;
}

size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

int
term_width(FILE *f)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");
	int n;

	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (cols != NULL && (n = atoi(cols)) > 0)
		return n;
	return 80;
}

/* ---- tables --------------------------------------------------------------- */

struct table {
	size_t ncols, nrows, cap;
	char **cells; /* (nrows + 1) x ncols: the headers first */
	bool *right;
};

struct table *
table_new(const char *const *headers)
{
	struct table *t = calloc(1, sizeof *t);

	if (t == NULL)
		return NULL;
	while (headers[t->ncols] != NULL)
		t->ncols++;
	if ((t->right = calloc(t->ncols, sizeof *t->right)) == NULL)
		goto fail;
	for (size_t i = 0; i < t->ncols; i++)
		t->right[i] = headers[i][0] == '>';
	if (table_add(t, headers) != 0)
		goto fail;
	return t;
fail:
	table_free(t);
	return NULL;
}

int
table_add(struct table *t, const char *const *cells)
{
	size_t base = t->nrows * t->ncols;
	char **v;

	if (t->nrows == t->cap) {
		t->cap = t->cap == 0 ? 16 : t->cap * 2;
		if ((v = realloc(t->cells, t->cap * t->ncols * sizeof *v)) ==
		    NULL)
			return -1;
		t->cells = v;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		const char *c = cells[i];
		/* Headers drop their alignment mark. */
		if (t->nrows == 0 && t->right[i])
			c++;
		if ((t->cells[base + i] = text_safe(c)) == NULL) {
			while (i-- > 0)
				free(t->cells[base + i]);
			return -1;
		}
	}
	t->nrows++;
	return 0;
}

int
table_print(const struct table *t, FILE *f)
{
	size_t *w = calloc(t->ncols, sizeof *w);

	if (w == NULL)
		return -1;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t cw = text_width(t->cells[r * t->ncols + c]);
			if (cw > w[c])
				w[c] = cw;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			int pad = (int)(w[c] - text_width(s));
			bool last = c + 1 == t->ncols;

			if (c > 0)
				fputs("  ", f);
			if (t->right[c])
				fprintf(f, "%*s%s", pad, "", s);
			else
				fprintf(f, "%s%*s", s, last ? 0 : pad, "");
		}
		fputc('\n', f);
	}
	free(w);
	return ferror(f) ? -1 : 0;
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->right);
	free(t);
}

/* ---- run summaries ----------------------------------------------------- */

const char *const summary_headers[] = {
	">ID",
	"NAME",
	">OWNER",
	"STATUS",
	"RESOURCES",
	">EPOCH",
	">ITERATION",
	">IT/S",
	"STARTED",
	"METRICS",
	NULL,
};

/* "loss=0.1234 val_acc=0.9612", malloc'd. */
static char *
metrics_text(const ig_summary *s)
{
	size_t len = 1;
	char v[32], *out, *p;

	for (size_t i = 0; i < s->nmetrics; i++)
		len += strlen(s->metrics[i].name) + sizeof v + 2;
	if ((out = p = malloc(len)) == NULL)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < s->nmetrics; i++) {
		fmt_value(v, sizeof v, s->metrics[i].value);
		p += sprintf(
		    p, "%s%s=%s", i > 0 ? " " : "", s->metrics[i].name, v);
	}
	return out;
}

/* "2 GPUs [0,1], 1 CPU": what it asks, and the GPUs it holds. */
static void
resources_text(char *buf, size_t len, const ig_summary *s)
{
	size_t n = 0;

	buf[0] = '\0';
	if (s->gpus > 0)
		n = (size_t)snprintf(buf, len, "%lld GPU%s%s%s%s, ",
		    (long long)s->gpus, s->gpus == 1 ? "" : "s",
		    s->devices != NULL ? " [" : "",
		    s->devices != NULL ? s->devices : "",
		    s->devices != NULL ? "]" : "");
	if (n < len)
		snprintf(buf + n, len - n, "%lld CPU", (long long)s->cpus);
}

char *
tags_text(const ig_summary *s)
{
	size_t len = 1;
	char *out, *p;

	for (size_t i = 0; i < s->ntags; i++)
		len += strlen(s->tags[i].key) + strlen(s->tags[i].value) + 2;
	if ((out = p = malloc(len)) == NULL)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < s->ntags; i++)
		p += sprintf(p, "%s%s=%s", i > 0 ? " " : "", s->tags[i].key,
		    s->tags[i].value);
	return out;
}

int
summary_text(struct summary_text *f, const ig_summary *s, time_t now)
{
	char a[32], b[32];
	const char *status = ig_status_name(s->status), *name;

	memset(f, 0, sizeof *f);
	if ((f->metrics = metrics_text(s)) == NULL)
		return -1;
	snprintf(f->buf[SUM_ID], sizeof f->buf[0], "%lld", (long long)s->id);
	if ((name = owner_name(s->owner)) != NULL)
		snprintf(f->buf[SUM_OWNER], sizeof f->buf[0], "%s", name);
	else
		snprintf(f->buf[SUM_OWNER], sizeof f->buf[0], "%lld",
		    (long long)s->owner);
	fmt_count(a, sizeof a, s->epoch);
	fmt_count(b, sizeof b, s->max_epochs);
	snprintf(f->buf[SUM_EPOCH], sizeof f->buf[0], "%s/%s", a, b);
	fmt_count(f->buf[SUM_ITERATION], sizeof f->buf[0], s->iteration);
	fmt_rate(f->buf[SUM_RATE], sizeof f->buf[0], s->rate);
	fmt_ago(f->buf[SUM_STARTED], sizeof f->buf[0], s->started, now);
	resources_text(f->buf[SUM_RESOURCES], sizeof f->buf[0], s);
	if (s->queue_position > 0)
		snprintf(f->buf[SUM_STATUS], sizeof f->buf[0], "%s #%lld",
		    status != NULL ? status : "?",
		    (long long)s->queue_position);
	else if (s->throttled != NULL)
		snprintf(f->buf[SUM_STATUS], sizeof f->buf[0],
		    "%s (throttled: %s)", status != NULL ? status : "?",
		    s->throttled);
	else
		snprintf(f->buf[SUM_STATUS], sizeof f->buf[0], "%s",
		    status != NULL ? status : "?");
	for (int i = 0; i < SUM_NFIELDS; i++)
		f->cell[i] = f->buf[i];
	f->cell[SUM_NAME] = s->name != NULL ? s->name : "-";
	f->cell[SUM_METRICS] = f->metrics[0] != '\0' ? f->metrics : "-";
	return 0;
}

void
summary_text_clear(struct summary_text *f)
{
	free(f->metrics);
	f->metrics = NULL;
}
