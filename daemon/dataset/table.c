/*
 * table.c - load a numeric CSV file (plain or gzip) into memory.
 *
 * The whole file is read into one buffer first: datasets that fit in memory
 * as doubles fit as text too, and splitting a buffer in place sees every
 * byte (a NUL inside a line is an error, not a silent cut).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/readfile.h"
#include "dataset/table.h"

/* What one field of a line becomes. */
#define ROLE_SKIP (-1)
#define ROLE_LABEL (-2)
/* otherwise: the feature index */

/* A line cut into fields, pointers into the file buffer (NUL-terminated). */
struct line {
	char **fields;
	size_t n, cap;
};

/* The state of one load, so helpers report PATH:LINE uniformly. */
struct loader {
	const char *path;
	ig_err *err;
	char *text; /* the decompressed file */
	size_t len;
	char *cursor; /* next unread byte of text */
	size_t lineno; /* 1-based number of the line last read */
	struct line line;
	size_t first_lineno; /* the first non-empty line */
	size_t nfields; /* fields per line, from that line */
	long *role; /* nfields roles */
	bool has_label;
	size_t cap; /* rows allocated in the table */
};

/* "PATH: message", or with at_line "PATH:LINE: message"; returns -1. */
static int
vfail(struct loader *ld, bool at_line, const char *fmt, va_list ap)
{
	int code = strcmp(fmt, "out of memory") == 0 ? IG_PROTO_INTERNAL :
	                                               IG_PROTO_INVALID_PARAMS;
	char msg[IG_ERR_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (at_line)
		ig_err_set(
		    ld->err, code, "%s:%zu: %s", ld->path, ld->lineno, msg);
	else
		ig_err_set(ld->err, code, "%s: %s", ld->path, msg);
	return -1;
}

static int fail(struct loader *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail_at(struct loader *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ld, false, fmt, ap);
	va_end(ap);
	return -1;
}

/* An error about the line last read. */
static int
fail_at(struct loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ld, true, fmt, ap);
	va_end(ap);
	return -1;
}

