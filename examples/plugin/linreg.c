/*
 * linreg.c - a C plugin (engine "plugin:/path/to/liblinreg.so"): linear
 * regression by minibatch SGD on CSV batches.  Params: lr (default 0.01).
 * Output: loss (mean squared error before the step), y_pred, y.  The
 * weights are its state, stored as exact doubles.
 *
 * Build: cc -shared -fPIC -I include linreg.c -o liblinreg.so
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ignite/plugin.h"

struct linreg {
	double lr;
	size_t nw; /* features + 1 (bias); 0 until the first batch */
	double *w;
	double *pred; /* the last batch's predictions, for the output */
	size_t cap;
	ig_field fields[3];
	ig_output out;
};

static void
lr_destroy(void *self)
{
	struct linreg *m = self;

	if (m == NULL)
		return;
	free(m->w);
	free(m->pred);
	free(m);
}

static void *
lr_create(const ig_param *params, size_t n, char *err, size_t errlen)
{
	struct linreg *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		snprintf(err, errlen, "linreg: out of memory");
		return NULL;
	}
	m->lr = 0.01;
	for (size_t i = 0; i < n; i++) {
		const ig_value *v = &params[i].value;
		if (strcmp(params[i].key, "lr") != 0) {
			snprintf(err, errlen,
			    "linreg: unknown param %s (it takes lr)",
			    params[i].key);
			lr_destroy(m);
			return NULL;
		}
		m->lr = v->type == IG_VALUE_INT ? (double)v->u.i : v->u.d;
		if ((v->type != IG_VALUE_INT && v->type != IG_VALUE_DOUBLE) ||
		    !(m->lr > 0)) {
			snprintf(err, errlen,
			    "linreg: param lr must be a number > 0");
			lr_destroy(m);
			return NULL;
		}
	}
	return m;
}

static int
lr_process(void *self, const ig_batch *b, int mode, const ig_output **out,
    char *err, size_t errlen)
{
	struct linreg *m = self;
	double loss = 0;

	if (b == NULL || b->x == NULL || b->y == NULL || b->rows == 0) {
		snprintf(err, errlen, "linreg: needs csv data with a label");
		return -1;
	}
	if (m->nw == 0 && (m->w = calloc(b->cols + 1, sizeof(double))) != NULL)
		m->nw = b->cols + 1;
	if (m->nw != b->cols + 1) {
		snprintf(err, errlen, "linreg: %zu features, expected %zu",
		    b->cols, m->nw - 1);
		return -1;
	}
	if (b->rows > m->cap) {
		double *p = realloc(m->pred, b->rows * sizeof(double));
		if (p == NULL) {
			snprintf(err, errlen, "linreg: out of memory");
			return -1;
		}
		m->pred = p;
		m->cap = b->rows;
	}
	for (size_t r = 0; r < b->rows; r++) {
		double s = m->w[b->cols];
		for (size_t c = 0; c < b->cols; c++)
			s += m->w[c] * b->x[r * b->cols + c];
		m->pred[r] = s;
		loss += (s - b->y[r]) * (s - b->y[r]);
	}
	if (mode == IG_MODE_TRAIN) {
		for (size_t r = 0; r < b->rows; r++) {
			double g = 2 * (m->pred[r] - b->y[r]) / (double)b->rows;
			for (size_t c = 0; c < b->cols; c++)
				m->w[c] -= m->lr * g * b->x[r * b->cols + c];
			m->w[b->cols] -= m->lr * g;
		}
	}
	m->fields[0] = (ig_field){ "loss", loss / (double)b->rows, NULL, 0, 0 };
	m->fields[1] = (ig_field){ "y_pred", 0, m->pred, b->rows, 1 };
	m->fields[2] = (ig_field){ "y", 0, b->y, b->rows, 1 };
	m->out = (ig_output){ m->fields, 3 };
	*out = &m->out;
	return 0;
}

static int
lr_state_dict(void *self, void **buf, size_t *len, char *err, size_t errlen)
{
	struct linreg *m = self;

	*len = m->nw * sizeof(double);
	*buf = NULL;
	if (*len == 0)
		return 0;
	if ((*buf = malloc(*len)) == NULL) {
		snprintf(err, errlen, "linreg: out of memory");
		return -1;
	}
	memcpy(*buf, m->w, *len);
	return 0;
}

static int
lr_load_state_dict(
    void *self, const void *buf, size_t len, char *err, size_t errlen)
{
	struct linreg *m = self;
	double *w;

	if (len % sizeof(double) != 0) {
		snprintf(err, errlen,
		    "linreg: a state of %zu bytes is no weight vector", len);
		return -1;
	}
	if (len == 0)
		return 0;
	if ((w = malloc(len)) == NULL) {
		snprintf(err, errlen, "linreg: out of memory");
		return -1;
	}
	memcpy(w, buf, len);
	free(m->w);
	m->w = w;
	m->nw = len / sizeof(double);
	return 0;
}

static const ig_plugin linreg = {
	.abi_version = IG_PLUGIN_ABI_VERSION,
	.name = "linreg",
	.create = lr_create,
	.process = lr_process,
	.state_dict = lr_state_dict,
	.load_state_dict = lr_load_state_dict,
	.destroy = lr_destroy,
};

const ig_plugin *
ignite_plugin_v1(void)
{
	return &linreg;
}
