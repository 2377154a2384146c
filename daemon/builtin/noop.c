/*
 * noop.c - the process function that does nothing.
 *
 * Hosting overhead is measured with it: whatever a run of noop costs per
 * iteration is the daemon's, not the process function's.
 */
#include "builtin/builtin.h"
#include "builtin/params.h"

/* create must return non-NULL on success; there is no state to point to. */
static char noop_instance;

static void *
noop_create(const ig_param *params, size_t n, char *err, size_t errlen)
{
	static const char *const known[] = { NULL };
	ig_err e;

	if (params_check("noop", params, n, known, &e) != 0) {
		params_abi_err(&e, err, errlen);
		return NULL;
	}
	return &noop_instance;
}

static int
noop_process(void *self, const ig_batch *batch, int mode, const ig_output **out,
    char *err, size_t errlen)
{
	(void)self;
	(void)batch;
	(void)mode;
	(void)err;
	(void)errlen;
	*out = NULL;
	return 0;
}

static void
noop_destroy(void *self)
{
	(void)self;
}

const ig_plugin builtin_noop = {
	.abi_version = IG_PLUGIN_ABI_VERSION,
	.name = "noop",
	.create = noop_create,
	.process = noop_process,
	.destroy = noop_destroy,
};
