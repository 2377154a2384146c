/*
 * job_state.c - what a checkpoint holds beyond the engine's state_dict,
 * and putting it back.  The saved form is one msgpack map:
 *
 *   version   1
 *   plugin    bin: the process function's state_dict, or nil without one
 *             (and for an exec worker or a plugin with save_file, whose
 *             state is the checkpoint's file)
 *   epoch     the trainer's epoch when saved
 *   in_epoch  saved between EPOCH_STARTED and EPOCH_COMPLETED
 *   metrics   {name: [sum, count, value, have]}: every train metric's
 *             accumulators (ig_metric_acc)
 *   values    {name: value}: the trainer's state.metrics
 *   actions   [nil or [have_best, best, count]]: one per handler; early
 *             stopping has state, the others nil
 *
 * A resumed engine fires STARTED, which resets the running averages, then
 * EPOCH_STARTED, which resets the epoch's accumulators.  job_load adds a
 * handler after the metrics' own that puts the saved values back right
 * after those resets: the running averages at STARTED, and the epoch's
 * accumulators at EPOCH_STARTED only when the resumed epoch is the one the
 * checkpoint was cut in (otherwise the new epoch starts from zero, as it
 * would have).  It then removes itself.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "job/job_int.h"

#define STATE_VERSION 1

/* ---- save --------------------------------------------------------------- */

static void
pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void
pack_metrics(struct job *job, msgpack_packer *pk)
{
	size_t n = 0;
	ig_metric_acc acc;

	for (size_t i = 0; i < job->nmetrics; i++)
		n += !job->metrics[i].val;
	msgpack_pack_map(pk, n);
	for (size_t i = 0; i < job->nmetrics; i++) {
		if (job->metrics[i].val)
			continue;
		/* attached by job_new under this name, so it is there */
		ig_metric_state(job->trainer, job->metrics[i].name, &acc);
		pack_str(pk, job->metrics[i].name);
		msgpack_pack_array(pk, 4);
		msgpack_pack_double(pk, acc.sum);
		msgpack_pack_double(pk, acc.count);
		msgpack_pack_double(pk, acc.value);
		if (acc.have)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
	}
}

static void
pack_values(struct job *job, msgpack_packer *pk)
{
	size_t n = ig_engine_metric_count(job->trainer);
	double v;

	msgpack_pack_map(pk, n);
	for (size_t i = 0; i < n; i++) {
		pack_str(pk, ig_engine_metric_at(job->trainer, i, &v));
		msgpack_pack_double(pk, v);
	}
}

static void
pack_actions(struct job *job, msgpack_packer *pk)
{
	msgpack_pack_array(pk, job->nactions);
	for (size_t i = 0; i < job->nactions; i++) {
		const struct job_action *a = &job->actions[i];
		if (a->kind != IG_ACTION_EARLY_STOPPING) {
			msgpack_pack_nil(pk);
			continue;
		}
		msgpack_pack_array(pk, 3);
		if (a->have_best)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		msgpack_pack_double(pk, a->best);
		msgpack_pack_int64(pk, a->count);
	}
}

/* The saved map around the process function's state (plugin: NULL with
 * has_state false packs nil). */
static void
pack_saved(struct job *job, msgpack_packer *pk, bool has_state, const void *buf,
    size_t len)
{
	msgpack_pack_map(pk, 7);
	pack_str(pk, "version");
	msgpack_pack_int(pk, STATE_VERSION);
	pack_str(pk, "plugin");
	if (!has_state) {
		msgpack_pack_nil(pk);
	} else {
		msgpack_pack_bin(pk, len);
		msgpack_pack_bin_body(pk, buf, len);
	}
	pack_str(pk, "epoch");
	msgpack_pack_int64(pk, ig_engine_state(job->trainer)->epoch);
	pack_str(pk, "in_epoch");
	if (job->in_epoch)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	pack_str(pk, "metrics");
	pack_metrics(job, pk);
	pack_str(pk, "values");
	pack_values(job, pk);
	pack_str(pk, "actions");
	pack_actions(job, pk);
}

