/*
 * expo.c - the Prometheus text exposition format (expo.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/expo.h"

void
expo_init(struct expo *x, size_t budget)
{
	*x = (struct expo){ .budget = budget };
}

void
expo_free(struct expo *x)
{
	free(x->buf);
	x->buf = NULL;
	x->len = x->cap = 0;
}

static bool
reserve(struct expo *x, size_t more)
{
	size_t cap;
	char *buf;

	if (x->failed)
		return false;
	if (x->len + more + 1 <= x->cap)
		return true;
	cap = x->cap ? x->cap : 4096;
	while (cap < x->len + more + 1)
		cap *= 2;
	if ((buf = realloc(x->buf, cap)) == NULL) {
		x->failed = true;
		return false;
	}
	x->buf = buf;
	x->cap = cap;
	return true;
}

static void
put(struct expo *x, const char *s, size_t n)
{
	if (!reserve(x, n))
		return;
	memcpy(x->buf + x->len, s, n);
	x->len += n;
	x->buf[x->len] = '\0';
}

static void
puts_(struct expo *x, const char *s)
{
	put(x, s, strlen(s));
}

static void
putc_(struct expo *x, char c)
{
	put(x, &c, 1);
}

/* A metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, without colons, a label
 * name: anything else becomes '_'. */
static void
put_name(struct expo *x, const char *s, bool colon)
{
	if (*s == '\0' || (*s >= '0' && *s <= '9'))
		putc_(x, '_');
	for (; *s != '\0'; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || (colon && c == ':');
		putc_(x, ok ? c : '_');
	}
}

/* The length of the valid UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* the NUL stops here too */
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Text escaped as the format wants it: a label value escapes \, " and
 * newline; HELP only \ and newline. */
static void
put_escaped(struct expo *x, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		if (*p == '\\')
			puts_(x, "\\\\");
		else if (*p == '\n')
			puts_(x, "\\n");
		else if (*p == '"' && quote)
			puts_(x, "\\\"");
		else if ((n = utf8_len(p)) == 0) {
			puts_(x, "\xef\xbf\xbd"); /* U+FFFD */
			p++;
			continue;
		} else {
			put(x, (const char *)p, n);
			p += n;
			continue;
		}
		p++;
	}
}

/* The shortest of %.15g and %.17g that reads back as v. */
static void
put_value(struct expo *x, double v)
{
	char buf[32];

	if (isnan(v)) {
		puts_(x, "NaN");
		return;
	}
	if (isinf(v)) {
		puts_(x, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	puts_(x, buf);
}

void
expo_family(
    struct expo *x, const char *name, const char *type, const char *help)
{
	puts_(x, "# HELP ");
	put_name(x, name, true);
	putc_(x, ' ');
	put_escaped(x, help, false);
	puts_(x, "\n# TYPE ");
	put_name(x, name, true);
	putc_(x, ' ');
	puts_(x, type);
	putc_(x, '\n');
}

void
expo_sample(struct expo *x, const char *name, const struct expo_label *labels,
    size_t nlabels, double value)
{
	put_name(x, name, true);
	for (size_t i = 0; i < nlabels; i++) {
		putc_(x, i == 0 ? '{' : ',');
		put_name(x, labels[i].name, false);
		puts_(x, "=\"");
		put_escaped(x, labels[i].value ? labels[i].value : "", true);
		putc_(x, '"');
	}
	if (nlabels > 0)
		putc_(x, '}');
	putc_(x, ' ');
	put_value(x, value);
	putc_(x, '\n');
}

/* name with suffix, within the buffer given (names are ours: short). */
static const char *
suffixed(char *buf, size_t len, const char *name, const char *suffix)
{
	snprintf(buf, len, "%s%s", name, suffix);
	return buf;
}

void
expo_hist(
    struct expo *x, const char *name, const char *help, const struct hist *h)
{
	char n[128], le[32];
	struct expo_label l = { "le", le };
	uint64_t below = 0;

	expo_family(x, name, "histogram", help);
	suffixed(n, sizeof(n), name, "_bucket");
	for (size_t i = 0; i < h->nbounds; i++) {
		below += h->counts[i];
		snprintf(le, sizeof(le), "%.15g", h->bounds[i]);
		expo_sample(x, n, &l, 1, (double)below);
	}
	snprintf(le, sizeof(le), "+Inf");
	expo_sample(x, n, &l, 1, (double)h->count);
	expo_sample(x, suffixed(n, sizeof(n), name, "_sum"), NULL, 0, h->sum);
	expo_sample(x, suffixed(n, sizeof(n), name, "_count"), NULL, 0,
	    (double)h->count);
}

size_t
expo_take(struct expo *x, size_t want)
{
	size_t got = want < x->budget ? want : x->budget;

	x->budget -= got;
	x->dropped += want - got;
	return got;
}
