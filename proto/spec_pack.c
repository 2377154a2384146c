/*
 * spec_pack.c - a run spec's canonical form: what the daemon stores and
 * shows.  Every top-level key is present (nil when absent), data is a map
 * and exec engines are an argv array, so two specs that mean the same run
 * pack to the same bytes.
 */
#include <string.h>

#include "ignite/spec.h"
#include "internal.h"

static void
pack_prefixed(msgpack_packer *pk, const char *prefix, const char *s)
{
	size_t a = strlen(prefix), b = strlen(s);

	msgpack_pack_str(pk, a + b);
	msgpack_pack_str_body(pk, prefix, a);
	msgpack_pack_str_body(pk, s, b);
}

static void
pack_engine(msgpack_packer *pk, const ig_spec_engine *e)
{
	if (e->kind == IG_ENGINE_EXEC) {
		msgpack_pack_array(pk, e->argv.n);
		for (size_t i = 0; i < e->argv.n; i++)
			ig_pack_str(pk, e->argv.v[i]);
	} else {
		pack_prefixed(pk,
		    e->kind == IG_ENGINE_BUILTIN ? "builtin:" : "plugin:",
		    e->target);
	}
}

void
ig_spec_params_pack(msgpack_packer *pk, const ig_spec *s)
{
	msgpack_pack_map(pk, s->nparams);
	for (size_t i = 0; i < s->nparams; i++) {
		const ig_spec_param *p = &s->params[i];

		ig_pack_str(pk, p->key);
		switch (p->type) {
		case IG_PARAM_INT:
			msgpack_pack_int64(pk, p->v.i);
			break;
		case IG_PARAM_DOUBLE:
			msgpack_pack_double(pk, p->v.d);
			break;
		case IG_PARAM_BOOL:
			proto_pack_bool(pk, p->v.b);
			break;
		case IG_PARAM_STR:
			ig_pack_str(pk, p->v.s);
			break;
		}
	}
}

static void
pack_column(msgpack_packer *pk, const ig_column *c)
{
	if (c->name != NULL)
		ig_pack_str(pk, c->name);
	else
		ig_pack_opt_int(pk, c->index);
}

/* The keys the data's kind takes, in the canonical form's order. */
static void
pack_data(msgpack_packer *pk, const ig_spec_data *d)
{
	unsigned keys = proto_data_keys(d->kind);
	size_t n = 1;

	if (d->kind == IG_DATA_NONE) {
		msgpack_pack_nil(pk);
		return;
	}
	for (unsigned k = keys; k != 0; k &= k - 1)
		n++;
	msgpack_pack_map(pk, n);
	ig_pack_str(pk, "kind");
	ig_pack_str(pk, ig_data_kind_name(d->kind));
	if (keys & PROTO_DATA_N) {
		ig_pack_str(pk, "n");
		msgpack_pack_int64(pk, d->n);
	}
	if (keys & PROTO_DATA_PATH) {
		ig_pack_str(pk, "path");
		ig_pack_str(pk, d->path);
	}
	if (keys & PROTO_DATA_BATCH_SIZE) {
		ig_pack_str(pk, "batch_size");
		ig_pack_opt_int(pk, d->batch_size);
	}
	if (keys & PROTO_DATA_SPLIT) {
		ig_pack_str(pk, "split");
		msgpack_pack_double(pk, d->split);
	}
	if (keys & PROTO_DATA_SHUFFLE) {
		ig_pack_str(pk, "shuffle");
		proto_pack_bool(pk, d->shuffle);
	}
	if (keys & PROTO_DATA_COLUMNS) {
		ig_pack_str(pk, "columns");
		msgpack_pack_array(pk, d->ncolumns);
		for (size_t i = 0; i < d->ncolumns; i++)
			pack_column(pk, &d->columns[i]);
	}
	if (keys & PROTO_DATA_LABEL) {
		ig_pack_str(pk, "label");
		pack_column(pk, &d->label);
	}
	if (keys & PROTO_DATA_HEADER) {
		ig_pack_str(pk, "header");
		proto_pack_bool(pk, d->header);
	}
	if (keys & PROTO_DATA_SCALE) {
		ig_pack_str(pk, "scale");
		if (d->scale_standard)
			ig_pack_str(pk, "standard");
		else if (d->scale != 0)
			msgpack_pack_double(pk, d->scale);
		else
			msgpack_pack_nil(pk);
	}
}

static void
pack_metric(msgpack_packer *pk, const ig_spec_metric *m)
{
	bool acc = m->kind == IG_METRIC_ACCURACY;
	bool ra = m->kind == IG_METRIC_RUNNING_AVERAGE;

	msgpack_pack_map(pk, 4 + (acc ? 2 : 0) + (ra ? 1 : 0));
	ig_pack_str(pk, "name");
	ig_pack_str(pk, m->name);
	ig_pack_str(pk, "kind");
	ig_pack_str(pk, ig_metric_kind_name(m->kind));
	ig_pack_str(pk, "field");
	ig_pack_str(pk, m->field);
	ig_pack_str(pk, "split");
	ig_pack_str(pk, m->split == IG_SPLIT_VAL ? "val" : "train");
	if (acc) {
		ig_pack_str(pk, "target");
		ig_pack_str(pk, m->target);
		ig_pack_str(pk, "threshold");
		if (m->threshold < 0)
			msgpack_pack_nil(pk);
		else
			msgpack_pack_double(pk, m->threshold);
	}
	if (ra) {
		ig_pack_str(pk, "alpha");
		msgpack_pack_double(pk, m->alpha);
	}
}

