/*
 * sched.c - the machine's GPUs and CPU slots, and the queue of runs waiting
 * for them (sched.h).
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runs/sched.h"

#define NVIDIA_GPUS "/proc/driver/nvidia/gpus"

/* What each user runs and has waiting, for the per-user limits. */
struct sched_user {
	uid_t uid;
	int64_t running, waiting;
};

struct sched {
	struct sched_config cfg;
	uint64_t gpu_used;
	uint64_t cpu_used[SCHED_CPU_WORDS];
	int free_gpus, free_cpus;
	struct sched_entry **q; /* in order */
	size_t n, cap;
	struct sched_user *users;
	size_t nusers;
};

/* ---- the options --------------------------------------------------------- */

static int
gpus_auto(struct sched_config *cfg)
{
	DIR *d = opendir(NVIDIA_GPUS);
	struct dirent *de;

	cfg->ngpus = 0;
	if (d == NULL)
		return 0; /* no NVIDIA driver: no GPUs */
	while ((de = readdir(d)) != NULL && cfg->ngpus < SCHED_MAX_GPUS)
		if (de->d_name[0] != '.') {
			cfg->gpu_ids[cfg->ngpus] = cfg->ngpus;
			cfg->ngpus++;
		}
	closedir(d);
	return 0;
}

int
sched_parse_gpus(struct sched_config *cfg, const char *arg, ig_err *err)
{
	const char *p = arg;

	if (strcmp(arg, "auto") == 0)
		return gpus_auto(cfg);
	cfg->ngpus = 0;
	if (strcmp(arg, "none") == 0)
		return 0;
	for (;;) {
		char *end;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno != 0 || v < 0 || v > 1023 ||
		    (*end != ',' && *end != '\0'))
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "--gpus %s: expected auto, none or device numbers "
			    "such as 0,1",
			    arg);
		for (int i = 0; i < cfg->ngpus; i++)
			if (cfg->gpu_ids[i] == v)
				return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
				    "--gpus %s: device %ld twice", arg, v);
		if (cfg->ngpus == SCHED_MAX_GPUS)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "--gpus %s: at most %d devices", arg,
			    SCHED_MAX_GPUS);
		cfg->gpu_ids[cfg->ngpus++] = (int)v;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

int
sched_parse_cpus(struct sched_config *cfg, const char *arg, ig_err *err)
{
	cpu_set_t set;
	int cpus[SCHED_MAX_CPUS], ncpus = 0;
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || errno != 0 || n < 0 ||
	    n > SCHED_MAX_CPUS)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "--cpus %s: expected a number of CPU slots from 1 to %d "
		    "(0: one a core)",
		    arg, SCHED_MAX_CPUS);
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE && ncpus < SCHED_MAX_CPUS; c++)
			if (CPU_ISSET(c, &set))
				cpus[ncpus++] = c;
	if (ncpus == 0)
		cpus[ncpus++] = 0;
	cfg->ncpus = n > 0 ? (int)n : ncpus;
	for (int i = 0; i < cfg->ncpus; i++)
		cfg->cpu_map[i] = cpus[i % ncpus];
	return 0;
}

/* ---- the table ----------------------------------------------------------- */

struct sched *
sched_new(const struct sched_config *cfg)
{
	struct sched *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->cfg = *cfg;
	s->free_gpus = cfg->ngpus;
	s->free_cpus = cfg->ncpus;
	return s;
}

void
sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	free(s->q);
	free(s->users);
	free(s);
}

const struct sched_config *
sched_config(const struct sched *s)
{
	return &s->cfg;
}

static struct sched_user *
user_of(struct sched *s, uid_t uid)
{
	struct sched_user *v;

	for (size_t i = 0; i < s->nusers; i++)
		if (s->users[i].uid == uid)
			return &s->users[i];
	if ((v = realloc(s->users, (s->nusers + 1) * sizeof(*v))) == NULL)
		return NULL;
	s->users = v;
	v[s->nusers] = (struct sched_user){ .uid = uid };
	return &v[s->nusers++];
}

/* Root is the machine's admin: no per-user limit holds it. */
static bool
over(uid_t uid, int64_t count, int64_t limit)
{
	return uid != 0 && limit != IG_NONE && count >= limit;
}

int
sched_reserve(
    struct sched *s, uid_t owner, int64_t gpus, int64_t cpus, ig_err *err)
{
	struct sched_user *u;

	if (gpus > s->cfg.ngpus)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "resources.gpus: %lld asked, but ignited has %d "
		    "(ignited --gpus)",
		    (long long)gpus, s->cfg.ngpus);
	if (cpus > s->cfg.ncpus)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "resources.cpus: %lld asked, but ignited has %d CPU slots "
		    "(ignited --cpus)",
		    (long long)cpus, s->cfg.ncpus);
	if ((u = user_of(s, owner)) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	if (over(owner, u->waiting, s->cfg.max_queued))
		return ig_err_set(err, IG_PROTO_UNAVAILABLE,
		    "you have %lld runs waiting to start, the most "
		    "ignited takes from one user (--max-queued-per-user %lld); "
		    "submit again when one has started, or terminate one",
		    (long long)u->waiting, (long long)s->cfg.max_queued);
	u->waiting++;
	return 0;
}

