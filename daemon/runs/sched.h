/*
 * sched.h - the machine's resources and the queue of runs waiting for them:
 * which GPUs and CPU slots ignited hands out (--gpus, --cpus), who holds
 * what, and the order runs start in.  No runs, no loop, no store: the run
 * manager (queue.c) embeds a struct sched_entry in each run and acts on
 * what these functions decide, so that the decision can be measured alone
 * (bench/sched_decision.c).
 *
 * Order: higher priority first, then first come first served by seq (the
 * submission order, kept in the store).  A run starts when its user is
 * under --max-running-per-user, what it asks is free, and no run before it
 * waits for a kind of resource it also asks: a GPU run at the head keeps
 * later GPU runs from taking the GPU it waits for, while CPU runs behind it
 * go on.  An entry leaves the queue when it is granted or dequeued; what it
 * holds is released when its run stops running (ends, pauses, is
 * preempted).
 *
 * Preemption: a queued entry that cannot start may have running entries
 * of strictly lower priority that are preemptible stopped for it
 * (sched_victims): never one of its own priority or above, so two runs
 * never preempt each other back and forth.
 */
#ifndef IGNITED_SCHED_H
#define IGNITED_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ignite/protocol.h"

#define SCHED_MAX_GPUS 64
#define SCHED_MAX_CPUS 1024
#define SCHED_CPU_WORDS (SCHED_MAX_CPUS / 64)

/* What the daemon's options say. */
struct sched_config {
	int ngpus;
	int gpu_ids[SCHED_MAX_GPUS]; /* the devices, as CUDA numbers them */
	int ncpus; /* CPU slots */
	int cpu_map[SCHED_MAX_CPUS]; /* slot -> the CPU its affinity names */
	int64_t max_running; /* per user but root; IG_NONE: no limit */
	int64_t max_queued;
};

/* --gpus auto|none|N,N,...: auto lists /proc/driver/nvidia/gpus. */
int sched_parse_gpus(struct sched_config *cfg, const char *arg, ig_err *err);
/* --cpus N (0: one slot a CPU ignited may run on); the slots map onto the
 * CPUs of ignited's own affinity, round robin. */
int sched_parse_cpus(struct sched_config *cfg, const char *arg, ig_err *err);

/* What a run asks and holds.  The caller fills owner, priority, seq, gpus
 * and cpus; the rest is the scheduler's. */
struct sched_entry {
	uid_t owner;
	int64_t priority;
	int64_t seq;
	int64_t gpus, cpus;
	bool preemptible; /* its spec's preemptible */
	void *ud; /* the caller's */
	size_t pos; /* 1-based place in the queue; 0: not queued */
	bool held; /* it holds what it asked */
	bool reserved; /* counted against its user's queue by sched_reserve */
	size_t user; /* its owner's counts, by index: set when queued or held */
	uint64_t gpu_mask; /* indices into gpu_ids */
	uint64_t cpu_mask[SCHED_CPU_WORDS]; /* slots */
};

struct sched;

struct sched *sched_new(const struct sched_config *cfg);
void sched_free(struct sched *s);
const struct sched_config *sched_config(const struct sched *s);

/* May owner queue a run asking gpus and cpus?  0, or INVALID_PARAMS (more
 * than the machine has) or UNAVAILABLE (its --max-queued-per-user is
 * reached); on 0 the run counts against that limit until it starts or
 * sched_unreserve. */
int sched_reserve(
    struct sched *s, uid_t owner, int64_t gpus, int64_t cpus, ig_err *err);
void sched_unreserve(struct sched *s, uid_t owner);

/* Into the queue in its order (a reserved entry's count moves with it);
 * -1 without memory. */
int sched_enqueue(struct sched *s, struct sched_entry *e);
/* Out of the queue, not granted (a reserved entry: no longer counted). */
void sched_dequeue(struct sched *s, struct sched_entry *e);
/* Grant e what it asks now, out of turn (a run that held it before a
 * restart); false when it is not free. */
bool sched_take(struct sched *s, struct sched_entry *e);
void sched_release(struct sched *s, struct sched_entry *e);
/* The decision: the queued entries that start now, in order, granted and
 * out of the queue, into out (at most max); how many. */
size_t sched_next(struct sched *s, struct sched_entry **out, size_t max);

/* Is e's user at --max-running-per-user (nothing freed would start e)? */
bool sched_user_full(const struct sched *s, const struct sched_entry *e);
/* Which of the n running entries in held to stop so that the queued e
 * can start: preemptible ones of lower priority than e that hold a kind e
 * lacks, the lowest priority first (among equals the latest submitted),
 * and no more than needed; into out (room for n), how many.  0 when e's
 * user is full, or even all of them would not free enough. */
size_t sched_victims(const struct sched *s, const struct sched_entry *e,
    struct sched_entry *const *held, size_t n, struct sched_entry **out);

size_t sched_queued(const struct sched *s);
/* The queue in order, i from 0. */
struct sched_entry *sched_at(const struct sched *s, size_t i);
/* What a queued entry waits for, as "1 GPU" or "its user's 2 running
 * runs (--max-running-per-user)". */
void sched_waiting_for(
    const struct sched *s, const struct sched_entry *e, char *buf, size_t len);
/* Its GPUs as CUDA_VISIBLE_DEVICES ("0,1"; "" for none) and its slots'
 * CPUs as a list ("0,2"). */
void sched_devices(
    const struct sched *s, const struct sched_entry *e, char *buf, size_t len);
void sched_cpus(
    const struct sched *s, const struct sched_entry *e, char *buf, size_t len);

#endif
