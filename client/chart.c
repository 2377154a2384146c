/*
 * chart.c - a metric series as a braille line chart with axes:
 *
 *	loss by iteration
 *	2.303 ┤⡀
 *	      │⠈⠢⡀
 *	0.118 ┤   ⠈⠉⠒⠒⠤⠤⣀⣀
 *	      └────────────
 *	       1         300
 *
 * Each character cell holds 2 x 4 dots, so a chart of c columns and r rows
 * plots 2c x 4r points; consecutive points are joined by straight lines.
 * Several series share the axes: each in its own colour, or where colours
 * are not to be used, marked along its line by its own character; a
 * legend under the chart says which is which.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ignitectl.h"

/* The braille bit of the dot at (column 0-1, row 0-3) in a cell. */
static const unsigned char dot_bit[4][2] = {
	{ 0x01, 0x08 },
	{ 0x02, 0x10 },
	{ 0x04, 0x20 },
	{ 0x40, 0x80 },
};

struct canvas {
	unsigned char *cells; /* rows x cols braille bit sets */
	int cols, rows;
};

/* ANSI foreground colours, and the markers without them, by series. */
static const int colours[] = { 31, 32, 34, 33, 35, 36, 91, 92, 94, 93, 95, 96 };
static const char markers[] = "ox+*#@%&=~";
#define NCOLOURS (sizeof colours / sizeof colours[0])
#define NMARKERS (sizeof markers - 1)

static void
plot(struct canvas *cv, int x, int y)
{
	cv->cells[(y / 4) * cv->cols + x / 2] |= dot_bit[y % 4][x % 2];
}

/* Bresenham between two dots. */
static void
line(struct canvas *cv, int x0, int y0, int x1, int y1)
{
	int dx = abs(x1 - x0), dy = -abs(y1 - y0);
	int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, e = dx + dy;

	for (;;) {
		int e2 = 2 * e;

		plot(cv, x0, y0);
		if (x0 == x1 && y0 == y1)
			return;
		if (e2 >= dy) {
			e += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			e += dx;
			y0 += sy;
		}
	}
}

/* v in [lo, hi] to a dot in [0, n - 1]; the middle when lo == hi. */
static int
scale(double v, double lo, double hi, int n)
{
	if (!(hi > lo))
		return (n - 1) / 2;
	return (int)lround((v - lo) / (hi - lo) * (n - 1));
}

static void
draw(struct canvas *cv, const struct chart_series *s, double xlo, double xhi,
    double ylo, double yhi)
{
	int px = 0, py = 0;
	bool have = false;

	for (size_t i = 0; i < s->n; i++) {
		int x, y;

		if (!isfinite(s->y[i])) {
			have = false; /* NaN breaks the line */
			continue;
		}
		x = scale(s->x[i], xlo, xhi, 2 * cv->cols);
		/* Row 0 is the top: the largest value. */
		y = 4 * cv->rows - 1 - scale(s->y[i], ylo, yhi, 4 * cv->rows);
		if (have)
			line(cv, px, py, x, y);
		else
			plot(cv, x, y);
		px = x, py = y, have = true;
	}
}

/* One row of cells, without trailing blanks: cells[c] the braille dots,
 * owner[c] the series drawn there last (coloured), mark[c] a marker. */
static void
put_row(FILE *f, const unsigned char *cells, const unsigned char *owner,
    const char *mark, int cols, bool colour)
{
	int end = cols, cur = 0; /* the colour in force; 0: none */

	while (end > 0 && cells[end - 1] == 0 && mark[end - 1] == 0)
		end--;
	for (int c = 0; c < end; c++) {
		int want = colour && mark[c] == 0 && cells[c] != 0 ?
		    colours[owner[c] % NCOLOURS] :
		    0;

		if (want != cur)
			fprintf(f, "\033[%dm", want);
		cur = want;
		if (mark[c] != 0)
			fputc(mark[c], f);
		else if (cells[c] == 0)
			fputc(' ', f);
		else
			fprintf(f, "%c%c%c", 0xe2, 0xa0 | (cells[c] >> 6),
			    0x80 | (cells[c] & 0x3f));
	}
	if (cur != 0)
		fputs("\033[0m", f);
	fputc('\n', f);
}

/* Series k's markers: in every step-th column (shifted by k, so that lines
 * that run together still show each), on the cell its line crosses
 * there. */