void
sched_unreserve(struct sched *s, uid_t owner)
{
	struct sched_user *u = user_of(s, owner);

	if (u != NULL && u->waiting > 0)
		u->waiting--;
}

/* ---- the queue ----------------------------------------------------------- */

/* Does a come before b? */
static bool
before(const struct sched_entry *a, const struct sched_entry *b)
{
	if (a->priority != b->priority)
		return a->priority > b->priority;
	return a->seq < b->seq;
}

static void
renumber(struct sched *s, size_t from)
{
	for (size_t i = from; i < s->n; i++)
		s->q[i]->pos = i + 1;
}

int
sched_enqueue(struct sched *s, struct sched_entry *e)
{
	struct sched_user *u = user_of(s, e->owner);
	size_t lo = 0, hi = s->n;

	if (u == NULL)
		return -1;
	e->user = (size_t)(u - s->users);
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct sched_entry **q = realloc(s->q, cap * sizeof(*q));
		if (q == NULL)
			return -1;
		s->q = q;
		s->cap = cap;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (before(s->q[mid], e))
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&s->q[lo + 1], &s->q[lo], (s->n - lo) * sizeof(*s->q));
	s->q[lo] = e;
	s->n++;
	renumber(s, lo);
	if (!e->reserved)
		u->waiting++;
	e->reserved = false;
	return 0;
}

void
sched_dequeue(struct sched *s, struct sched_entry *e)
{
	size_t i = e->pos - 1;

	if (e->reserved) {
		e->reserved = false;
		sched_unreserve(s, e->owner);
	}
	if (e->pos == 0 || i >= s->n || s->q[i] != e)
		return;
	memmove(&s->q[i], &s->q[i + 1], (s->n - i - 1) * sizeof(*s->q));
	s->n--;
	e->pos = 0;
	renumber(s, i);
	sched_unreserve(s, e->owner);
}

/* Free slots and GPUs enough for e? */
static bool
fits(const struct sched *s, const struct sched_entry *e)
{
	return e->gpus <= s->free_gpus && e->cpus <= s->free_cpus;
}

static void
grant(struct sched *s, struct sched_entry *e)
{
	int64_t g = e->gpus, c = e->cpus;

	e->gpu_mask = 0;
	memset(e->cpu_mask, 0, sizeof(e->cpu_mask));
	for (int i = 0; g > 0 && i < s->cfg.ngpus; i++)
		if (!(s->gpu_used & (1ull << i))) {
			s->gpu_used |= 1ull << i;
			e->gpu_mask |= 1ull << i;
			g--;
		}
	for (int i = 0; c > 0 && i < s->cfg.ncpus; i++) {
		uint64_t bit = 1ull << (i % 64);
		if (!(s->cpu_used[i / 64] & bit)) {
			s->cpu_used[i / 64] |= bit;
			e->cpu_mask[i / 64] |= bit;
			c--;
		}
	}
	s->free_gpus -= (int)e->gpus;
	s->free_cpus -= (int)e->cpus;
	e->held = true;
	s->users[e->user].running++;
}

bool
sched_take(struct sched *s, struct sched_entry *e)
{
	struct sched_user *u;

	if (e->held || !fits(s, e))
		return e->held;
	if ((u = user_of(s, e->owner)) == NULL)
		return false;
	e->user = (size_t)(u - s->users);
	grant(s, e);
	return true;
}

void
sched_release(struct sched *s, struct sched_entry *e)
{
	struct sched_user *u;

	if (!e->held)
		return;
	s->gpu_used &= ~e->gpu_mask;
	for (int w = 0; w < SCHED_CPU_WORDS; w++)
		s->cpu_used[w] &= ~e->cpu_mask[w];
	s->free_gpus += (int)e->gpus;
	s->free_cpus += (int)e->cpus;
	e->held = false;
	u = &s->users[e->user];
	if (u->running > 0)
		u->running--;
}

size_t
sched_next(struct sched *s, struct sched_entry **out, size_t max)
{
	bool gpus_blocked = false, cpus_blocked = false;
	size_t n = 0, w = 0, first = s->n;

	for (size_t i = 0; i < s->n; i++) {
		struct sched_entry *e = s->q[i];
		struct sched_user *u;

		/* every run asks a CPU slot: none of the rest may start */
		if (cpus_blocked || n == max) {
			s->q[w++] = e;
			continue;
		}
		u = &s->users[e->user];
		if (over(e->owner, u->running, s->cfg.max_running) ||
		    (e->gpus > 0 && gpus_blocked)) {
			s->q[w++] = e;
			continue;
		}
		if (!fits(s, e)) {
			gpus_blocked |= e->gpus > s->free_gpus;
			cpus_blocked |= e->cpus > s->free_cpus;
			s->q[w++] = e;
			continue;
		}
		grant(s, e);
		u->waiting--;
		e->pos = 0;
		out[n++] = e;
		if (first == s->n)
			first = i;
	}
	s->n = w;
	renumber(s, first < w ? first : w);
	return n;
}