static void
pack_handler(msgpack_packer *pk, const ig_spec_handler *h)
{
	bool es = h->action == IG_ACTION_EARLY_STOPPING;
	bool nan = h->action == IG_ACTION_TERMINATE_ON_NAN;
	bool log = h->action == IG_ACTION_LOG;
	size_t n = 2 + (h->every > 0) + (h->before > 0) + (h->after > 0) +
	    (h->nonce > 0) + (es ? 4 : 0) + (nan ? 1 : 0) + (log ? 1 : 0);

	msgpack_pack_map(pk, n);
	ig_pack_str(pk, "event");
	ig_pack_str(pk, h->event);
	ig_pack_str(pk, "action");
	ig_pack_str(pk, ig_action_name(h->action));
	if (h->every > 0) {
		ig_pack_str(pk, "every");
		msgpack_pack_int64(pk, h->every);
	}
	if (h->before > 0) {
		ig_pack_str(pk, "before");
		msgpack_pack_int64(pk, h->before);
	}
	if (h->after > 0) {
		ig_pack_str(pk, "after");
		msgpack_pack_int64(pk, h->after);
	}
	if (h->nonce > 0) {
		ig_pack_str(pk, "once");
		msgpack_pack_array(pk, h->nonce);
		for (size_t i = 0; i < h->nonce; i++)
			msgpack_pack_int64(pk, h->once[i]);
	}
	if (es) {
		ig_pack_str(pk, "metric");
		ig_pack_str(pk, h->metric);
		ig_pack_str(pk, "patience");
		msgpack_pack_int64(pk, h->patience);
		ig_pack_str(pk, "mode");
		ig_pack_str(pk, h->mode == IG_MODE_MIN ? "min" : "max");
		ig_pack_str(pk, "min_delta");
		msgpack_pack_double(pk, h->min_delta);
	}
	if (nan) {
		ig_pack_str(pk, "field");
		ig_pack_str(pk, h->field);
	}
	if (log) {
		ig_pack_str(pk, "message");
		ig_pack_str(pk, h->message);
	}
}

static void
pack_checkpoint(msgpack_packer *pk, const ig_spec_checkpoint *c)
{
	msgpack_pack_map(pk, 6);
	ig_pack_str(pk, "every");
	ig_pack_opt_int(pk, c->every);
	ig_pack_str(pk, "seconds");
	if (c->seconds > 0)
		msgpack_pack_double(pk, c->seconds);
	else
		msgpack_pack_nil(pk);
	ig_pack_str(pk, "epoch_completed");
	proto_pack_bool(pk, c->epoch_completed);
	ig_pack_str(pk, "n_saved");
	msgpack_pack_int64(pk, c->n_saved);
	ig_pack_str(pk, "best");
	if (c->best_metric[0] != '\0') {
		msgpack_pack_map(pk, 3);
		ig_pack_str(pk, "metric");
		ig_pack_str(pk, c->best_metric);
		ig_pack_str(pk, "mode");
		ig_pack_str(pk, c->best_mode == IG_MODE_MIN ? "min" : "max");
		ig_pack_str(pk, "n");
		msgpack_pack_int64(pk, c->best_n);
	} else {
		msgpack_pack_nil(pk);
	}
	ig_pack_str(pk, "dir");
	if (c->dir != NULL)
		ig_pack_str(pk, c->dir);
	else
		msgpack_pack_nil(pk);
}

static void
pack_worker(msgpack_packer *pk, const ig_spec *s)
{
	const ig_spec_worker *w = &s->worker;

	if (s->engine.kind != IG_ENGINE_EXEC) {
		msgpack_pack_nil(pk);
		return;
	}
	msgpack_pack_map(pk, 5);
	ig_pack_str(pk, "timeout_ms");
	ig_pack_opt_int(pk, w->timeout_ms);
	ig_pack_str(pk, "max_restarts");
	ig_pack_opt_int(pk, w->max_restarts);
	ig_pack_str(pk, "cwd");
	ig_pack_str(pk, w->cwd);
	ig_pack_str(pk, "env");
	msgpack_pack_map(pk, w->env.n);
	for (size_t i = 0; i < w->env.n; i++) {
		const char *kv = w->env.v[i], *eq = strchr(kv, '=');

		msgpack_pack_str_with_body(pk, kv, (size_t)(eq - kv));
		ig_pack_str(pk, eq + 1);
	}
	/* every limit, nil when inherited */
	ig_pack_str(pk, "rlimits");
	msgpack_pack_map(pk, IG_RLIMIT_COUNT);
	for (int r = 0; r < IG_RLIMIT_COUNT; r++) {
		ig_pack_str(pk, ig_rlimit_name(r));
		ig_pack_opt_int(pk, w->rlimits[r]);
	}
}

