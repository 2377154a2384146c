/*
 * message.c - the payloads of control messages: hello, run summaries and
 * the watch notifications.  Readers skip keys they do not know, so a newer
 * daemon can add fields without breaking older clients.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NELEM(a) (sizeof(a) / sizeof(a)[0])

const char *const ig_status_names[] = { "queued", "running", "paused",
	"completed", "terminated", "failed", NULL };

const char *
ig_status_name(int status)
{
	return status >= 0 && status < IG_STATUS_COUNT ?
	    ig_status_names[status] :
	    NULL;
}

int
ig_hello_negotiate(const msgpack_object *params, int *version, ig_err *err)
{
	const msgpack_object *versions = NULL;
	const ig_fdef defs[] = {
		{ "versions", IG_F_ARRAY, true, NULL, &versions },
	};
	char path[PROTO_PATH_MAX], list[96] = "";
	size_t used = 0;
	int64_t best = 0;
	int rc;

	if ((rc = ig_map_read(params, NULL, defs, NELEM(defs),
	         IG_READ_ALLOW_UNKNOWN, err)) != 0)
		return rc;
	for (uint32_t i = 0; i < versions->via.array.size; i++) {
		int64_t v;

		proto_path_index(path, "versions", i);
		if ((rc = proto_obj_read(&versions->via.array.ptr[i], IG_F_POS,
		         NULL, &v, path, err)) != 0)
			return rc;
		if (v <= IG_PROTO_VERSION && v > best)
			best = v;
		if (used < sizeof list)
			used +=
			    (size_t)snprintf(list + used, sizeof list - used,
			        "%s%lld", i ? ", " : "", (long long)v);
	}
	if (best == 0)
		return ig_err_set(err, IG_PROTO_VERSION_MISMATCH,
		    "no common "
		    "protocol version: the client speaks [%s]%s, the daemon 1 to %d",
		    list, used >= sizeof list ? "..." : "", IG_PROTO_VERSION);
	*version = (int)best;
	return 0;
}

/* ---- run summaries ------------------------------------------------------ */

int
proto_named_values_read(const msgpack_object *m, const char *where,
    ig_named_value **out, size_t *n, ig_err *err)
{
	char q[48];
	ig_named_value *nv;

	*out = NULL;
	*n = 0;
	if (m->type != MSGPACK_OBJECT_MAP)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected a map, got %s", where, proto_type_name(m));
	if (m->via.map.size == 0)
		return 0;
	if ((nv = calloc(m->via.map.size, sizeof *nv)) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		const msgpack_object *v = &m->via.map.ptr[i].val;
		bool nul;

		if (k->type != MSGPACK_OBJECT_STR) {
			proto_named_values_free(nv, i);
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: keys must be str, got %s", where,
			    proto_type_name(k));
		}
		if (!ig_obj_number(v, &nv[i].value)) {
			proto_named_values_free(nv, i);
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s.%s: expected a number, got %s", where,
			    proto_quote(
			        q, sizeof q, k->via.str.ptr, k->via.str.size),
			    proto_type_name(v));
		}
		if ((nv[i].name = proto_str_dup(&k->via.str, &nul)) == NULL) {
			proto_named_values_free(nv, i);
			return nul ?
			    ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			        "%s: a key holds a NUL byte", where) :
			    ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
		}
	}
	*out = nv;
	*n = m->via.map.size;
	return 0;
}

void
proto_named_values_free(ig_named_value *nv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(nv[i].name);
	free(nv);
}

static void
pack_named_values(msgpack_packer *pk, const ig_named_value *nv, size_t n)
{
	msgpack_pack_map(pk, n);
	for (size_t i = 0; i < n; i++) {
		ig_pack_str(pk, nv[i].name);
		msgpack_pack_double(pk, nv[i].value);
	}
}