int
job_save(struct job *job, msgpack_packer *pk, ig_err *err)
{
	void *buf = NULL;
	size_t len = 0;
	char msg[IG_ERR_MAX] = "";

	/* first, so that a failure leaves nothing half-packed */
	if (job->plugin->state_dict != NULL &&
	    job->plugin->state_dict(job->self, &buf, &len, msg, sizeof(msg)) !=
	        0)
		return ig_err_set(err, IG_PROTO_INTERNAL, "checkpoint: %s",
		    msg[0] != '\0' ?
		        msg :
		        "the process function's state_dict failed");
	pack_saved(job, pk, job->plugin->state_dict != NULL, buf, len);
	free(buf);
	return 0;
}

void
job_save_given(
    struct job *job, msgpack_packer *pk, const void *state, size_t len)
{
	pack_saved(job, pk, state != NULL, state, len);
}

/* ---- load: read and check everything ------------------------------------ */

/* What job_load read, before anything is changed. */
struct saved {
	const msgpack_object *plugin; /* bin or nil */
	int64_t epoch;
	bool in_epoch;
	ig_metric_acc *acc; /* one per job metric; val ones zero */
	const msgpack_object *values; /* map */
	const msgpack_object *actions; /* array */
};

static int
bad(ig_err *err, const char *what)
{
	return ig_err_set(err, IG_PROTO_INTERNAL, "checkpoint: %s", what);
}

/* The job metric a key names, or -1. */
static int
metric_of(const struct job *job, const msgpack_object *key)
{
	char name[IG_NAME_MAX + 1];

	if (key->type != MSGPACK_OBJECT_STR || key->via.str.size > IG_NAME_MAX)
		return -1;
	memcpy(name, key->via.str.ptr, key->via.str.size);
	name[key->via.str.size] = '\0';
	return job_metric_find(job, name);
}

static int
read_metrics(const struct job *job, const msgpack_object *o, struct saved *sv,
    ig_err *err)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
		return bad(err, "metrics: expected a map");
	/* count -1 marks a metric not read yet */
	for (size_t i = 0; i < job->nmetrics; i++)
		sv->acc[i].count = -1;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *v = &o->via.map.ptr[i].val;
		int m = metric_of(job, &o->via.map.ptr[i].key);
		ig_metric_acc *acc = m >= 0 ? &sv->acc[m] : NULL;

		if (m < 0 || job->metrics[m].val || acc->count >= 0)
			return bad(
			    err, "metrics: an unknown, val or repeated metric");
		if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size != 4 ||
		    !ig_obj_number(&v->via.array.ptr[0], &acc->sum) ||
		    !ig_obj_number(&v->via.array.ptr[1], &acc->count) ||
		    !ig_obj_number(&v->via.array.ptr[2], &acc->value) ||
		    v->via.array.ptr[3].type != MSGPACK_OBJECT_BOOLEAN ||
		    !(acc->count >= 0 && isfinite(acc->count)))
			return bad(err,
			    "metrics: expected [sum, count >= 0, value, have]");
		acc->have = v->via.array.ptr[3].via.boolean;
	}
	for (size_t i = 0; i < job->nmetrics; i++)
		if (!job->metrics[i].val && sv->acc[i].count < 0)
			return bad(err,
			    "metrics: a train metric of the spec is missing");
	return 0;
}

/* state.metrics: the spec's metrics and those a worker reported itself,
 * which come back as they were (a name is a name by the rules, so it fits
 * apply's buffer). */
static int
read_values(const msgpack_object *o, ig_err *err)
{
	const msgpack_object *k;
	double v;
	ig_err e;

	if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
		return bad(err, "values: expected a map");
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		k = &o->via.map.ptr[i].key;
		if (k->type != MSGPACK_OBJECT_STR ||
		    ig_name_check(
		        k->via.str.ptr, k->via.str.size, "metric", &e) != 0 ||
		    !ig_obj_number(&o->via.map.ptr[i].val, &v))
			return bad(
			    err, "values: expected {metric name: number}");
	}
	return 0;
}

