/*
 * plugin_load.h - a C plugin (engine "plugin:PATH") loaded with dlopen.
 *
 * Who may load what: root any path; any other owner only a file inside one
 * of the configured plugin directories (ignited --plugin-dir), judged on
 * the path with every symlink resolved.  The shared object must export
 * IG_PLUGIN_SYMBOL returning an ig_plugin of ABI 1 to IG_PLUGIN_ABI_VERSION
 * with create, process and destroy, state_dict exactly with
 * load_state_dict, and save_file exactly with load_file.
 */
#ifndef IGNITED_PLUGIN_LOAD_H
#define IGNITED_PLUGIN_LOAD_H

#include <sys/types.h>

#include "ignite/plugin.h"
#include "ignite/protocol.h"

/* The plugin directories of the daemon; borrowed, NULL-terminated. */
struct plugin_dirs {
	const char *const *v;
	size_t n;
};

/* Load path for owner.  On success *plugin is a copy of the plugin's
 * ig_plugin, the members its ABI version lacks NULL (its functions valid
 * until plugin_unload(*dl)), and *dl the handle to unload.  On error
 * nothing is loaded and err names the engine field and what to do. */
int plugin_load(const char *path, uid_t owner, const struct plugin_dirs *dirs,
    ig_plugin *plugin, void **dl, ig_err *err);
/* NULL is fine. */
void plugin_unload(void *dl);

#endif
