/*
 * launch_local.c - the local launcher: the worker is the daemon's child,
 * started through ignited --exec-worker (worker/exec_worker.h) as the
 * run's owner, with its limits, CPUs and GPUs; the worker channel
 * (worker/worker.c) speaks to it over its stdin and stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launch/launch.h"
#include "worker/exec_worker.h"

/* The worker's environment: env with the GPUs it was given, over any the
 * spec set (a run must not reach another's GPU), numbered as nvidia-smi
 * numbers them.  One allocation, free() it; NULL without memory. */
static char **
gpu_env(char *const *env, const char *gpus)
{
	static const char order[] = "CUDA_DEVICE_ORDER=PCI_BUS_ID";
	static const char var[] = "CUDA_VISIBLE_DEVICES=";
	size_t n = 0, k = 0, vlen = strlen(var) + strlen(gpus) + 1;
	char **v, *text;

	while (env[n] != NULL)
		n++;
	if ((v = malloc((n + 3) * sizeof(*v) + vlen)) == NULL)
		return NULL;
	text = (char *)(v + n + 3);
	snprintf(text, vlen, "%s%s", var, gpus);
	for (size_t i = 0; i < n; i++)
		if (strncmp(env[i], var, strlen(var)) != 0 &&
		    strncmp(env[i], order, strlen("CUDA_DEVICE_ORDER=")) != 0)
			v[k++] = env[i];
	v[k++] = text;
	v[k++] = (char *)order;
	v[k] = NULL;
	return v;
}

static int
local_spawn(uv_loop_t *loop, const struct launch_req *req, uv_process_t *proc,
    uv_exit_cb exit_cb, uv_pipe_t *const io[3], ig_err *err)
{
	char **args =
	    exec_worker_argv(req->argv, req->cwd, req->rlimits, req->cpus);
	char **env = req->gpus != NULL ? gpu_env(req->env, req->gpus) : NULL;
	int rc;

	if (args == NULL || (req->gpus != NULL && env == NULL)) {
		free(args);
		free(env);
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "worker: out of memory");
	}
	rc = exec_worker_spawn(loop, proc, exit_cb, args,
	    env != NULL ? env : (char **)req->env, io, req->setid, req->uid,
	    req->gid);
	free(args);
	free(env);
	if (rc != 0)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "engine: cannot start %s: "
		    "ignited cannot run %s as uid %lu: %s",
		    req->argv[0], EXEC_WORKER_SELF,
		    (unsigned long)(req->setid ? req->uid : geteuid()),
		    uv_strerror(rc));
	return 0;
}

const struct launcher launch_local = {
	.name = "local",
	.spawn = local_spawn,
};
