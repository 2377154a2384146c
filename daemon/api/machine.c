/*
 * machine.c - the machine method: ignited's GPUs and who holds each, with
 * their use where NVML tells it, and its CPU slots (ignitectl top).
 *
 * NVML is optional: libnvidia-ml.so.1 is opened at the first request that
 * has GPUs to show, and never again when it is absent (no NVIDIA driver:
 * the numbers are nil).  Its calls read the driver's counters; they are
 * quick enough for the loop at a request a second.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "ignite/protocol.h"
#include "log.h"

/* The little of nvml.h used here, as the driver's ABI has it. */
struct nvml_util {
	unsigned int gpu, memory; /* percent */
};
struct nvml_memory {
	unsigned long long total, free, used; /* bytes */
};
typedef void *nvml_device;

static struct nvml {
	bool tried;
	void *dl; /* NULL: no NVML */
	int (*by_index)(unsigned int, nvml_device *);
	int (*util)(nvml_device, struct nvml_util *);
	int (*memory)(nvml_device, struct nvml_memory *);
} nvml;

static void
nvml_open(void)
{
	int (*init)(void);

	nvml.tried = true;
	if ((nvml.dl = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL)) ==
	    NULL)
		return;
	*(void **)&init = dlsym(nvml.dl, "nvmlInit_v2");
	*(void **)&nvml.by_index =
	    dlsym(nvml.dl, "nvmlDeviceGetHandleByIndex_v2");
	*(void **)&nvml.util = dlsym(nvml.dl, "nvmlDeviceGetUtilizationRates");
	*(void **)&nvml.memory = dlsym(nvml.dl, "nvmlDeviceGetMemoryInfo");
	if (init == NULL || nvml.by_index == NULL || nvml.util == NULL ||
	    nvml.memory == NULL || init() != 0) {
		log_info("NVML (libnvidia-ml.so.1) is there but unusable: "
		         "ignitectl top shows no GPU use");
		dlclose(nvml.dl);
		nvml.dl = NULL;
	}
}

/* What NVML says of device id: -1 where it says nothing. */
struct gpu_use {
	int64_t util, used, total;
};

static struct gpu_use
gpu_use(int id)
{
	struct gpu_use u = { -1, -1, -1 };
	struct nvml_util ut;
	struct nvml_memory m;
	nvml_device dev;

	if (!nvml.tried)
		nvml_open();
	if (nvml.dl == NULL || nvml.by_index((unsigned int)id, &dev) != 0)
		return u;
	if (nvml.util(dev, &ut) == 0)
		u.util = ut.gpu;
	if (nvml.memory(dev, &m) == 0) {
		u.used = (int64_t)m.used;
		u.total = (int64_t)m.total;
	}
	return u;
}

static void
pack_opt(msgpack_packer *pk, const char *key, int64_t v)
{
	ig_pack_str(pk, key);
	ig_pack_opt_int(pk, v < 0 ? IG_NONE : v);
}

static void
pack_machine(msgpack_packer *pk, void *arg)
{
	struct runs *mgr = arg;
	const struct sched_config *cfg = sched_config(mgr->sched);
	int64_t used = 0;

	msgpack_pack_map(pk, 2);
	ig_pack_str(pk, "gpus");
	msgpack_pack_array(pk, (size_t)cfg->ngpus);
	for (int i = 0; i < cfg->ngpus; i++) {
		struct gpu_use u = gpu_use(cfg->gpu_ids[i]);
		struct run *holder = NULL;

		for (size_t r = 0; r < mgr->n && holder == NULL; r++)
			if (mgr->v[r]->sched.held &&
			    (mgr->v[r]->sched.gpu_mask & (1ull << i)))
				holder = mgr->v[r];
		msgpack_pack_map(pk, 5);
		ig_pack_str(pk, "index");
		msgpack_pack_int(pk, cfg->gpu_ids[i]);
		ig_pack_str(pk, "run");
		if (holder == NULL) {
			msgpack_pack_nil(pk);
		} else {
			msgpack_pack_map(pk, 3);
			ig_pack_str(pk, "id");
			msgpack_pack_int64(pk, holder->id);
			ig_pack_str(pk, "name");
			ig_pack_str(
			    pk, holder->name[0] != '\0' ? holder->name : NULL);
			ig_pack_str(pk, "owner");
			msgpack_pack_int64(pk, holder->owner);
		}
		pack_opt(pk, "utilization", u.util);
		pack_opt(pk, "memory_used", u.used);
		pack_opt(pk, "memory_total", u.total);
	}
	for (size_t r = 0; r < mgr->n; r++)
		if (mgr->v[r]->sched.held)
			used += mgr->v[r]->sched.cpus;
	ig_pack_str(pk, "cpus");
	msgpack_pack_map(pk, 2);
	ig_pack_str(pk, "used");
	msgpack_pack_int64(pk, used);
	ig_pack_str(pk, "total");
	msgpack_pack_int(pk, cfg->ncpus);
}

void
api_machine(struct api_call *c)
{
	if (api_params_empty(c))
		server_reply(c->conn, c->msgid, pack_machine, c->mgr);
}
