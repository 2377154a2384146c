/*
 * metrics.c - Average, Loss, Accuracy, RunningAverage and output metrics.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "ignite/metrics.h"

enum kind {
	AVERAGE,
	LOSS,
	ACCURACY,
	RUNNING_AVERAGE,
	OUTPUT
};

struct ig_metric {
	enum kind kind;
	char *field;
	char *target; /* accuracy only */
	double threshold; /* accuracy: < 0 for argmax */
	double alpha; /* running average */
	char *name; /* set when attached */
	double sum, count; /* the epoch's accumulators */
	bool have; /* running average has a value */
	double value;
};

static ig_metric *
metric_new(enum kind kind, const char *field)
{
	ig_metric *m;

	if (field == NULL || (m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->kind = kind;
	if ((m->field = strdup(field)) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

ig_metric *
ig_metric_average(const char *field)
{
	return metric_new(AVERAGE, field);
}

ig_metric *
ig_metric_loss(const char *field)
{
	return metric_new(LOSS, field);
}

ig_metric *
ig_metric_output(const char *field)
{
	return metric_new(OUTPUT, field);
}

ig_metric *
ig_metric_accuracy(const char *pred, const char *target, double threshold)
{
	ig_metric *m;

	if (target == NULL || (m = metric_new(ACCURACY, pred)) == NULL)
		return NULL;
	if ((m->target = strdup(target)) == NULL) {
		ig_metric_free(m);
		return NULL;
	}
	m->threshold = threshold;
	return m;
}

ig_metric *
ig_metric_running_average(const char *field, double alpha)
{
	ig_metric *m;

	if (!(alpha > 0 && alpha < 1) ||
	    (m = metric_new(RUNNING_AVERAGE, field)) == NULL)
		return NULL;
	m->alpha = alpha;
	return m;
}

void
ig_metric_free(ig_metric *m)
{
	if (m == NULL)
		return;
	free(m->field);
	free(m->target);
	free(m->name);
	free(m);
}

static void
metric_free_cb(void *m)
{
	ig_metric_free(m);
}

static const ig_field *
need_field(ig_engine *e, const ig_metric *m, const char *field)
{
	const ig_field *f = e->state.output != NULL ?
	    ig_output_field(e->state.output, field) :
	    NULL;

	if (f == NULL)
		ig_engine_raise(
		    e, "metric %s: the output has no field %s", m->name, field);
	return f;
}

static double
scalar(const ig_field *f)
{
	return f->data != NULL ? (f->len > 0 ? f->data[0] : NAN) : f->value;
}

static size_t
argmax(const double *row, size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++)
		if (row[i] > row[best])
			best = i;
	return best;
}

static int
update_accuracy(ig_engine *e, ig_metric *m)
{
	const ig_field *p = need_field(e, m, m->field), *t;

	if (p == NULL || (t = need_field(e, m, m->target)) == NULL)
		return -1;
	size_t cols = p->cols > 1 ? p->cols : 1;
	size_t rows = p->data != NULL ? p->len / cols : 1;
	size_t nt = t->data != NULL ? t->len : 1;
	if (m->threshold < 0 && cols < 2)
		return ig_engine_raise(e,
		    "metric %s: %s must be a rows x classes matrix "
		    "(or give a threshold for binary accuracy)",
		    m->name, m->field);
	if (nt != rows)
		return ig_engine_raise(e,
		    "metric %s: %zu predictions but %zu targets", m->name, rows,
		    nt);
	for (size_t r = 0; r < rows; r++) {
		const double *row =
		    p->data != NULL ? p->data + r * cols : &p->value;
		double want = t->data != NULL ? t->data[r] : t->value;
		double got = m->threshold < 0 ? (double)argmax(row, cols) :
		                                (row[0] >= m->threshold);
		m->sum += got == want;
	}
	m->count += (double)rows;
	return 0;
}

static int
update(ig_engine *e, ig_metric *m)
{
	const ig_field *f;

	if (m->kind == ACCURACY)
		return update_accuracy(e, m);
	if ((f = need_field(e, m, m->field)) == NULL)
		return -1;
	switch (m->kind) {
	case AVERAGE:
		if (f->data != NULL) {
			for (size_t i = 0; i < f->len; i++)
				m->sum += f->data[i];
			m->count += (double)f->len;
		} else {
			m->sum += f->value;
			m->count += 1;
		}
		return 0;
	case LOSS: {
		const ig_batch *b = e->state.batch;
		double n = b != NULL && b->rows > 0 ? (double)b->rows : 1;
		m->sum += scalar(f) * n;
		m->count += n;
		return 0;
	}
	case RUNNING_AVERAGE:
		m->value = m->have ?
		    m->alpha * m->value + (1 - m->alpha) * scalar(f) :
		    scalar(f);
		m->have = true;
		return ig_engine_set_metric(e, m->name, m->value) == 0 ? 0 : -1;
	case OUTPUT:
		return ig_engine_set_metric(e, m->name, scalar(f)) == 0 ? 0 :
		                                                          -1;
	case ACCURACY:
		break;
	}
	return 0;
}

static int
on_event(ig_engine *e, int event, void *ud)
{
	ig_metric *m = ud;

	switch (event) {
	case IG_EVENT_STARTED:
		m->have = false;
		return 0;
	case IG_EVENT_EPOCH_STARTED:
		m->sum = m->count = 0;
		return 0;
	case IG_EVENT_ITERATION_COMPLETED:
		return update(e, m);
	case IG_EVENT_EPOCH_COMPLETED:
		if (m->count == 0)
			return ig_engine_raise(e,
			    "metric %s: no values this epoch to compute from",
			    m->name);
		return ig_engine_set_metric(e, m->name, m->sum / m->count) ==
		        0 ?
		    0 :
		    -1;
	default:
		return 0;
	}
}

int
ig_metric_attach(ig_metric *m, ig_engine *e, const char *name)
{
	static const ig_event_spec epochwise[] = {
		{ .event = IG_EVENT_EPOCH_STARTED },
		{ .event = IG_EVENT_ITERATION_COMPLETED },
		{ .event = IG_EVENT_EPOCH_COMPLETED },
	};
	static const ig_event_spec iterationwise[] = {
		{ .event = IG_EVENT_STARTED },
		{ .event = IG_EVENT_ITERATION_COMPLETED },
	};
	bool per_iteration = m->kind == RUNNING_AVERAGE || m->kind == OUTPUT;
	ig_handle h;

	if (m->name != NULL)
		return engine_set_error(
		    e, IG_ESTATE, "metric %s is already attached", m->name);
	if (engine_adopted_has(e, name))
		return engine_set_error(e, IG_EINVAL,
		    "a metric called %s is already attached", name);
	if ((m->name = strdup(name)) == NULL)
		return engine_set_error(
		    e, IG_ENOMEM, "attach %s: out of memory", name);
	h = per_iteration ?
	    ig_engine_add_handler(e, iterationwise, 2, on_event, m) :
	    ig_engine_add_handler(e, epochwise, 3, on_event, m);
	if (h == 0 || engine_adopt(e, name, m, metric_free_cb, h) != 0) {
		if (h != 0)
			ig_engine_remove_handle(e, h);
		free(m->name);
		m->name = NULL;
		return engine_set_error(e, IG_ENOMEM,
		    "attach %s: could not add its handlers", name);
	}
	return 0;
}

int
ig_metric_detach(ig_engine *e, const char *name)
{
	return engine_release(e, name);
}

bool
ig_metric_is_attached(const ig_engine *e, const char *name)
{
	return engine_adopted_has(e, name);
}

/* The attached metric called name, or NULL.  Metrics are the only objects
 * engines adopt, but check the free function to be sure. */
static ig_metric *
find_attached(const ig_engine *e, const char *name)
{
	for (size_t i = 0; i < e->nadopted; i++) {
		const struct adopted_obj *a = &e->adopted[i];
		if (a->free_fn == metric_free_cb && strcmp(a->name, name) == 0)
			return a->obj;
	}
	return NULL;
}

int
ig_metric_state(const ig_engine *e, const char *name, ig_metric_acc *acc)
{
	const ig_metric *m = find_attached(e, name);

	if (m == NULL)
		return IG_ENOENT;
	*acc = (ig_metric_acc){ .sum = m->sum,
		.count = m->count,
		.value = m->value,
		.have = m->have };
	return 0;
}

int
ig_metric_set_state(ig_engine *e, const char *name, const ig_metric_acc *acc)
{
	ig_metric *m = find_attached(e, name);

	if (m == NULL)
		return engine_set_error(
		    e, IG_ENOENT, "no metric called %s is attached", name);
	if (!(acc->count >= 0 && isfinite(acc->count)))
		return engine_set_error(e, IG_EINVAL,
		    "metric %s: count %g must be a finite "
		    "number >= 0",
		    name, acc->count);
	m->sum = acc->sum;
	m->count = acc->count;
	m->value = acc->value;
	m->have = acc->have;
	return 0;
}

const ig_field *
ig_output_field(const ig_output *out, const char *name)
{
	for (size_t i = 0; out != NULL && i < out->nfields; i++)
		if (strcmp(out->fields[i].name, name) == 0)
			return &out->fields[i];
	return NULL;
}