void
ig_tags_pack(msgpack_packer *pk, const ig_tag *tags, size_t n)
{
	msgpack_pack_map(pk, n);
	for (size_t i = 0; i < n; i++) {
		ig_pack_str(pk, tags[i].key);
		ig_pack_str(pk, tags[i].value);
	}
}

/* A summary's tags: str keys and values, as the spec checked them. */
static int
tags_read(const msgpack_object *m, ig_tag **out, size_t *n, ig_err *err)
{
	bool nul = false;

	*out = NULL;
	*n = 0;
	if (m->via.map.size == 0)
		return 0;
	if ((*out = calloc(m->via.map.size, sizeof **out)) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		const msgpack_object *v = &m->via.map.ptr[i].val;

		if (k->type != MSGPACK_OBJECT_STR ||
		    v->type != MSGPACK_OBJECT_STR)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "run.tags: keys and values must be str");
		(*out)[i].key = proto_str_dup(&k->via.str, &nul);
		(*out)[i].value = proto_str_dup(&v->via.str, &nul);
		(*n)++;
		if ((*out)[i].key == NULL || (*out)[i].value == NULL)
			return nul ?
			    ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			        "run.tags: a tag holds a NUL byte") :
			    ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	}
	return 0;
}

void
ig_summary_pack(msgpack_packer *pk, const ig_summary *s)
{
	msgpack_pack_map(pk, 20);
	ig_pack_str(pk, "id");
	msgpack_pack_int64(pk, s->id);
	ig_pack_str(pk, "name");
	ig_pack_str(pk, s->name);
	ig_pack_str(pk, "owner");
	msgpack_pack_int64(pk, s->owner);
	ig_pack_str(pk, "status");
	ig_pack_str(pk, ig_status_name(s->status));
	ig_pack_str(pk, "epoch");
	msgpack_pack_int64(pk, s->epoch);
	ig_pack_str(pk, "iteration");
	msgpack_pack_int64(pk, s->iteration);
	ig_pack_str(pk, "max_epochs");
	ig_pack_opt_int(pk, s->max_epochs);
	ig_pack_str(pk, "epoch_length");
	ig_pack_opt_int(pk, s->epoch_length);
	ig_pack_str(pk, "rate");
	msgpack_pack_double(pk, s->rate);
	ig_pack_str(pk, "metrics");
	pack_named_values(pk, s->metrics, s->nmetrics);
	ig_pack_str(pk, "reason");
	ig_pack_str(pk, s->reason);
	ig_pack_str(pk, "created");
	ig_pack_opt_int(pk, s->created);
	ig_pack_str(pk, "started");
	ig_pack_opt_int(pk, s->started);
	ig_pack_str(pk, "finished");
	ig_pack_opt_int(pk, s->finished);
	ig_pack_str(pk, "resources");
	msgpack_pack_map(pk, 3);
	ig_pack_str(pk, "gpus");
	msgpack_pack_int64(pk, s->gpus);
	ig_pack_str(pk, "cpus");
	msgpack_pack_int64(pk, s->cpus);
	ig_pack_str(pk, "devices");
	ig_pack_str(pk, s->devices);
	ig_pack_str(pk, "priority");
	msgpack_pack_int64(pk, s->priority);
	ig_pack_str(pk, "tags");
	ig_tags_pack(pk, s->tags, s->ntags);
	ig_pack_str(pk, "preempted_by");
	ig_pack_opt_int(pk, s->preempted_by > 0 ? s->preempted_by : IG_NONE);
	ig_pack_str(pk, "queue");
	if (s->queue_position <= 0)
		msgpack_pack_nil(pk);
	else {
		msgpack_pack_map(pk, 2);
		ig_pack_str(pk, "position");
		msgpack_pack_int64(pk, s->queue_position);
		ig_pack_str(pk, "waiting_for");
		ig_pack_str(pk, s->waiting_for);
	}
	ig_pack_str(pk, "throttled");
	ig_pack_str(pk, s->throttled);
}