static char *
trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *end = s + strlen(s);
	while (
	    end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

/*
 * Cut the next non-empty line into ld->line.  Returns 1 with a line, 0 at
 * the end of the file, -1 on error.
 */
static int
next_line(struct loader *ld)
{
	char *end = ld->text + ld->len;

	for (;;) {
		if (ld->cursor >= end)
			return 0;
		char *start = ld->cursor;
		char *nl = memchr(start, '\n', (size_t)(end - start));
		char *stop = nl != NULL ? nl : end;
		ld->cursor = nl != NULL ? nl + 1 : end;
		ld->lineno++;
		if (memchr(start, '\0', (size_t)(stop - start)) != NULL)
			return fail_at(
			    ld, "NUL byte in the line: not a text file?");
		*stop = '\0';
		if (*trim(start) == '\0')
			continue;

		ld->line.n = 0;
		for (char *field = start;;) {
			char *comma = strchr(field, ',');
			if (ld->line.n == ld->line.cap) {
				size_t cap =
				    ld->line.cap != 0 ? 2 * ld->line.cap : 64;
				char **p =
				    realloc(ld->line.fields, cap * sizeof *p);
				if (p == NULL)
					return fail_at(ld, "out of memory");
				ld->line.fields = p;
				ld->line.cap = cap;
			}
			if (comma != NULL)
				*comma = '\0';
			ld->line.fields[ld->line.n++] = trim(field);
			if (comma == NULL)
				return 1;
			field = comma + 1;
		}
	}
}

/* Parse a whole field as a number. */
static bool
parse_number(const char *s, double *out)
{
	char *end;

	if (*s == '\0')
		return false;
	errno = 0;
	*out = strtod(s, &end);
	/* ERANGE on underflow still gives a usable (tiny) value */
	return *end == '\0' && !(errno == ERANGE && fabs(*out) == HUGE_VAL);
}

static bool
line_is_numeric(const struct line *l)
{
	double d;

	for (size_t i = 0; i < l->n; i++) {
		if (!parse_number(l->fields[i], &d))
			return false;
	}
	return true;
}

/*
 * Which field ref designates: an integer is an index (headers such as
 * iris.csv's "150,4,setosa,..." have names that look like numbers, and an
 * index must mean the same whatever the header says), anything else a name
 * in the header line `names` (NULL without one).  what says "label" or
 * "column" for messages.
 */
static int
resolve_column(struct loader *ld, const char *ref, char **names,
    const char *what, size_t *out)
{
	char *end;
	errno = 0;
	long long idx = strtoll(ref, &end, 10);
	if (*ref != '\0' && *end == '\0' && errno == 0) {
		long long n = (long long)ld->nfields;
		if (idx < -n || idx >= n)
			return fail(ld,
			    "%s %s: out of range, the file has %zu "
			    "columns",
			    what, ref, ld->nfields);
		*out = (size_t)(idx < 0 ? idx + n : idx);
		return 0;
	}
	if (names == NULL)
		return fail(ld,
		    "%s '%s': the file has no header to look names up "
		    "in; give a 0-based column index",
		    what, ref);
	for (size_t i = 0; i < ld->nfields; i++) {
		if (strcmp(names[i], ref) == 0) {
			*out = i;
			return 0;
		}
	}
	return fail(ld, "%s '%s': no such column in the header", what, ref);
}

/* Fill ld->role from the options; returns the feature count or -1. */
static long
assign_roles(
    struct loader *ld, const struct data_table_options *o, char **names)
{
	size_t idx, nfeat = 0;

	ld->role = malloc(ld->nfields * sizeof *ld->role);
	if (ld->role == NULL)
		return fail(ld, "out of memory");
	for (size_t i = 0; i < ld->nfields; i++)
		ld->role[i] = o->columns == NULL ? 0 : ROLE_SKIP;

	if (o->label != NULL) {
		if (resolve_column(ld, o->label, names, "label", &idx) == -1)
			return -1;
		ld->role[idx] = ROLE_LABEL;
	}
	if (o->columns == NULL) {
		for (size_t i = 0; i < ld->nfields; i++) {
			if (ld->role[i] != ROLE_LABEL)
				ld->role[i] = (long)nfeat++;
		}
		if (nfeat == 0)
			return fail(ld, "no feature columns besides the label");
		return (long)nfeat;
	}

	char *list = strdup(o->columns);
	if (list == NULL)
		return fail(ld, "out of memory");
	char *save = NULL;
	for (char *ref = strtok_r(list, ",", &save); ref != NULL;
	     ref = strtok_r(NULL, ",", &save)) {
		ref = trim(ref);
		if (resolve_column(ld, ref, names, "column", &idx) == -1) {
			free(list);
			return -1;
		}
		if (ld->role[idx] != ROLE_SKIP) {
			fail(ld, "column '%s' is %s", ref,
			    ld->role[idx] == ROLE_LABEL ? "the label column" :
			                                  "listed twice");
			free(list);
			return -1;
		}
		ld->role[idx] = (long)nfeat++;
	}
	free(list);
	if (nfeat == 0)
		return fail(ld, "columns '%s' lists no column", o->columns);
	return (long)nfeat;
}

/* Room for one more row. */
static int
grow_rows(struct loader *ld, struct data_table *t)
{
	if (t->rows < ld->cap)
		return 0;
	size_t cap = ld->cap != 0 ? 2 * ld->cap : 1024;
	if (cap > SIZE_MAX / sizeof(double) / t->cols)
		return fail_at(ld, "too many rows");
	double *x = realloc(t->x, cap * t->cols * sizeof *x);
	if (x == NULL)
		return fail_at(ld, "out of memory");
	t->x = x;
	if (ld->has_label) {
		double *y = realloc(t->y, cap * sizeof *y);
		if (y == NULL)
			return fail_at(ld, "out of memory");
		t->y = y;
	}
	ld->cap = cap;
	return 0;
}

/* Append the current line as a row. */
static int
add_row(struct loader *ld, struct data_table *t)
{
	if (ld->line.n != ld->nfields)
		return fail_at(ld, "%zu fields, expected %zu as on line %zu",
		    ld->line.n, ld->nfields, ld->first_lineno);
	if (grow_rows(ld, t) == -1)
		return -1;
	for (size_t i = 0; i < ld->nfields; i++) {
		if (ld->role[i] == ROLE_SKIP)
			continue;
		const char *field = ld->line.fields[i];
		double v;
		if (*field == '\0')
			return fail_at(ld, "column %zu: empty field", i + 1);
		if (!parse_number(field, &v))
			return fail_at(ld, "column %zu: not a number: '%.40s'",
			    i + 1, field);
		if (ld->role[i] == ROLE_LABEL)
			t->y[t->rows] = v;
		else
			t->x[t->rows * t->cols + (size_t)ld->role[i]] = v;
	}
	t->rows++;
	return 0;
}

/* Keep the names of the feature columns, in feature order. */
static int
keep_names(struct loader *ld, struct data_table *t, char **header)
{
	t->names = calloc(t->cols, sizeof *t->names);
	if (t->names == NULL)
		return fail(ld, "out of memory");
	for (size_t i = 0; i < ld->nfields; i++) {
		if (ld->role[i] < 0)
			continue;
		if ((t->names[ld->role[i]] = strdup(header[i])) == NULL)
			return fail(ld, "out of memory");
	}
	return 0;
}

static int
load(
    struct loader *ld, struct data_table *t, const struct data_table_options *o)
{
	if (read_file(ld->path, &ld->text, &ld->len, ld->err) != 0)
		return -1;
	ld->cursor = ld->text;
	int rc = next_line(ld);
	if (rc <= 0)
		return rc == 0 ? fail(ld, "empty file: no lines with data") :
		                 -1;

	ld->nfields = ld->line.n;
	ld->first_lineno = ld->lineno;
	bool header = o->header == HEADER_YES ||
	    (o->header == HEADER_AUTO && !line_is_numeric(&ld->line));
	/* The header's fields point into text, which outlives the load. */
	char **names = NULL;
	if (header) {
		names = malloc(ld->nfields * sizeof *names);
		if (names == NULL)
			return fail(ld, "out of memory");
		memcpy(names, ld->line.fields, ld->nfields * sizeof *names);
	}

	long nfeat = assign_roles(ld, o, names);
	if (nfeat != -1) {
		t->cols = (size_t)nfeat;
		rc = header ? keep_names(ld, t, names) : 0;
	}
	free(names);
	if (nfeat == -1 || rc == -1)
		return -1;
	ld->has_label = o->label != NULL;
	if (header && (rc = next_line(ld)) <= 0)
		return rc == 0 ? fail(ld, "no data after the header line") : -1;

	do {
		if (add_row(ld, t) == -1)
			return -1;
	} while ((rc = next_line(ld)) == 1);
	return rc;
}

int
data_table_load(struct data_table *t, const char *path,
    const struct data_table_options *o, ig_err *err)
{
	struct loader ld = { .path = path, .err = err };
	static const struct data_table_options defaults = { .header =
		                                                HEADER_AUTO };

	memset(t, 0, sizeof *t);
	int rc = load(&ld, t, o != NULL ? o : &defaults);
	free(ld.text);
	free(ld.line.fields);
	free(ld.role);
	if (rc == -1) {
		data_table_free(t);
		return err->code;
	}
	return 0;
}

void
data_table_free(struct data_table *t)
{
	if (t->names != NULL) {
		for (size_t i = 0; i < t->cols; i++)
			free(t->names[i]);
		free(t->names);
	}
	free(t->x);
	free(t->y);
	memset(t, 0, sizeof *t);
}

size_t
data_table_classes(const struct data_table *t)
{
	double max = -1;

	if (t->y == NULL)
		return 0;
	for (size_t i = 0; i < t->rows; i++) {
		double y = t->y[i];
		if (!(y >= 0 && y == floor(y) && y < 1e9))
			return 0;
		if (y > max)
			max = y;
	}
	return (size_t)(max + 1);
}
