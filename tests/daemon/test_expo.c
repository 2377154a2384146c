/*
 * test_expo.c - the Prometheus text exposition (daemon/metrics/expo.c):
 * names sanitised, label values and help escaped and made valid UTF-8,
 * values as Prometheus reads them, histograms, the budget of series.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/expo.h"
#include "metrics/series.h"

static void
test_label_values_escaped(void **state)
{
	struct expo x;
	struct expo_label l[2] = { { "name", "a\"b\\c\nd" }, { "x", NULL } };

	(void)state;
	expo_init(&x, 0);
	expo_sample(&x, "m", l, 2, 1);
	assert_string_equal(x.buf, "m{name=\"a\\\"b\\\\c\\nd\",x=\"\"} 1\n");
	expo_free(&x);
}

static void
test_invalid_utf8_replaced(void **state)
{
	struct expo x;
	/* valid: é, €, U+1F600; invalid: a lone continuation byte, an
	 * overlong '/', a surrogate, a truncated sequence at the end */
	struct expo_label l = { "v",
		"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\x80|\xc0\xaf|\xed\xa0\x80|"
		"\xe2\x82" };

	(void)state;
	expo_init(&x, 0);
	expo_sample(&x, "m", &l, 1, 0);
	assert_string_equal(x.buf,
	    "m{v=\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xef\xbf\xbd|"
	    "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
	    "\xef\xbf\xbd\xef\xbf\xbd\"} 0\n");
	expo_free(&x);
}

static void
test_names_sanitised(void **state)
{
	struct expo x;
	struct expo_label l = { "a:b-c", "v" };

	(void)state;
	expo_init(&x, 0);
	expo_sample(&x, "9bad-name.x:y", &l, 1, 2);
	expo_sample(&x, "", NULL, 0, 3);
	assert_string_equal(x.buf, "_9bad_name_x:y{a_b_c=\"v\"} 2\n_ 3\n");
	expo_free(&x);
}

static void
test_help_escaped(void **state)
{
	struct expo x;

	(void)state;
	expo_init(&x, 0);
	expo_family(&x, "m", "gauge", "a \"q\" \\ and\nmore");
	assert_string_equal(
	    x.buf, "# HELP m a \"q\" \\\\ and\\nmore\n# TYPE m gauge\n");
	expo_free(&x);
}

static void
test_values(void **state)
{
	struct expo x;

	(void)state;
	expo_init(&x, 0);
	expo_sample(&x, "a", NULL, 0, NAN);
	expo_sample(&x, "b", NULL, 0, INFINITY);
	expo_sample(&x, "c", NULL, 0, -INFINITY);
	expo_sample(&x, "d", NULL, 0, 0.1);
	expo_sample(&x, "e", NULL, 0, 1.0 / 3);
	expo_sample(&x, "f", NULL, 0, 12345678);
	assert_string_equal(x.buf,
	    "a NaN\nb +Inf\nc -Inf\nd 0.1\ne 0.33333333333333331\n"
	    "f 12345678\n");
	expo_free(&x);
}

static void
test_histogram(void **state)
{
	struct expo x;
	struct hist h;
	const char *want = "# HELP h_seconds t\n# TYPE h_seconds histogram\n"
	                   "h_seconds_bucket{le=\"0.001\"} 1\n"
	                   "h_seconds_bucket{le=\"0.0025\"} 1\n"
	                   "h_seconds_bucket{le=\"0.005\"} 1\n"
	                   "h_seconds_bucket{le=\"0.01\"} 1\n"
	                   "h_seconds_bucket{le=\"0.025\"} 1\n"
	                   "h_seconds_bucket{le=\"0.05\"} 1\n"
	                   "h_seconds_bucket{le=\"0.1\"} 1\n"
	                   "h_seconds_bucket{le=\"0.25\"} 1\n"
	                   "h_seconds_bucket{le=\"0.5\"} 2\n"
	                   "h_seconds_bucket{le=\"1\"} 2\n"
	                   "h_seconds_bucket{le=\"2.5\"} 2\n"
	                   "h_seconds_bucket{le=\"5\"} 2\n"
	                   "h_seconds_bucket{le=\"10\"} 2\n"
	                   "h_seconds_bucket{le=\"+Inf\"} 3\n"
	                   "h_seconds_sum 20.5005\n"
	                   "h_seconds_count 3\n";

	(void)state;
	hist_init(&h, HIST_SECONDS);
	hist_add(&h, 0.0005);
	hist_add(&h, 0.5); /* on a bound: that bucket */
	hist_add(&h, 20);
	expo_init(&x, 0);
	expo_hist(&x, "h_seconds", "t", &h);
	assert_string_equal(x.buf, want);
	expo_free(&x);
}