/* resources {gpus, cpus, devices} and queue {position, waiting_for}. */
static int
summary_sched_read(const msgpack_object *res, const msgpack_object *queue,
    ig_summary *s, ig_err *err)
{
	const ig_fdef rdefs[] = {
		{ "gpus", IG_F_UINT, false, NULL, &s->gpus },
		{ "cpus", IG_F_UINT, false, NULL, &s->cpus },
		{ "devices", IG_F_STR, false, NULL, &s->devices },
	};
	const ig_fdef qdefs[] = {
		{ "position", IG_F_POS, true, NULL, &s->queue_position },
		{ "waiting_for", IG_F_STR, false, NULL, &s->waiting_for },
	};
	int rc;

	if (res != NULL &&
	    (rc = ig_map_read(res, "run.resources", rdefs, NELEM(rdefs),
	         IG_READ_ALLOW_UNKNOWN, err)) != 0)
		return rc;
	if (queue != NULL && queue->type != MSGPACK_OBJECT_NIL)
		return ig_map_read(queue, "run.queue", qdefs, NELEM(qdefs),
		    IG_READ_ALLOW_UNKNOWN, err);
	return 0;
}

int
ig_summary_unpack(const msgpack_object *o, ig_summary *s, ig_err *err)
{
	const msgpack_object *metrics = NULL, *res = NULL, *queue = NULL,
	                     *tags = NULL;
	const ig_fdef defs[] = {
		{ "id", IG_F_POS, true, NULL, &s->id },
		{ "name", IG_F_STR, false, NULL, &s->name },
		{ "owner", IG_F_UINT, true, NULL, &s->owner },
		{ "status", IG_F_ENUM, true, ig_status_names, &s->status },
		{ "epoch", IG_F_UINT, true, NULL, &s->epoch },
		{ "iteration", IG_F_UINT, true, NULL, &s->iteration },
		{ "max_epochs", IG_F_POS, false, NULL, &s->max_epochs },
		{ "epoch_length", IG_F_POS, false, NULL, &s->epoch_length },
		{ "rate", IG_F_DOUBLE, false, NULL, &s->rate },
		{ "metrics", IG_F_MAP, false, NULL, &metrics },
		{ "reason", IG_F_STR, false, NULL, &s->reason },
		{ "created", IG_F_INT, false, NULL, &s->created },
		{ "started", IG_F_INT, false, NULL, &s->started },
		{ "finished", IG_F_INT, false, NULL, &s->finished },
		{ "resources", IG_F_MAP, false, NULL, &res },
		{ "priority", IG_F_INT, false, NULL, &s->priority },
		{ "queue", IG_F_ANY, false, NULL, &queue },
		{ "tags", IG_F_MAP, false, NULL, &tags },
		{ "preempted_by", IG_F_POS, false, NULL, &s->preempted_by },
		{ "throttled", IG_F_STR, false, NULL, &s->throttled },
	};
	int rc;

	memset(s, 0, sizeof *s);
	s->max_epochs = s->epoch_length = IG_NONE;
	s->created = s->started = s->finished = IG_NONE;
	s->queue_position = s->preempted_by = IG_NONE;
	if ((rc = ig_map_read(o, "run", defs, NELEM(defs),
	         IG_READ_ALLOW_UNKNOWN, err)) != 0 ||
	    (rc = summary_sched_read(res, queue, s, err)) != 0 ||
	    (metrics != NULL &&
	        (rc = proto_named_values_read(metrics, "run.metrics",
	             &s->metrics, &s->nmetrics, err)) != 0) ||
	    (tags != NULL &&
	        (rc = tags_read(tags, &s->tags, &s->ntags, err)) != 0))
		ig_summary_clear(s);
	return rc;
}

void
ig_summary_clear(ig_summary *s)
{
	free(s->name);
	free(s->reason);
	free(s->devices);
	free(s->waiting_for);
	free(s->throttled);
	proto_named_values_free(s->metrics, s->nmetrics);
	for (size_t i = 0; i < s->ntags; i++) {
		free(s->tags[i].key);
		free(s->tags[i].value);
	}
	free(s->tags);
	memset(s, 0, sizeof *s);
}

