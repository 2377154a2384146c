/*
 * test_store_crash.c - kill -9 at random moments.  A child resumes the run
 * from its checkpoint (truncating what ran ahead, as the daemon does) and
 * writes rounds of points and checkpoints until it is killed; after every
 * kill the latest checkpoint must have exactly its points, each with the
 * value the uninterrupted run would have written.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define STEP 50 /* iterations per checkpoint */
#define TRIALS 12

static double
value(int series, int64_t it)
{
	return (series == 0 ? (double)it : -(double)it) + 0.5;
}

static void
put(struct store *s, int64_t run, const int64_t sid[2], int64_t from,
    int64_t to)
{
	struct store_point pt[2];
	int64_t it;

	for (it = from; it <= to; it++) {
		pt[0] = (struct store_point){ sid[0], 1, it, 0, value(0, it) };
		pt[1] = (struct store_point){ sid[1], 1, it, 0, value(1, it) };
		store_points(s, run, pt, 2);
	}
}

static void
flushed(void *arg, const ig_err *err)
{
	(void)err;
	*(int *)arg = 1;
}

/* The child: never returns. */
static void
child(const char *path)
{
	struct store_progress p = { 1, 0, STORE_NONE, STORE_NONE };
	struct store_checkpoint c = { 0 };
	struct store_resume *res;
	int64_t run, sid[2], k = 0;
	char err[512], sd[32];
	ig_err e;
	uv_loop_t loop;
	struct store *s;
	size_t n;
	int done;

	uv_loop_init(&loop);
	if ((s = store_open(&loop, path, NULL, err, sizeof(err))) == NULL ||
	    store_unfinished(store_loop_reader(s), &res, &n) != 0)
		_exit(2);
	if (n != 1)
		_exit(3);
	run = res[0].run.id;
	if (res[0].has_checkpoint)
		k = res[0].checkpoint.iteration / STEP;
	store_resume_free(res, n);
	store_truncate(s, run, k * STEP, NULL, NULL);
	if (store_series(s, run, "a", &sid[0], &e) ||
	    store_series(s, run, "b", &sid[1], &e))
		_exit(4);
	for (k++;; k++) {
		int64_t base = (k - 1) * STEP;

		/* Half a round alone: it may commit without a checkpoint. */
		put(s, run, sid, base + 1, base + STEP / 2);
		uv_run(&loop, UV_RUN_NOWAIT);
		put(s, run, sid, base + STEP / 2 + 1, base + STEP);
		c.run_id = run;
		c.iteration = p.iteration = base + STEP;
		c.state_dict_len =
		    (size_t)snprintf(sd, sizeof(sd), "%lld", (long long)k);
		c.state_dict = sd;
		store_save_checkpoint(s, &c, &p, NULL, NULL);
		uv_run(&loop, UV_RUN_NOWAIT);
		if (k % 16 == 0) {
			done = 0;
			store_flush(s, flushed, &done);
			while (!done)
				uv_run(&loop, UV_RUN_ONCE);
		}
	}
}

/* After a kill: the latest checkpoint has exactly its points.  Returns how
 * many points ran ahead of it. */
static int64_t
verify(fixture *fx)
{
	struct store_query q = { .from = INT64_MIN, .to = INT64_MAX };
	struct store_series_data *d;
	struct store_resume *res;
	int64_t top, ahead = 0, below = 0, res_run;
	size_t n, nd, i, j;

	fx_open(fx, NULL);
	assert_int_equal(store_unfinished(fx->reader, &res, &n), 0);
	assert_int_equal(n, 1);
	top = 0;
	res_run = res[0].run.id;
	if (res[0].has_checkpoint) {
		char sd[32];
		struct store_checkpoint *c = &res[0].checkpoint;

		top = c->iteration;
		assert_int_equal(top % STEP, 0);
		snprintf(sd, sizeof(sd), "%lld", (long long)(top / STEP));
		assert_int_equal(c->state_dict_len, strlen(sd));
		assert_memory_equal(c->state_dict, sd, strlen(sd));
		assert_int_equal(c->seq, top / STEP);
	}
	store_resume_free(res, n);
	/* read as a client would; a kill before the series' first commit
	 * leaves none */
	q.run_id = res_run;
	assert_int_equal(store_history(fx->reader, &q, &d, &nd), 0);
	assert_true(nd <= 2);
	for (i = 0; i < nd; i++)
		for (j = 0; j < d[i].n; j++) {
			const ig_point p = fx_point(&d[i], j);
			double sign = strcmp(d[i].name, "a") == 0 ? 1 : -1;

			assert_true(
			    p.value == sign * (double)p.iteration + 0.5);
			if (p.iteration <= top)
				below++;
			else
				ahead++;
		}
	store_series_free(d, nd);
	assert_int_equal(below, 2 * top);
	assert_true(ahead <= STEP); /* at most the half round */
	fx_close(fx);
	return ahead;
}

static void
test_kill_at_random(void **state)
{
	int64_t ahead = 0, top;
	fixture fx;
	int trial, status;
	pid_t pid;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	fx_create_run(&fx, "crash"); /* as the daemon's run request would */
	fx_close(&fx);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (trial = 0; trial < TRIALS; trial++) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			child(fx.path);
		usleep(20000 + (useconds_t)(rand() % 200000));
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		ahead += verify(&fx) > 0;
	}
	print_message("%d kills; %lld left points ahead of the checkpoint\n",
	    TRIALS, (long long)ahead);
	/* The resume step: nothing runs ahead after truncation. */
	fx_open(&fx, NULL);
	top = fx_query(&fx, "SELECT iteration FROM checkpoints");
	assert_true(top > 0);
	assert_int_equal(store_truncate(fx.store, 1, top, NULL, NULL), 0);
	fx_flush(&fx);
	assert_int_equal(fx_query(&fx, FX_NPOINTS), 2 * top);
	assert_int_equal(fx_query(&fx, FX_TOP), top);
	fx_cleanup(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_at_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