static int
read_actions(const struct job *job, const msgpack_object *o, ig_err *err)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY ||
	    o->via.array.size != job->nactions)
		return bad(err, "actions: expected one entry per handler");
	for (size_t i = 0; i < job->nactions; i++) {
		const msgpack_object *a = &o->via.array.ptr[i];
		double best;

		if (job->actions[i].kind != IG_ACTION_EARLY_STOPPING) {
			if (a->type != MSGPACK_OBJECT_NIL)
				return bad(err,
				    "actions: state for a handler that keeps none");
			continue;
		}
		if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size != 3 ||
		    a->via.array.ptr[0].type != MSGPACK_OBJECT_BOOLEAN ||
		    !ig_obj_number(&a->via.array.ptr[1], &best) ||
		    a->via.array.ptr[2].type !=
		        MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    a->via.array.ptr[2].via.u64 > INT64_MAX)
			return bad(err,
			    "actions: expected [have_best, best, count] for "
			    "early_stopping");
	}
	return 0;
}

/* May the process function's state be in the checkpoint's file (plugin
 * nil)? */
static bool
in_file(const struct job *job)
{
	return job->plugin == &job_exec_plugin ||
	    job->plugin->load_file != NULL;
}

static int
read_saved(const struct job *job, const msgpack_object *o, struct saved *sv,
    ig_err *err)
{
	const msgpack_object *v;
	int rc;

	if (o->type != MSGPACK_OBJECT_MAP)
		return bad(err, "expected a map");
	if ((v = ig_map_get(o, "version")) == NULL ||
	    v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    v->via.u64 != STATE_VERSION)
		return bad(err,
		    "version: expected 1 (written by another daemon version?)");
	sv->plugin = ig_map_get(o, "plugin");
	if (sv->plugin == NULL ||
	    (sv->plugin->type !=
	            (job->plugin->state_dict != NULL ? MSGPACK_OBJECT_BIN :
	                                               MSGPACK_OBJECT_NIL) &&
	        !(in_file(job) && sv->plugin->type == MSGPACK_OBJECT_NIL)))
		return bad(
		    err, "plugin: expected the process function's state_dict");
	if ((v = ig_map_get(o, "epoch")) == NULL ||
	    v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    v->via.u64 > INT64_MAX)
		return bad(err, "epoch: expected an integer >= 0");
	sv->epoch = (int64_t)v->via.u64;
	if ((v = ig_map_get(o, "in_epoch")) == NULL ||
	    v->type != MSGPACK_OBJECT_BOOLEAN)
		return bad(err, "in_epoch: expected a bool");
	sv->in_epoch = v->via.boolean;
	sv->values = ig_map_get(o, "values");
	sv->actions = ig_map_get(o, "actions");
	if ((rc = read_metrics(job, ig_map_get(o, "metrics"), sv, err)) != 0 ||
	    (rc = read_values(sv->values, err)) != 0 ||
	    (rc = read_actions(job, sv->actions, err)) != 0)
		return rc;
	return 0;
}

/* ---- load: apply -------------------------------------------------------- */

static int
on_restore(ig_engine *e, int event, void *ud)
{
	struct job *job = ud;
	struct job_restore *r = &job->restore;
	/* STARTED: the running averages; EPOCH_STARTED: the epoch's sums */
	bool per_iteration = event == IG_EVENT_STARTED;

	if (!per_iteration &&
	    !(r->epoch_pending && ig_engine_state(e)->epoch == r->epoch))
		goto done;
	for (size_t i = 0; i < job->nmetrics; i++) {
		const struct job_metric *m = &job->metrics[i];
		if (m->val || m->per_iteration != per_iteration)
			continue;
		if (ig_metric_set_state(e, m->name, &r->acc[i]) != 0)
			return ig_engine_raise(
			    e, "resume: cannot restore metric %s", m->name);
	}
	if (per_iteration)
		return 0;
done:
	/* the first EPOCH_STARTED after the load: nothing more to restore */
	ig_engine_remove_handle(e, r->handle);
	r->handle = 0;
	return 0;
}