/* ---- notifications ------------------------------------------------------ */

void
ig_progress_pack(msgpack_packer *pk, const ig_progress *p)
{
	msgpack_pack_map(pk, 7);
	ig_pack_str(pk, "id");
	msgpack_pack_int64(pk, p->id);
	ig_pack_str(pk, "epoch");
	msgpack_pack_int64(pk, p->epoch);
	ig_pack_str(pk, "iteration");
	msgpack_pack_int64(pk, p->iteration);
	ig_pack_str(pk, "epoch_length");
	ig_pack_opt_int(pk, p->epoch_length);
	ig_pack_str(pk, "max_epochs");
	ig_pack_opt_int(pk, p->max_epochs);
	ig_pack_str(pk, "rate");
	msgpack_pack_double(pk, p->rate);
	ig_pack_str(pk, "eta");
	if (p->eta < 0)
		msgpack_pack_nil(pk);
	else
		msgpack_pack_double(pk, p->eta);
}

int
ig_progress_unpack(const msgpack_object *o, ig_progress *p, ig_err *err)
{
	const ig_fdef defs[] = {
		{ "id", IG_F_POS, true, NULL, &p->id },
		{ "epoch", IG_F_UINT, true, NULL, &p->epoch },
		{ "iteration", IG_F_UINT, true, NULL, &p->iteration },
		{ "epoch_length", IG_F_POS, false, NULL, &p->epoch_length },
		{ "max_epochs", IG_F_POS, false, NULL, &p->max_epochs },
		{ "rate", IG_F_DOUBLE, false, NULL, &p->rate },
		{ "eta", IG_F_DOUBLE, false, NULL, &p->eta },
	};

	memset(p, 0, sizeof *p);
	p->epoch_length = p->max_epochs = IG_NONE;
	p->eta = -1;
	return ig_map_read(
	    o, "progress", defs, NELEM(defs), IG_READ_ALLOW_UNKNOWN, err);
}

void
ig_event_note_pack(msgpack_packer *pk, const ig_event_note *ev)
{
	msgpack_pack_map(pk, 4);
	ig_pack_str(pk, "id");
	msgpack_pack_int64(pk, ev->id);
	ig_pack_str(pk, "event");
	ig_pack_str(pk, ev->event);
	ig_pack_str(pk, "epoch");
	msgpack_pack_int64(pk, ev->epoch);
	ig_pack_str(pk, "iteration");
	msgpack_pack_int64(pk, ev->iteration);
}

int
ig_event_note_unpack(const msgpack_object *o, ig_event_note *ev, ig_err *err)
{
	const ig_fdef defs[] = {
		{ "id", IG_F_POS, true, NULL, &ev->id },
		{ "event", IG_F_STR, true, NULL, &ev->event },
		{ "epoch", IG_F_UINT, true, NULL, &ev->epoch },
		{ "iteration", IG_F_UINT, true, NULL, &ev->iteration },
	};

	memset(ev, 0, sizeof *ev);
	return ig_map_read(
	    o, "event", defs, NELEM(defs), IG_READ_ALLOW_UNKNOWN, err);
}

void
ig_event_note_clear(ig_event_note *ev)
{
	free(ev->event);
	ev->event = NULL;
}

void
ig_status_note_pack(msgpack_packer *pk, const ig_status_note *st)
{
	msgpack_pack_map(pk, 4);
	ig_pack_str(pk, "id");
	msgpack_pack_int64(pk, st->id);
	ig_pack_str(pk, "status");
	ig_pack_str(pk, ig_status_name(st->status));
	ig_pack_str(pk, "reason");
	ig_pack_str(pk, st->reason);
	ig_pack_str(pk, "throttled");
	ig_pack_str(pk, st->throttled);
}

