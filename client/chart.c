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
draw(struct canvas *cv, const struct chart_series *s, double ylo, double yhi)
{
	int px = 0, py = 0;
	bool have = false;

	for (size_t i = 0; i < s->n; i++) {
		int x, y;

		if (!isfinite(s->y[i])) {
			have = false; /* NaN breaks the line */
			continue;
		}
		x = scale(s->x[i], s->x[0], s->x[s->n - 1], 2 * cv->cols);
		/* Row 0 is the top: the largest value. */
		y = 4 * cv->rows - 1 - scale(s->y[i], ylo, yhi, 4 * cv->rows);
		if (have)
			line(cv, px, py, x, y);
		else
			plot(cv, x, y);
		px = x, py = y, have = true;
	}
}

/* One row of cells, without trailing blanks. */
static void
put_row(FILE *f, const unsigned char *cells, int cols)
{
	int end = cols;

	while (end > 0 && cells[end - 1] == 0)
		end--;
	for (int c = 0; c < end; c++) {
		if (cells[c] == 0)
			fputc(' ', f);
		else
			fprintf(f, "%c%c%c", 0xe2, 0xa0 | (cells[c] >> 6),
			    0x80 | (cells[c] & 0x3f));
	}
	fputc('\n', f);
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
chart_render(const struct chart_series *s, int width, int height, char **out)
{
	char top[32], bottom[32], xlo[32], xhi[32];
	double ylo = INFINITY, yhi = -INFINITY;
	struct canvas cv;
	size_t size;
	int lw, gap;
	FILE *f;

	*out = NULL;
	for (size_t i = 0; i < s->n; i++)
		if (isfinite(s->y[i])) {
			ylo = fmin(ylo, s->y[i]);
			yhi = fmax(yhi, s->y[i]);
		}
	if (ylo > yhi)
		ylo = yhi = 0; /* no finite points: an empty frame */
	fmt_value(top, sizeof top, yhi);
	fmt_value(bottom, sizeof bottom, ylo);
	lw = (int)(strlen(top) > strlen(bottom) ? strlen(top) : strlen(bottom));
	cv.cols = width - lw - 2;
	cv.rows = height;
	if (cv.cols < 2 || cv.rows < 2)
		return -1;
	if ((cv.cells = calloc((size_t)(cv.cols * cv.rows), 1)) == NULL)
		return -1;
	if ((f = open_memstream(out, &size)) == NULL) {
		free(cv.cells);
		return -1;
	}
	draw(&cv, s, ylo, yhi);

	put_text(f, s->name);
	fprintf(f, " by %s\n", s->xlabel);
	for (int r = 0; r < cv.rows; r++) {
		const char *label = r == 0 ? top :
		    r == cv.rows - 1       ? bottom :
		                             "";
		fprintf(f, "%*s %s", lw, label, label[0] != '\0' ? "┤" : "│");
		put_row(f, cv.cells + r * cv.cols, cv.cols);
	}
	fprintf(f, "%*s └", lw, "");
	for (int c = 0; c < cv.cols; c++)
		fputs("─", f);
	fputc('\n', f);
	if (s->n > 0) {
		fmt_axis(xlo, sizeof xlo, s->x[0]);
		fmt_axis(xhi, sizeof xhi, s->x[s->n - 1]);
		gap = cv.cols - (int)strlen(xlo) - (int)strlen(xhi);
		if (s->n == 1 || gap < 1)
			fprintf(f, "%*s  %s\n", lw, "", xlo);
		else
			fprintf(f, "%*s  %s%*s%s\n", lw, "", xlo, gap, "", xhi);
	}
	free(cv.cells);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}