static void
test_budget(void **state)
{
	struct expo x;

	(void)state;
	expo_init(&x, 10);
	assert_int_equal(expo_take(&x, 4), 4);
	assert_int_equal(expo_take(&x, 8), 6);
	assert_int_equal(expo_take(&x, 3), 0);
	assert_int_equal(expo_take(&x, 0), 0);
	assert_int_equal(x.dropped, 5);
	expo_free(&x);
}

static ig_summary
summary(int64_t id, int64_t owner, int status, ig_named_value *m, size_t nm)
{
	return (ig_summary){ .id = id,
		.name = "r",
		.owner = owner,
		.status = status,
		.iteration = 10 * id,
		.epoch = 1,
		.max_epochs = status == IG_STATUS_RUNNING ? 4 : IG_NONE,
		.epoch_length = status == IG_STATUS_RUNNING ? 100 : IG_NONE,
		.rate = status == IG_STATUS_RUNNING ? 12.5 : 0,
		.metrics = m,
		.nmetrics = nm };
}

/* Unfinished runs take the budget first, then the newest; what does not
 * fit is counted, and every run is counted by status and owner. */
static void
test_runs_within_budget(void **state)
{
	ig_named_value m1[] = { { "loss", 0.25 }, { "acc", 0.5 } };
	ig_named_value m2[] = { { "loss", 0.125 } };
	struct series_row rows[] = {
		{ .s = summary(1, 0, IG_STATUS_COMPLETED, m1, 2) },
		{ .s = summary(2, 1000, IG_STATUS_RUNNING, m2, 1) },
		{ .s = summary(3, 0, IG_STATUS_FAILED, NULL, 0) },
	};
	struct expo x;

	(void)state;
	/* run 2: 4 gauges and 1 metric; run 3: 1 of its 3; run 1: none */
	expo_init(&x, 6);
	series_write_runs(&x, rows, 3);
	assert_false(x.failed);
	assert_int_equal(x.dropped, 2 + 5);
	assert_non_null(strstr(
	    x.buf, "ignited_runs{status=\"completed\",owner=\"0\"} 1\n"));
	assert_non_null(
	    strstr(x.buf, "ignited_runs{status=\"failed\",owner=\"0\"} 1\n"));
	assert_non_null(
	    strstr(x.buf, "ignited_runs{status=\"running\",owner=\"0\"} 0\n"));
	assert_non_null(strstr(
	    x.buf, "ignited_runs{status=\"running\",owner=\"1000\"} 1\n"));
	assert_non_null(strstr(x.buf,
	    "ignited_run_iterations_per_second{run=\"2\",name=\"r\","
	    "owner=\"1000\"} 12.5\n"));
	assert_non_null(strstr(x.buf,
	    "ignited_run_progress{run=\"2\",name=\"r\",owner=\"1000\"} "
	    "0.05\n"));
	assert_non_null(strstr(x.buf,
	    "ignited_run_metric{run=\"2\",name=\"r\",owner=\"1000\","
	    "metric=\"loss\"} 0.125\n"));
	assert_non_null(strstr(x.buf,
	    "ignited_run_iterations_per_second{run=\"3\",name=\"r\","
	    "owner=\"0\"} 0\n"));
	assert_null(strstr(x.buf, "ignited_run_iteration{run=\"3\""));
	assert_null(strstr(x.buf, "{run=\"1\""));
	expo_free(&x);

	/* with room for all: every series, no progress without max_epochs */
	expo_init(&x, 100);
	series_write_runs(&x, rows, 3);
	assert_int_equal(x.dropped, 0);
	assert_int_equal(x.budget, 100 - 5 - 5 - 3);
	assert_non_null(strstr(x.buf,
	    "ignited_run_metric{run=\"1\",name=\"r\",owner=\"0\","
	    "metric=\"acc\"} 0.5\n"));
	assert_null(strstr(x.buf, "ignited_run_progress{run=\"1\""));
	expo_free(&x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_values_escaped),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_names_sanitised),
		cmocka_unit_test(test_help_escaped),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_runs_within_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