int
ig_status_note_unpack(const msgpack_object *o, ig_status_note *st, ig_err *err)
{
	const ig_fdef defs[] = {
		{ "id", IG_F_POS, true, NULL, &st->id },
		{ "status", IG_F_ENUM, true, ig_status_names, &st->status },
		{ "reason", IG_F_STR, false, NULL, &st->reason },
		{ "throttled", IG_F_STR, false, NULL, &st->throttled },
	};

	memset(st, 0, sizeof *st);
	return ig_map_read(
	    o, "status", defs, NELEM(defs), IG_READ_ALLOW_UNKNOWN, err);
}

void
ig_status_note_clear(ig_status_note *st)
{
	free(st->reason);
	free(st->throttled);
	st->reason = st->throttled = NULL;
}

void
ig_log_line_pack(msgpack_packer *pk, const ig_log_line *l)
{
	msgpack_pack_map(pk, 3);
	ig_pack_str(pk, "id");
	msgpack_pack_int64(pk, l->id);
	ig_pack_str(pk, "time");
	msgpack_pack_double(pk, l->time);
	ig_pack_str(pk, "message");
	ig_pack_str(pk, l->message);
}

int
ig_log_line_unpack(const msgpack_object *o, ig_log_line *l, ig_err *err)
{
	const ig_fdef defs[] = {
		{ "id", IG_F_POS, true, NULL, &l->id },
		{ "time", IG_F_DOUBLE, true, NULL, &l->time },
		{ "message", IG_F_STR, true, NULL, &l->message },
	};

	memset(l, 0, sizeof *l);
	return ig_map_read(
	    o, "log", defs, NELEM(defs), IG_READ_ALLOW_UNKNOWN, err);
}

void
ig_log_line_clear(ig_log_line *l)
{
	free(l->message);
	l->message = NULL;
}

void
ig_ckpt_info_pack(msgpack_packer *pk, const ig_ckpt_info *c)
{
	msgpack_pack_map(pk, 6 + !isnan(c->score) + (c->file != NULL));
	ig_pack_str(pk, "iteration");
	msgpack_pack_int64(pk, c->iteration);
	ig_pack_str(pk, "epoch");
	msgpack_pack_int64(pk, c->epoch);
	ig_pack_str(pk, "size");
	msgpack_pack_int64(pk, c->size);
	ig_pack_str(pk, "time");
	msgpack_pack_double(pk, c->time);
	if (!isnan(c->score)) {
		ig_pack_str(pk, "score");
		msgpack_pack_double(pk, c->score);
	}
	if (c->file != NULL) {
		ig_pack_str(pk, "file");
		ig_pack_str(pk, c->file);
	}
	ig_pack_str(pk, "last");
	proto_pack_bool(pk, c->last);
	ig_pack_str(pk, "best");
	proto_pack_bool(pk, c->best);
}

int
ig_ckpt_info_unpack(const msgpack_object *o, ig_ckpt_info *c, ig_err *err)
{
	const ig_fdef defs[] = {
		{ "iteration", IG_F_UINT, true, NULL, &c->iteration },
		{ "epoch", IG_F_UINT, true, NULL, &c->epoch },
		{ "size", IG_F_UINT, true, NULL, &c->size },
		{ "time", IG_F_DOUBLE, true, NULL, &c->time },
		{ "score", IG_F_DOUBLE, false, NULL, &c->score },
		{ "file", IG_F_STR, false, NULL, &c->file },
		{ "last", IG_F_BOOL, false, NULL, &c->last },
		{ "best", IG_F_BOOL, false, NULL, &c->best },
	};

	memset(c, 0, sizeof *c);
	c->score = NAN;
	return ig_map_read(
	    o, "checkpoint", defs, NELEM(defs), IG_READ_ALLOW_UNKNOWN, err);
}

void
ig_ckpt_info_clear(ig_ckpt_info *c)
{
	free(c->file);
	c->file = NULL;
}
