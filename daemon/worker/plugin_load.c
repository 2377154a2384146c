/*
 * plugin_load.c - dlopen a plugin, refuse what the owner may not load and
 * what does not speak our ABI (see plugin_load.h).
 */
#include <dlfcn.h>
#include <stddef.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/job_int.h"
#include "worker/plugin_load.h"

/* The oldest plugin ABI ignited still loads (see plugin.h). */
#define PLUGIN_ABI_OLDEST 1u

/* Is the resolved path inside the (resolved) directory dir? */
static bool
inside(const char *real, const char *dir)
{
	char rdir[PATH_MAX];
	size_t n;

	if (realpath(dir, rdir) == NULL)
		return false;
	n = strlen(rdir);
	/* "/" as a plugin dir would allow everything: taken as given */
	return strncmp(real, rdir, n) == 0 &&
	    (real[n] == '/' || rdir[n - 1] == '/');
}

struct resolve {
	const char *path;
	char *real; /* PATH_MAX */
};

/* Runs with the owner's file access (job_owner.c): the path resolves as it
 * would for the owner, and what the owner may not see is answered as what
 * does not exist, so the answer tells nothing of others' directories. */
static int
resolve(void *arg, ig_err *err)
{
	struct resolve *r = arg;

	if (realpath(r->path, r->real) != NULL)
		return 0;
	if (errno == ENOENT || errno == EACCES || errno == ENOTDIR)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "engine: plugin:%s: no such "
		    "file or not permitted",
		    r->path);
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS, "engine: plugin:%s: %s",
	    r->path, strerror(errno));
}

static int
check_dir(const char *path, const char *real, uid_t owner,
    const struct plugin_dirs *dirs, ig_err *err)
{
	char list[512] = "";
	size_t used = 0;

	if (owner == 0)
		return 0;
	for (size_t i = 0; i < dirs->n; i++)
		if (inside(real, dirs->v[i]))
			return 0;
	for (size_t i = 0; i < dirs->n && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
		    "%s%s", i > 0 ? ", " : "", dirs->v[i]);
	return ig_err_set(err, IG_PROTO_PERMISSION_DENIED,
	    "engine: plugin:%s: uid %lu may "
	    "load plugins only from the plugin directories (%s); ask the "
	    "administrator to install it there or to add one with ignited "
	    "--plugin-dir",
	    path, (unsigned long)owner, dirs->n > 0 ? list : "none configured");
}

static int
check_plugin(const char *path, const ig_plugin *p, ig_err *err)
{
	if (p == NULL)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "engine: plugin:%s: %s() "
		    "returned NULL",
		    path, IG_PLUGIN_SYMBOL);
	if (p->abi_version < PLUGIN_ABI_OLDEST ||
	    p->abi_version > IG_PLUGIN_ABI_VERSION)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "engine: plugin:%s speaks plugin "
		    "ABI %u, ignited speaks %u to %u: rebuild it against this "
		    "ignite/plugin.h",
		    path, (unsigned)p->abi_version, PLUGIN_ABI_OLDEST,
		    IG_PLUGIN_ABI_VERSION);
	return 0;
}

/* The members the plugin's version has; the rest stay NULL. */
static void
copy_plugin(ig_plugin *dst, const ig_plugin *p)
{
	memset(dst, 0, sizeof(*dst));
	memcpy(dst, p,
	    p->abi_version == 1 ? offsetof(ig_plugin, save_file) :
	                          sizeof(*dst));
}

static int
check_members(const char *path, const ig_plugin *p, ig_err *err)
{
	if (p->create == NULL || p->process == NULL || p->destroy == NULL)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "engine: plugin:%s lacks %s", path,
		    p->create == NULL      ? "create" :
		        p->process == NULL ? "process" :
		                             "destroy");
	if ((p->state_dict == NULL) != (p->load_state_dict == NULL))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "engine: plugin:%s has %s "
		    "without %s",
		    path,
		    p->state_dict != NULL ? "state_dict" : "load_state_dict",
		    p->state_dict != NULL ? "load_state_dict" : "state_dict");
	if ((p->save_file == NULL) != (p->load_file == NULL))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "engine: plugin:%s has %s without %s", path,
		    p->save_file != NULL ? "save_file" : "load_file",
		    p->save_file != NULL ? "load_file" : "save_file");
	if (p->name == NULL)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "engine: plugin:%s has no name", path);
	return 0;
}

int
plugin_load(const char *path, uid_t owner, const struct plugin_dirs *dirs,
    ig_plugin *plugin, void **dl, ig_err *err)
{
	char real[PATH_MAX];
	struct resolve r = { path, real };
	void *h;
	ig_plugin_entry_fn entry;
	int rc;

	memset(plugin, 0, sizeof(*plugin));
	*dl = NULL;
	if (path[0] != '/')
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "engine: plugin:%s: give an "
		    "absolute path",
		    path);
	if ((rc = job_as_owner(owner, resolve, &r, "engine", err)) != 0 ||
	    (rc = check_dir(path, real, owner, dirs, err)) != 0)
		return rc;
	/* the resolved path: what was checked is what is loaded */
	if ((h = dlopen(real, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "engine: plugin:%s: %s", path, dlerror());
	/* dlsym returns void *; POSIX guarantees it converts to a function */
	*(void **)&entry = dlsym(h, IG_PLUGIN_SYMBOL);
	if (entry == NULL) {
		dlclose(h);
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "engine: plugin:%s exports no %s: "
		    "is it built against ignite/plugin.h?",
		    path, IG_PLUGIN_SYMBOL);
	}
	const ig_plugin *p = entry();
	if ((rc = check_plugin(path, p, err)) != 0) {
		dlclose(h);
		return rc;
	}
	copy_plugin(plugin, p);
	if ((rc = check_members(path, plugin, err)) != 0) {
		dlclose(h);
		return rc;
	}
	*dl = h;
	return 0;
}

void
plugin_unload(void *dl)
{
	if (dl != NULL)
		dlclose(dl);
}
