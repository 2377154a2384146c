/*
 * jt.c - helpers for the job tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jt.h"
#include "testutil.h"

ig_spec *
jt_spec(const char *text)
{
	msgpack_zone zone;
	ig_spec *spec = NULL;
	ig_err err = { 0 };

	msgpack_zone_init(&zone, 1024);
	msgpack_object o = tu_obj(&zone, text);
	if (ig_spec_read(&o, &spec, &err) != 0)
		fail_msg("spec: %s", err.message);
	msgpack_zone_destroy(&zone);
	return spec;
}

static void
on_point(
    void *ud, const char *name, int64_t epoch, int64_t iteration, double value)
{
	struct jt_rec *r = ud;

	if (r->npoints == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->points = realloc(r->points, r->cap * sizeof(*r->points));
		assert_non_null(r->points);
	}
	struct jt_point *p = &r->points[r->npoints++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->epoch = epoch;
	p->iteration = iteration;
	p->value = value;
}

static void
on_checkpoint(void *ud)
{
	((struct jt_rec *)ud)->checkpoints++;
}

static void
on_log(void *ud, const char *line)
{
	struct jt_rec *r = ud;

	r->logs++;
	snprintf(r->last_log, sizeof(r->last_log), "%s", line);
}

static void
on_wake(void *ud)
{
	((struct jt_rec *)ud)->wakes++;
}

static int64_t
on_run_id(void *ud)
{
	(void)ud;
	return 1;
}

struct job_hooks
jt_hooks(struct jt_rec *rec)
{
	return (struct job_hooks){ on_point, on_checkpoint, on_log, on_wake,
		on_run_id, rec, NULL };
}

struct job *
jt_job(uv_loop_t *loop, const char *text, struct jt_rec *rec)
{
	ig_spec *spec = jt_spec(text);
	struct job_hooks hooks = jt_hooks(rec);
	struct job *job = NULL;
	ig_err err = { 0 };

	if (job_new(loop, NULL, spec, 0, &hooks, &job, &err) != 0)
		fail_msg("job_new: %s", err.message);
	ig_spec_free(spec);
	return job;
}

const char *
jt_job_error(const char *text, uid_t owner)
{
	static ig_err err;
	ig_spec *spec = jt_spec(text);
	struct jt_rec rec = { 0 };
	struct job_hooks hooks = jt_hooks(&rec);
	struct job *job = NULL;

	memset(&err, 0, sizeof(err));
	assert_int_not_equal(
	    job_new(uv_default_loop(), NULL, spec, owner, &hooks, &job, &err),
	    0);
	assert_null(job);
	assert_int_not_equal(err.code, 0);
	ig_spec_free(spec);
	return err.message;
}

ig_run_status
jt_run(uv_loop_t *loop, struct job *job, uint64_t stop_at)
{
	ig_engine *e = job_engine(job);
	ig_run_args args = job_run_args(job);
	ig_run_status st;

	if (ig_engine_status(e) == IG_RUN_IDLE)
		assert_int_equal(ig_engine_start(e, job_data(job), &args), 0);
	for (;;) {
		int64_t done = ig_engine_state(e)->iteration;
		uint64_t budget = stop_at > 0 ? stop_at - (uint64_t)done : 0;

		st = ig_engine_step(e, budget);
		if (st == IG_RUN_WAITING) {
			/* the after-work callback completes the call and wakes us */
			while (job_busy(job))
				uv_run(loop, UV_RUN_ONCE);
			continue;
		}
		if (st != IG_RUN_YIELD)
			return st;
		if (stop_at > 0 &&
		    (uint64_t)ig_engine_state(e)->iteration >= stop_at)
			return st;
	}
}

void
jt_rec_free(struct jt_rec *rec)
{
	free(rec->points);
	memset(rec, 0, sizeof(*rec));
}