static void
pack_notify(msgpack_packer *pk, const ig_spec_notify *n)
{
	int non = 0;

	for (int ev = 0; ev < IG_NOTIFY_COUNT; ev++)
		non += (n->on >> ev) & 1;
	msgpack_pack_map(pk, 3);
	ig_pack_str(pk, "on");
	msgpack_pack_array(pk, (uint32_t)non);
	for (int ev = 0; ev < IG_NOTIFY_COUNT; ev++)
		if (n->on & 1u << ev)
			ig_pack_str(pk, ig_notify_on_name(ev));
	ig_pack_str(pk, "exec");
	msgpack_pack_array(pk, n->exec.n);
	for (size_t i = 0; i < n->exec.n; i++)
		ig_pack_str(pk, n->exec.v[i]);
	ig_pack_str(pk, "timeout_ms");
	ig_pack_opt_int(pk, n->timeout_ms);
}

/* placement: nil, or {slurm: {...}} with every key, nil when absent. */
static void
pack_placement(msgpack_packer *pk, const ig_spec_slurm *sl)
{
	const char *const names[] = { "partition", "gres", "mem", "time",
		"account", "qos", "constraint" };
	const char *const strs[] = { sl->partition, sl->gres, sl->mem, sl->time,
		sl->account, sl->qos, sl->constraint };
	const char *const inames[] = { "nodes", "ntasks_per_node",
		"cpus_per_task" };
	const int64_t ints[] = { sl->nodes, sl->ntasks_per_node,
		sl->cpus_per_task };

	if (!sl->set) {
		msgpack_pack_nil(pk);
		return;
	}
	msgpack_pack_map(pk, 1);
	ig_pack_str(pk, "slurm");
	msgpack_pack_map(pk, 11);
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		ig_pack_str(pk, names[i]);
		ig_pack_str(pk, strs[i]);
	}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		ig_pack_str(pk, inames[i]);
		ig_pack_opt_int(pk, ints[i]);
	}
	ig_pack_str(pk, "extra_args");
	msgpack_pack_array(pk, sl->extra_args.n);
	for (size_t i = 0; i < sl->extra_args.n; i++)
		ig_pack_str(pk, sl->extra_args.v[i]);
}

void
ig_spec_pack(msgpack_packer *pk, const ig_spec *s)
{
	msgpack_pack_map(pk, 18);
	ig_pack_str(pk, "engine");
	pack_engine(pk, &s->engine);
	ig_pack_str(pk, "name");
	ig_pack_str(pk, s->name[0] ? s->name : NULL);
	ig_pack_str(pk, "params");
	ig_spec_params_pack(pk, s);
	ig_pack_str(pk, "data");
	pack_data(pk, &s->data);
	ig_pack_str(pk, "max_epochs");
	ig_pack_opt_int(pk, s->max_epochs);
	ig_pack_str(pk, "epoch_length");
	ig_pack_opt_int(pk, s->epoch_length);
	ig_pack_str(pk, "seed");
	ig_pack_opt_int(pk, s->seed);
	ig_pack_str(pk, "metrics");
	msgpack_pack_array(pk, s->nmetrics);
	for (size_t i = 0; i < s->nmetrics; i++)
		pack_metric(pk, &s->metrics[i]);
	ig_pack_str(pk, "handlers");
	msgpack_pack_array(pk, s->nhandlers);
	for (size_t i = 0; i < s->nhandlers; i++)
		pack_handler(pk, &s->handlers[i]);
	ig_pack_str(pk, "checkpoint");
	pack_checkpoint(pk, &s->checkpoint);
	ig_pack_str(pk, "state_dict");
	if (s->state_dict != NULL)
		pk->callback(pk->data, s->state_dict, s->state_dict_len);
	else
		msgpack_pack_nil(pk);
	ig_pack_str(pk, "worker");
	pack_worker(pk, s);
	ig_pack_str(pk, "resources");
	msgpack_pack_map(pk, 2);
	ig_pack_str(pk, "gpus");
	msgpack_pack_int64(pk, s->resources.gpus);
	ig_pack_str(pk, "cpus");
	msgpack_pack_int64(pk, s->resources.cpus);
	ig_pack_str(pk, "placement");
	pack_placement(pk, &s->slurm);
	ig_pack_str(pk, "priority");
	msgpack_pack_int64(pk, s->priority);
	ig_pack_str(pk, "preemptible");
	proto_pack_bool(pk, s->preemptible);
	ig_pack_str(pk, "notify");
	msgpack_pack_array(pk, s->nnotify);
	for (size_t i = 0; i < s->nnotify; i++)
		pack_notify(pk, &s->notify[i]);
	ig_pack_str(pk, "tags");
	ig_tags_pack(pk, s->tags, s->ntags);
}