static void
put_markers(const struct canvas *cv, char *mark, size_t k, size_t n)
{
	int step = cv->cols / 6 > 4 ? cv->cols / 6 : 4;

	for (int c = (int)(k * (size_t)step / n); c < cv->cols; c += step)
		for (int r = 0; r < cv->rows; r++)
			if (cv->cells[r * cv->cols + c] != 0) {
				mark[r * cv->cols + c] = markers[k % NMARKERS];
				break;
			}
}

/* An axis value: whole numbers (iterations, epochs) in full. */
static void
fmt_axis(char *buf, size_t len, double v)
{
	if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v);
	else
		fmt_value(buf, len, v);
}

int
chart_render(const struct chart_series *s, size_t n, int width, int height,
    bool colour, char **out)
{
	char top[32], bottom[32], xlo[32], xhi[32];
	double ylo = INFINITY, yhi = -INFINITY, x0 = INFINITY, x1 = -INFINITY;
	struct canvas cv, one;
	unsigned char *owner;
	char *mark;
	size_t size, cells;
	int lw, gap;
	FILE *f;

	*out = NULL;
	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i < s[k].n; i++)
			if (isfinite(s[k].y[i])) {
				ylo = fmin(ylo, s[k].y[i]);
				yhi = fmax(yhi, s[k].y[i]);
			}
		if (s[k].n > 0) {
			x0 = fmin(x0, s[k].x[0]);
			x1 = fmax(x1, s[k].x[s[k].n - 1]);
		}
	}
	if (ylo > yhi)
		ylo = yhi = 0; /* no finite points: an empty frame */
	fmt_value(top, sizeof top, yhi);
	fmt_value(bottom, sizeof bottom, ylo);
	lw = (int)(strlen(top) > strlen(bottom) ? strlen(top) : strlen(bottom));
	cv.cols = one.cols = width - lw - 2;
	cv.rows = one.rows = height;
	if (cv.cols < 2 || cv.rows < 2)
		return -1;
	cells = (size_t)(cv.cols * cv.rows);
	cv.cells = calloc(cells, 1);
	one.cells = calloc(cells, 1);
	owner = calloc(cells, 1);
	mark = calloc(cells, 1);
	if (cv.cells == NULL || one.cells == NULL || owner == NULL ||
	    mark == NULL || (f = open_memstream(out, &size)) == NULL) {
		free(cv.cells);
		free(one.cells);
		free(owner);
		free(mark);
		return -1;
	}
	/* each series on its own canvas, then onto the chart: the last
	 * drawn owns a cell's colour */
	for (size_t k = 0; k < n; k++) {
		memset(one.cells, 0, cells);
		draw(&one, &s[k], x0, x1, ylo, yhi);
		for (size_t c = 0; c < cells; c++)
			if (one.cells[c] != 0) {
				cv.cells[c] |= one.cells[c];
				owner[c] = (unsigned char)k;
			}
		if (n > 1 && !colour)
			put_markers(&one, mark, k, n);
	}

	put_text(f, s->name);
	fprintf(f, " by %s\n", s->xlabel);
	for (int r = 0; r < cv.rows; r++) {
		const char *label = r == 0 ? top :
		    r == cv.rows - 1       ? bottom :
		                             "";
		fprintf(f, "%*s %s", lw, label, label[0] != '\0' ? "┤" : "│");
		put_row(f, cv.cells + r * cv.cols, owner + r * cv.cols,
		    mark + r * cv.cols, cv.cols, colour && n > 1);
	}
	fprintf(f, "%*s └", lw, "");
	for (int c = 0; c < cv.cols; c++)
		fputs("─", f);
	fputc('\n', f);
	if (x0 <= x1) {
		fmt_axis(xlo, sizeof xlo, x0);
		fmt_axis(xhi, sizeof xhi, x1);
		gap = cv.cols - (int)strlen(xlo) - (int)strlen(xhi);
		if (x0 == x1 || gap < 1)
			fprintf(f, "%*s  %s\n", lw, "", xlo);
		else
			fprintf(f, "%*s  %s%*s%s\n", lw, "", xlo, gap, "", xhi);
	}
	/* the legend: what each colour or marker stands for */
	for (size_t k = 0; n > 1 && k < n; k++) {
		fprintf(f, "%*s  ", k == 0 ? lw : 0, "");
		if (colour)
			fprintf(f, "\033[%dm──\033[0m ", colours[k % NCOLOURS]);
		else
			fprintf(f, "%c ", markers[k % NMARKERS]);
		put_text(f, s[k].label != NULL ? s[k].label : "");
		fputs(k + 1 < n ? "  " : "\n", f);
	}
	free(cv.cells);
	free(one.cells);
	free(owner);
	free(mark);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}