static void
apply_actions(struct job *job, const msgpack_object *o)
{
	for (size_t i = 0; i < job->nactions; i++) {
		struct job_action *a = &job->actions[i];
		const msgpack_object *v = &o->via.array.ptr[i];
		if (a->kind != IG_ACTION_EARLY_STOPPING)
			continue;
		a->have_best = v->via.array.ptr[0].via.boolean;
		ig_obj_number(&v->via.array.ptr[1], &a->best);
		a->count = (int64_t)v->via.array.ptr[2].via.u64;
	}
}

static int
apply(struct job *job, struct saved *sv, ig_err *err)
{
	static const ig_event_spec events[] = {
		{ .event = IG_EVENT_STARTED },
		{ .event = IG_EVENT_EPOCH_STARTED },
	};
	char name[IG_NAME_MAX + 1];
	double v = 0;

	for (uint32_t i = 0; i < sv->values->via.map.size; i++) {
		const msgpack_object_kv *kv = &sv->values->via.map.ptr[i];
		/* checked: a name by the rules, so it fits */
		memcpy(name, kv->key.via.str.ptr, kv->key.via.str.size);
		name[kv->key.via.str.size] = '\0';
		ig_obj_number(&kv->val, &v);
		if (ig_engine_set_metric(job->trainer, name, v) != 0)
			return ig_err_set(
			    err, IG_PROTO_INTERNAL, "resume: out of memory");
	}
	apply_actions(job, sv->actions);
	if (job->restore.handle != 0)
		ig_engine_remove_handle(job->trainer, job->restore.handle);
	free(job->restore.acc);
	job->restore = (struct job_restore){
		.acc = sv->acc,
		.epoch_pending = sv->in_epoch,
		.epoch = sv->epoch,
	};
	sv->acc = NULL;
	job->restore.handle =
	    ig_engine_add_handler(job->trainer, events, 2, on_restore, job);
	if (job->restore.handle == 0)
		return ig_err_set(err, IG_PROTO_INTERNAL, "resume: %s",
		    ig_engine_error(job->trainer));
	return 0;
}

int
job_load(struct job *job, const void *buf, size_t len, ig_err *err)
{
	msgpack_unpacked u;
	struct saved sv = { 0 };
	char msg[IG_ERR_MAX] = "";
	size_t off = 0;
	int rc;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != len) {
		rc = bad(err, "not one msgpack object");
		goto out;
	}
	if ((sv.acc = calloc(job->nmetrics + 1, sizeof(*sv.acc))) == NULL) {
		rc =
		    ig_err_set(err, IG_PROTO_INTERNAL, "resume: out of memory");
		goto out;
	}
	if ((rc = read_saved(job, &u.data, &sv, err)) != 0)
		goto out;
	/* the plugin checks its state whole before changing anything */
	if (job->plugin->load_state_dict != NULL &&
	    sv.plugin->type == MSGPACK_OBJECT_BIN &&
	    job->plugin->load_state_dict(job->self, sv.plugin->via.bin.ptr,
	        sv.plugin->via.bin.size, msg, sizeof(msg)) != 0) {
		rc = ig_err_set(err, IG_PROTO_INTERNAL, "checkpoint: %s",
		    msg[0] != '\0' ? msg :
		                     "the process function refused its state");
		goto out;
	}
	/* a file of any size is read off the loop: job_load_file */
	if ((rc = apply(job, &sv, err)) == 0)
		job->file_pending = job->plugin->load_file != NULL &&
		    sv.plugin->type == MSGPACK_OBJECT_NIL;
out:
	free(sv.acc);
	msgpack_unpacked_destroy(&u);
	return rc;
}