bool
sched_user_full(const struct sched *s, const struct sched_entry *e)
{
	return over(e->owner, s->users[e->user].running, s->cfg.max_running);
}

/* The order victims are taken in: the lowest priority, then the latest. */
static int
victim_cmp(const void *pa, const void *pb)
{
	const struct sched_entry *a = *(struct sched_entry *const *)pa,
	                         *b = *(struct sched_entry *const *)pb;

	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	return a->seq > b->seq ? -1 : a->seq < b->seq;
}

/* Do the k entries of v free what e lacks? */
static bool
enough(const struct sched *s, const struct sched_entry *e,
    struct sched_entry *const *v, size_t k, size_t skip)
{
	int64_t g = s->free_gpus, c = s->free_cpus;

	for (size_t i = 0; i < k; i++)
		if (i != skip) {
			g += v[i]->gpus;
			c += v[i]->cpus;
		}
	return g >= e->gpus && c >= e->cpus;
}

size_t
sched_victims(const struct sched *s, const struct sched_entry *e,
    struct sched_entry *const *held, size_t n, struct sched_entry **out)
{
	int64_t need_g = e->gpus - s->free_gpus,
	        need_c = e->cpus - s->free_cpus;
	size_t m = 0, k = 0;

	if (sched_user_full(s, e))
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct sched_entry *v = held[i];
		if (v->held && v->preemptible && v->priority < e->priority &&
		    ((need_g > 0 && v->gpus > 0) ||
		        (need_c > 0 && v->cpus > 0)))
			out[m++] = v;
	}
	qsort(out, m, sizeof(*out), victim_cmp);
	/* the lowest first while something lacks, each one that helps */
	for (size_t i = 0; i < m && (need_g > 0 || need_c > 0); i++) {
		struct sched_entry *v = out[i];
		if ((need_g > 0 && v->gpus > 0) ||
		    (need_c > 0 && v->cpus > 0)) {
			need_g -= v->gpus;
			need_c -= v->cpus;
			out[k++] = v;
		}
	}
	if (need_g > 0 || need_c > 0)
		return 0;
	/* then spare those the later ones made needless, the latest taken
	 * (the highest priority) first */
	for (size_t i = k; i-- > 0;)
		if (enough(s, e, out, k, i)) {
			memmove(
			    &out[i], &out[i + 1], (k - i - 1) * sizeof(*out));
			k--;
		}
	return k;
}

size_t
sched_queued(const struct sched *s)
{
	return s->n;
}

struct sched_entry *
sched_at(const struct sched *s, size_t i)
{
	return i < s->n ? s->q[i] : NULL;
}

static void
append(char *buf, size_t len, const char *fmt, long long v, const char *what)
{
	size_t used = strlen(buf);

	if (used < len)
		snprintf(
		    buf + used, len - used, fmt, v, what, v == 1 ? "" : "s");
}

void
sched_waiting_for(
    const struct sched *s, const struct sched_entry *e, char *buf, size_t len)
{
	const struct sched_user *u = NULL;

	buf[0] = '\0';
	for (size_t i = 0; i < s->nusers; i++)
		if (s->users[i].uid == e->owner)
			u = &s->users[i];
	if (u != NULL && over(e->owner, u->running, s->cfg.max_running)) {
		snprintf(buf, len,
		    "its user's %lld running runs to end "
		    "(--max-running-per-user)",
		    (long long)u->running);
		return;
	}
	if (e->gpus > s->free_gpus)
		append(buf, len, "%lld %s%s", (long long)e->gpus, "GPU");
	if (e->cpus > s->free_cpus)
		append(buf, len,
		    buf[0] != '\0' ? " and %lld %s%s" : "%lld %s%s",
		    (long long)e->cpus, "CPU slot");
	if (buf[0] == '\0')
		snprintf(buf, len, "the runs before it");
}

/* The set bits of mask, the first n, by their names[]: "0,2". */
static void
put_list(char *buf, size_t len, const uint64_t *mask, int n, const int *names)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used < len; i++)
		if (mask[i / 64] & (1ull << (i % 64)))
			used += (size_t)snprintf(buf + used, len - used, "%s%d",
			    used > 0 ? "," : "", names[i]);
}

void
sched_devices(
    const struct sched *s, const struct sched_entry *e, char *buf, size_t len)
{
	uint64_t none = 0;

	put_list(buf, len, e->held ? &e->gpu_mask : &none, s->cfg.ngpus,
	    s->cfg.gpu_ids);
}

void
sched_cpus(
    const struct sched *s, const struct sched_entry *e, char *buf, size_t len)
{
	put_list(
	    buf, len, e->cpu_mask, e->held ? s->cfg.ncpus : 0, s->cfg.cpu_map);
}
