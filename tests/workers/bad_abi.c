/* bad_abi.c - a plugin built for an ABI the daemon does not speak. */
#include <stddef.h>

#include "ignite/plugin.h"

static void *
create(const ig_param *p, size_t n, char *err, size_t errlen)
{
	(void)p, (void)n, (void)err, (void)errlen;
	return NULL;
}

static const ig_plugin bad = {
	.abi_version = IG_PLUGIN_ABI_VERSION + 1,
	.name = "bad_abi",
	.create = create,
};

const ig_plugin *
ignite_plugin_v1(void)
{
	return &bad;
}
