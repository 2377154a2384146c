/*
 * test_table.c - loading CSV files into an struct data_table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dataset/table.h"
#include "fixture.h"

static void
load_ok(
    struct data_table *t, const char *path, const struct data_table_options *o)
{
	ig_err err;

	if (data_table_load(t, path, o, &err) != 0)
		fail_msg("data_table_load(%s): %s", path, err.message);
}

/* Load must fail with a message containing want. */
static void
load_fails(
    const char *path, const struct data_table_options *o, const char *want)
{
	struct data_table t;
	ig_err err;

	assert_int_equal(
	    data_table_load(&t, path, o, &err), IG_PROTO_INVALID_PARAMS);
	assert_int_equal(err.code, IG_PROTO_INVALID_PARAMS);
	if (strstr(err.message, want) == NULL)
		fail_msg(
		    "error \"%s\" does not contain \"%s\"", err.message, want);
	assert_null(t.x);
	assert_null(t.y);
}

static void
test_plain_and_gzip_agree(void **state)
{
	static const char text[] = "1,2,3\n4,5.5,6\n\n-7,8e1,9\n";
	struct data_table_options o = { .label = "-1" };
	struct data_table a, b;

	(void)state;
	load_ok(&a, fx_text("p.csv", text, false), &o);
	load_ok(&b, fx_text("p.csv.gz", text, true), &o);
	assert_int_equal(a.rows, 3);
	assert_int_equal(a.cols, 2);
	assert_null(a.names);
	const double x[] = { 1, 2, 4, 5.5, -7, 80 }, y[] = { 3, 6, 9 };
	assert_memory_equal(a.x, x, sizeof x);
	assert_memory_equal(a.y, y, sizeof y);
	assert_int_equal(b.rows, a.rows);
	assert_memory_equal(b.x, a.x, sizeof x);
	assert_memory_equal(b.y, a.y, sizeof y);
	data_table_free(&a);
	data_table_free(&b);
}

static void
test_header_and_names(void **state)
{
	const char *path =
	    fx_text("h.csv", "a, b ,label,c\r\n1,2,0,3\r\n4,5,1,6\r\n", false);
	struct data_table_options o = { .label = "label", .columns = "c,a" };
	struct data_table t;

	(void)state;
	load_ok(&t, path, &o);
	assert_int_equal(t.rows, 2);
	assert_int_equal(t.cols, 2);
	assert_string_equal(t.names[0], "c");
	assert_string_equal(t.names[1], "a");
	const double x[] = { 3, 1, 6, 4 }, y[] = { 0, 1 };
	assert_memory_equal(t.x, x, sizeof x);
	assert_memory_equal(t.y, y, sizeof y);
	assert_int_equal(data_table_classes(&t), 2);
	data_table_free(&t);

	/* the default: every column but the label, in file order, by index */
	o = (struct data_table_options){ .label = "2" };
	load_ok(&t, path, &o);
	assert_int_equal(t.cols, 3);
	assert_string_equal(t.names[1], "b");
	assert_string_equal(t.names[2], "c");
	data_table_free(&t);

	/* header forced off: the names line is data, and not numbers */
	o = (struct data_table_options){ .header = HEADER_NO };
	load_fails(path, &o, "h.csv:1: column 1: not a number: 'a'");
}

static void
test_no_label(void **state)
{
	struct data_table t;

	(void)state;
	load_ok(&t, fx_text("n.csv", "1,2\n3,4\n", false), NULL);
	assert_int_equal(t.cols, 2);
	assert_null(t.y);
	assert_int_equal(data_table_classes(&t), 0);
	data_table_free(&t);
}

static void
test_long_lines(void **state)
{
	/* 3000 columns: lines far longer than any fixed buffer */
	enum {
		COLS = 3000
	};
	static char text[2 * (COLS * 6 + 2)];
	size_t len = 0;

	(void)state;
	for (int r = 0; r < 2; r++) {
		for (int c = 0; c < COLS; c++)
			len += (size_t)sprintf(
			    text + len, "%s%d", c ? "," : "", r * COLS + c);
		text[len++] = '\n';
	}
	struct data_table t;
	load_ok(&t, fx_file("long.csv.gz", text, len, true), NULL);
	assert_int_equal(t.rows, 2);
	assert_int_equal(t.cols, COLS);
	assert_true(t.x[2 * COLS - 1] == 2 * COLS - 1);
	data_table_free(&t);
}

