/*
 * jt.h - helpers for the job tests: specs from JSON-like text (see
 * tests/proto/testutil.h), hooks that record what a job reports, and
 * running a job's engine to the end on a real libuv loop.
 */
#ifndef IGNITE_TESTS_JOB_JT_H
#define IGNITE_TESTS_JOB_JT_H

#include <stdint.h>

#include "job/job.h"

#define DIGITS_PATH \
	"/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
/* The 8x8 digits: no header, label last, pixels 0..16; 1438 train rows,
 * 359 val. */
#define DIGITS_DATA \
	"'data': {'kind': 'csv', 'path': '" DIGITS_PATH "', " \
	"'header': false, 'label': 64, 'batch_size': 32, 'shuffle': true, " \
	"'split': 0.2, 'scale': 16}"

struct jt_point {
	char name[IG_NAME_MAX + 1];
	int64_t epoch, iteration;
	double value;
};

/* What the hooks saw.  Zero-initialise. */
struct jt_rec {
	struct jt_point *points; /* owned; jt_rec_free */
	size_t npoints, cap;
	int checkpoints, wakes, logs;
	char last_log[512];
};

/* The spec text describes; fails the test when it does not read. */
ig_spec *jt_spec(const char *text);
/* Hooks that record into rec. */
struct job_hooks jt_hooks(struct jt_rec *rec);
/* job_new on text with owner 0; fails the test on error. */
struct job *jt_job(uv_loop_t *loop, const char *text, struct jt_rec *rec);
/* job_new on text, expected to fail: returns the message (static). */
const char *jt_job_error(const char *text, uid_t owner);
/* Start the job's engine (args from the spec) and step it by budget
 * iterations until it ends (budget 0: no limit), or until stop_at
 * iterations have completed when stop_at > 0.  Blocking calls are waited
 * for on loop.  Returns the last status. */
ig_run_status jt_run(uv_loop_t *loop, struct job *job, uint64_t stop_at);
void jt_rec_free(struct jt_rec *rec);

#endif
