/*
 * launch.c - the choice of a spec's launcher, and a scheduler's command
 * run off the loop for a launcher (see launch.h): spawned through ignited
 * --exec-worker as the run's owner, its input written, its output
 * collected, and a deadline.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launch/launch.h"
#include "worker/exec_worker.h"

#define OUT_MAX (64 * 1024)
#define COMMAND_TIMEOUT_MS 60000
#define NHANDLES 5 /* the process, three pipes, the timer */

struct command {
	uv_process_t proc;
	uv_pipe_t in, out, err;
	uv_timer_t timer;
	uv_write_t wreq;
	int open;
	int status;
	char *input;
	launch_command_fn *done;
	void *arg;
	char out_buf[OUT_MAX + 1], err_buf[OUT_MAX + 1];
	size_t out_len, err_len;
	char rbuf[4096];
};

static void
on_closed(uv_handle_t *h)
{
	struct command *c = h->data;

	if (--c->open > 0)
		return;
	c->out_buf[c->out_len] = '\0';
	c->err_buf[c->err_len] = '\0';
	if (c->done != NULL)
		c->done(c->arg, c->status, c->out_buf, c->err_buf);
	free(c->input);
	free(c);
}

static void
close_all(struct command *c)
{
	uv_handle_t *hs[] = { (uv_handle_t *)&c->in, (uv_handle_t *)&c->out,
		(uv_handle_t *)&c->err, (uv_handle_t *)&c->timer,
		(uv_handle_t *)&c->proc };

	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
		if (!uv_is_closing(hs[i]))
			uv_close(hs[i], on_closed);
}

static void
alloc_buf(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct command *c = h->data;

	(void)hint;
	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void
take(char *dst, size_t *len, const char *p, size_t n)
{
	if (n > OUT_MAX - *len)
		n = OUT_MAX - *len;
	memcpy(dst + *len, p, n);
	*len += n;
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct command *c = s->data;

	if (n > 0 && s == (uv_stream_t *)&c->out)
		take(c->out_buf, &c->out_len, buf->base, (size_t)n);
	else if (n > 0)
		take(c->err_buf, &c->err_len, buf->base, (size_t)n);
	else if (n < 0 && !uv_is_closing((uv_handle_t *)s))
		uv_close((uv_handle_t *)s, on_closed); /* all read */
}

static void
on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct command *c = p->data;

	c->status = sig != 0 ? -1 : (int)status;
	/* its pipes close when read to their end */
	uv_close((uv_handle_t *)p, on_closed);
	uv_close((uv_handle_t *)&c->timer, on_closed);
	if (!uv_is_closing((uv_handle_t *)&c->in))
		uv_close((uv_handle_t *)&c->in, on_closed);
}

static void
on_timeout(uv_timer_t *t)
{
	struct command *c = t->data;

	take(c->err_buf, &c->err_len, "killed after 60 s",
	    strlen("killed after 60 s"));
	uv_process_kill(&c->proc, SIGKILL);
}

static void
on_written(uv_write_t *req, int status)
{
	struct command *c = req->data;

	(void)status;
	if (!uv_is_closing((uv_handle_t *)&c->in))
		uv_close((uv_handle_t *)&c->in, on_closed);
}

const struct launcher *
launch_for(const ig_spec *spec)
{
	return spec->slurm.set ? &launch_slurm : &launch_local;
}

int
launch_command(uv_loop_t *loop, const struct launch_req *req, char *const *argv,
    char *const *env, const char *input, launch_command_fn *done, void *arg,
    ig_err *err)
{
	struct command *c = calloc(1, sizeof(*c));
	int64_t nolimits[IG_RLIMIT_COUNT];
	char **args;
	int rc;

	for (int r = 0; r < IG_RLIMIT_COUNT; r++)
		nolimits[r] = IG_NONE;
	args = exec_worker_argv(
	    argv, req->cwd != NULL ? req->cwd : "/", nolimits, NULL);
	if (c == NULL || args == NULL ||
	    (input != NULL && (c->input = strdup(input)) == NULL)) {
		free(args);
		free(c);
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	}
	c->done = done;
	c->arg = arg;
	uv_pipe_init(loop, &c->in, 0);
	uv_pipe_init(loop, &c->out, 0);
	uv_pipe_init(loop, &c->err, 0);
	uv_timer_init(loop, &c->timer);
	c->proc.data = c->in.data = c->out.data = c->err.data = c->timer.data =
	    c->wreq.data = c;
	c->open = NHANDLES;
	rc = exec_worker_spawn(loop, &c->proc, on_exit_cb, args, (char **)env,
	    (uv_pipe_t *const[3]){ &c->in, &c->out, &c->err }, req->setid,
	    req->uid, req->gid);
	free(args);
	if (rc != 0) {
		c->done = NULL;
		close_all(c);
		return ig_err_set(err, IG_PROTO_INTERNAL, "cannot run %s: %s",
		    argv[0], uv_strerror(rc));
	}
	uv_read_start((uv_stream_t *)&c->out, alloc_buf, on_read);
	uv_read_start((uv_stream_t *)&c->err, alloc_buf, on_read);
	uv_timer_start(&c->timer, on_timeout, COMMAND_TIMEOUT_MS, 0);
	if (c->input != NULL) {
		uv_buf_t b = uv_buf_init(c->input, (unsigned)strlen(c->input));
		if (uv_write(&c->wreq, (uv_stream_t *)&c->in, &b, 1,
		        on_written) != 0)
			uv_close((uv_handle_t *)&c->in, on_closed);
	} else {
		uv_close((uv_handle_t *)&c->in, on_closed);
	}
	return 0;
}