static void
test_bad_input(void **state)
{
	struct data_table_options label_last = { .label = "-1" };

	(void)state;
	load_fails(
	    "/nonexistent/x.csv", NULL, "/nonexistent/x.csv: cannot open");
	load_fails(fx_text("empty.csv", "", false), NULL, "empty file");
	load_fails(fx_text("blank.csv", "\n \n\n", false), NULL, "empty file");
	load_fails(fx_text("onlyhdr.csv", "a,b\n", false), NULL,
	    "no data after the header");
	load_fails(fx_text("ragged.csv", "1,2,3\n4,5\n", false), NULL,
	    "ragged.csv:2: 2 fields, expected 3 as on line 1");
	load_fails(fx_text("nan.csv.gz", "1,2\n3,4\n5,x7\n", true), NULL,
	    "nan.csv.gz:3: column 2: not a number: 'x7'");
	load_fails(fx_text("hole.csv", "1,2,3\n4,,6\n", false), NULL,
	    "hole.csv:2: column 2: empty field");
	load_fails(fx_text("ragged2.csv", "1,2\n3,,4\n", false), NULL,
	    "3 fields, expected 2");

	const char *hdr = fx_text("cols.csv", "a,b,c\n1,2,3\n", false);
	struct data_table_options o = { .columns = "a,zz" };
	load_fails(
	    hdr, &o, "cols.csv: column 'zz': no such column in the header");
	o = (struct data_table_options){ .label = "c", .columns = "a,c" };
	load_fails(hdr, &o, "column 'c' is the label column");
	o = (struct data_table_options){ .columns = "a,0" };
	load_fails(hdr, &o, "column '0' is listed twice");
	o = (struct data_table_options){ .label = "3" };
	load_fails(hdr, &o, "label 3: out of range, the file has 3 columns");
	load_fails(fx_text("one.csv", "1\n2\n", false), &label_last,
	    "no feature columns besides the label");
	o = (struct data_table_options){ .label = "name" };
	load_fails(fx_text("nohdr.csv", "1,2\n", false), &o,
	    "no header to look names up in");

	/* a truncated gzip stream is an error, not a shorter file */
	static char big[4096];
	for (size_t i = 0; i + 2 <= sizeof big; i += 2)
		memcpy(big + i, (i / 2) % 7 ? "1," : "2\n", 2);
	char *path = strdup(fx_file("trunc.csv.gz", big, sizeof big, true));
	assert_int_equal(truncate(path, 40), 0);
	load_fails(path, NULL, "truncated");
	free(path);

	/* a NUL inside the text is reported, not silently cut */
	load_fails(fx_file("nul.csv", "1,2\n3\0,4\n", 9, false), NULL,
	    "nul.csv:2: NUL byte");
}

static void
test_iris_header(void **state)
{
	struct data_table_options o = { .label = "4" };
	struct data_table t;

	(void)state;
	if (access(IRIS_PATH, R_OK) != 0)
		skip();
	/* iris.csv's first line is "150,4,setosa,versicolor,virginica": the
	 * "4" there is a name, but "4" in a param is the fifth column */
	load_ok(&t, IRIS_PATH, &o);
	assert_int_equal(t.rows, 150);
	assert_int_equal(t.cols, 4);
	assert_int_equal(data_table_classes(&t), 3);
	assert_true(t.x[0] == 5.1 && t.y[0] == 0 && t.y[149] == 2);
	data_table_free(&t);
}

static void
test_digits(void **state)
{
	struct data_table_options o = { .label = "-1" };
	struct data_table t;

	(void)state;
	if (access(DIGITS_PATH, R_OK) != 0)
		skip();
	load_ok(&t, DIGITS_PATH, &o);
	assert_int_equal(t.rows, 1797);
	assert_int_equal(t.cols, 64);
	assert_int_equal(data_table_classes(&t), 10);
	data_table_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_gzip_agree),
		cmocka_unit_test(test_header_and_names),
		cmocka_unit_test(test_no_label),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_iris_header),
		cmocka_unit_test(test_digits),
	};
	return cmocka_run_group_tests(tests, NULL, fx_cleanup);
}
