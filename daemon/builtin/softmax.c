/*
 * softmax.c - multinomial logistic regression trained by minibatch SGD.
 *
 * The model is a classes x (features + 1) matrix W whose last column is the
 * bias: p(k | x) = softmax_k(W [x; 1]).  On a TRAIN batch, process computes
 * the probabilities, the mean cross-entropy loss, its gradient and one SGD
 * step with optional momentum and L2 weight decay (not on the bias):
 *
 *   g = dLoss/dW + weight_decay * W,   v = momentum * v + g,   W -= lr * v
 *
 * On an EVAL batch it only predicts.  Output fields:
 *
 *   "loss"    mean cross-entropy of the batch (needs labels), for Loss
 *   "y_pred"  rows x classes probabilities, for Accuracy
 *   "y"       the batch's labels (a copy), for Accuracy
 *
 * Params: classes (required, >= 2; labels are integers in [0, classes)),
 * lr (default 0.1), momentum (0), weight_decay (0), features (default: the
 * first batch's column count), seed (0: the deterministic initialisation of
 * W, uniform in +-0.01, bias 0).  Features should be scaled to about unit
 * size (the csv source's scale param) for these defaults to converge.
 *
 * State (state_dict): little-endian, doubles as their exact bit patterns,
 * so a resumed run continues bit-identically:
 *
 *   u32 magic "SMX1"  u32 version  u32 classes  u32 features  u64 steps
 *   f64 W[classes * (features + 1)]  f64 v[classes * (features + 1)]
 *
 * features is 0 (and nothing follows steps) before the first batch.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin/blob.h"
#include "builtin/builtin.h"
#include "builtin/params.h"

#define STATE_MAGIC 0x31584d53u /* "SMX1" read little-endian */
#define STATE_VERSION 1u
/* Keep W's size (classes x features) far from overflow. */
#define MAX_DIM 1000000
#define INIT_RANGE 0.01

enum {
	F_YPRED,
	F_LOSS,
	F_Y,
	NFIELDS
};

struct softmax {
	/* from params */
	double lr, momentum, weight_decay;
	size_t classes;
	uint64_t seed;

	/* the model; features == 0 until known (param or first batch) */
	size_t features;
	double *w; /* classes x (features + 1), row-major */
	double *v; /* momentum buffer, same shape */
	uint64_t steps; /* SGD steps taken, for the record */

	/* scratch, reused across batches */
	double *grad; /* same shape as w */
	double *probs; /* rows x classes */
	double *labels; /* rows */
	size_t cap_rows;

	ig_field fields[NFIELDS];
	ig_output out;
};

static size_t
nweights(const struct softmax *s)
{
	return s->classes * (s->features + 1);
}

/* splitmix64: a tiny, well-mixed generator, for a reproducible init. */
static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Allocate the model for features inputs and initialise it from the seed. */
static int
softmax_init_model(struct softmax *s, size_t features, char *err, size_t errlen)
{
	if (features == 0 || features > MAX_DIM) {
		snprintf(err, errlen,
		    "softmax: %zu features: must be in [1, %d]", features,
		    MAX_DIM);
		return -1;
	}
	s->features = features;
	size_t n = nweights(s);
	s->w = malloc(n * sizeof *s->w);
	s->v = calloc(n, sizeof *s->v);
	s->grad = malloc(n * sizeof *s->grad);
	if (s->w == NULL || s->v == NULL || s->grad == NULL) {
		free(s->w);
		free(s->v);
		free(s->grad);
		s->w = s->v = s->grad = NULL;
		s->features = 0;
		snprintf(
		    err, errlen, "softmax: out of memory for %zu weights", n);
		return -1;
	}
	uint64_t state = s->seed;
	for (size_t k = 0; k < s->classes; k++) {
		double *row = s->w + k * (features + 1);
		for (size_t j = 0; j < features; j++) {
			/* 53 random bits to a double in [0, 1), then to +-INIT_RANGE */
			double u = (double)(splitmix64(&state) >> 11) * 0x1p-53;
			row[j] = (2 * u - 1) * INIT_RANGE;
		}
		row[features] = 0;
	}
	return 0;
}

static void
softmax_destroy(void *self)
{
	struct softmax *s = self;

	if (s == NULL)
		return;
	free(s->w);
	free(s->v);
	free(s->grad);
	free(s->probs);
	free(s->labels);
	free(s);
}

static int
softmax_read_params(struct softmax *s, const ig_param *params, size_t n,
    int64_t *features, ig_err *err)
{
	static const char *const known[] = { "classes", "lr", "momentum",
		"weight_decay", "features", "seed", NULL };
	int64_t classes, seed;
	int rc;

	if ((rc = params_check("softmax", params, n, known, err)) != 0 ||
	    (rc = params_int(
	         "softmax", params, n, "classes", -1, &classes, err)) != 0 ||
	    (rc = params_double(
	         "softmax", params, n, "lr", 0.1, &s->lr, err)) != 0 ||
	    (rc = params_double("softmax", params, n, "momentum", 0,
	         &s->momentum, err)) != 0 ||
	    (rc = params_double("softmax", params, n, "weight_decay", 0,
	         &s->weight_decay, err)) != 0 ||
	    (rc = params_int(
	         "softmax", params, n, "features", 0, features, err)) != 0 ||
	    (rc = params_int("softmax", params, n, "seed", 0, &seed, err)) != 0)
		return rc;

	if (classes == -1)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "softmax: param classes is required "
		    "(labels are integers in [0, classes))");
	if (classes < 2 || classes > MAX_DIM)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "softmax: param classes must be in [2, %d], "
		    "got %lld",
		    MAX_DIM, (long long)classes);
	if (!(s->lr > 0 && isfinite(s->lr)))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "softmax: param lr must be > 0, got %g", s->lr);
	if (!(s->momentum >= 0 && s->momentum < 1))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "softmax: param momentum must be in [0, 1), "
		    "got %g",
		    s->momentum);
	if (!(s->weight_decay >= 0 && isfinite(s->weight_decay)))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "softmax: param weight_decay must be >= 0, "
		    "got %g",
		    s->weight_decay);
	if (*features < 0 || *features > MAX_DIM)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "softmax: param features must be in [1, %d], "
		    "got %lld",
		    MAX_DIM, (long long)*features);
	s->classes = (size_t)classes;
	s->seed = (uint64_t)seed;
	return 0;
}

static void *
softmax_create(const ig_param *params, size_t n, char *err, size_t errlen)
{
	struct softmax *s = calloc(1, sizeof *s);
	int64_t features;
	ig_err e;

	if (s == NULL) {
		snprintf(err, errlen, "softmax: out of memory");
		return NULL;
	}
	if (softmax_read_params(s, params, n, &features, &e) != 0) {
		params_abi_err(&e, err, errlen);
		softmax_destroy(s);
		return NULL;
	}
	if (features > 0 &&
	    softmax_init_model(s, (size_t)features, err, errlen) == -1) {
		softmax_destroy(s);
		return NULL;
	}
	s->fields[F_LOSS].name = "loss";
	s->fields[F_YPRED].name = "y_pred";
	s->fields[F_Y].name = "y";
	s->out.fields = s->fields;
	return s;
}

/* Room for rows rows of probabilities and labels. */
static int
softmax_reserve_rows(struct softmax *s, size_t rows)
{
	if (rows <= s->cap_rows)
		return 0;
	if (rows > SIZE_MAX / sizeof(double) / s->classes)
		return -1;
	double *p = realloc(s->probs, rows * s->classes * sizeof *p);
	if (p == NULL)
		return -1;
	s->probs = p;
	double *l = realloc(s->labels, rows * sizeof *l);
	if (l == NULL)
		return -1;
	s->labels = l;
	s->cap_rows = rows;
	return 0;
}

/* Check the batch fits the model, fixing features on the first one. */
static int
softmax_check_batch(struct softmax *s, const ig_batch *b, bool need_labels,
    char *err, size_t errlen)
{
	if (b == NULL || b->x == NULL || b->rows == 0) {
		snprintf(err, errlen,
		    "softmax: the batch has no x; use a csv: or "
		    "msgpack: source");
		return -1;
	}
	if (s->features == 0 &&
	    softmax_init_model(s, b->cols, err, errlen) == -1)
		return -1;
	if (b->cols != s->features) {
		snprintf(err, errlen,
		    "softmax: batch has %zu columns, the model "
		    "has %zu features",
		    b->cols, s->features);
		return -1;
	}
	if (b->y == NULL) {
		if (!need_labels)
			return 0;
		snprintf(err, errlen,
		    "softmax: training needs labels; give the "
		    "data source a label column");
		return -1;
	}
	for (size_t i = 0; i < b->rows; i++) {
		double y = b->y[i];
		if (!(y >= 0 && y < (double)s->classes && y == floor(y))) {
			snprintf(err, errlen,
			    "softmax: batch row %zu: label %g is "
			    "not an integer in [0, %zu)",
			    i, y, s->classes);
			return -1;
		}
	}
	return 0;
}

/* probs = softmax(W x) for every row; returns the mean cross-entropy when
 * labels are given (NaN otherwise). */
static double
softmax_forward(struct softmax *s, const ig_batch *b)
{
	size_t C = s->classes, F = s->features;
	double loss = 0;

	for (size_t i = 0; i < b->rows; i++) {
		const double *x = b->x + i * F;
		double *p = s->probs + i * C;
		double max = -INFINITY;

		for (size_t k = 0; k < C; k++) {
			const double *w = s->w + k * (F + 1);
			double z = w[F];
			for (size_t j = 0; j < F; j++)
				z += w[j] * x[j];
			p[k] = z;
			if (z > max)
				max = z;
		}
		/* Shift by the max so exp cannot overflow; log-sum-exp for the loss. */
		double sum = 0;
		for (size_t k = 0; k < C; k++)
			sum += exp(p[k] - max);
		double lse = max + log(sum);
		if (b->y != NULL)
			loss += lse - p[(size_t)b->y[i]];
		for (size_t k = 0; k < C; k++)
			p[k] = exp(p[k] - lse);
	}
	return b->y != NULL ? loss / (double)b->rows : NAN;
}

/* One SGD step on the mean cross-entropy of the batch just forwarded. */
static void
softmax_step(struct softmax *s, const ig_batch *b)
{
	size_t C = s->classes, F = s->features, n = nweights(s);
	double scale = 1.0 / (double)b->rows;

	memset(s->grad, 0, n * sizeof *s->grad);
	for (size_t i = 0; i < b->rows; i++) {
		const double *x = b->x + i * F;
		const double *p = s->probs + i * C;
		for (size_t k = 0; k < C; k++) {
			/* d(cross-entropy)/d(logit k) = p_k - [k == y] */
			double d = p[k] - (k == (size_t)b->y[i] ? 1.0 : 0.0);
			double *g = s->grad + k * (F + 1);
			for (size_t j = 0; j < F; j++)
				g[j] += d * x[j];
			g[F] += d;
		}
	}
	for (size_t k = 0; k < C; k++) {
		double *w = s->w + k * (F + 1), *v = s->v + k * (F + 1);
		const double *g = s->grad + k * (F + 1);
		for (size_t j = 0; j <= F; j++) {
			double gj = g[j] * scale;
			if (j < F)
				gj += s->weight_decay * w[j];
			v[j] = s->momentum * v[j] + gj;
			w[j] -= s->lr * v[j];
		}
	}
	s->steps++;
}

static int
softmax_process(void *self, const ig_batch *b, int mode, const ig_output **out,
    char *err, size_t errlen)
{
	struct softmax *s = self;
	bool train = mode == IG_MODE_TRAIN;

	if (mode != IG_MODE_TRAIN && mode != IG_MODE_EVAL) {
		snprintf(err, errlen, "softmax: unknown mode %d", mode);
		return -1;
	}
	if (softmax_check_batch(s, b, train, err, errlen) == -1)
		return -1;
	if (softmax_reserve_rows(s, b->rows) == -1) {
		snprintf(err, errlen,
		    "softmax: out of memory for a batch of %zu "
		    "rows",
		    b->rows);
		return -1;
	}

	double loss = softmax_forward(s, b);
	if (train)
		softmax_step(s, b);

	/* y_pred, then loss and y when the batch has labels */
	ig_field *f = s->fields;
	f[F_YPRED].data = s->probs;
	f[F_YPRED].len = b->rows * s->classes;
	f[F_YPRED].cols = s->classes;
	s->out.nfields = 1;
	if (b->y != NULL) {
		f[F_LOSS].value = loss;
		memcpy(s->labels, b->y, b->rows * sizeof *s->labels);
		f[F_Y].data = s->labels;
		f[F_Y].len = b->rows;
		f[F_Y].cols = 1;
		s->out.nfields = NFIELDS;
	}
	*out = &s->out;
	return 0;
}

static int
softmax_state_dict(
    void *self, void **buf, size_t *len, char *err, size_t errlen)
{
	const struct softmax *s = self;
	struct blob_writer w = { 0 };

	blob_put_u32(&w, STATE_MAGIC);
	blob_put_u32(&w, STATE_VERSION);
	blob_put_u32(&w, (uint32_t)s->classes);
	blob_put_u32(&w, (uint32_t)s->features);
	blob_put_u64(&w, s->steps);
	if (s->features != 0) {
		blob_put_doubles(&w, s->w, nweights(s));
		blob_put_doubles(&w, s->v, nweights(s));
	}
	if (w.failed) {
		snprintf(err, errlen, "softmax: out of memory for the state");
		return -1;
	}
	*buf = w.buf;
	*len = w.len;
	return 0;
}

static int
softmax_load_state_dict(
    void *self, const void *buf, size_t len, char *err, size_t errlen)
{
	struct softmax *s = self;
	struct blob_reader r = { .buf = buf, .len = len };
	uint32_t magic, version, classes, features;
	uint64_t steps;

	if (blob_get_u32(&r, &magic) == -1 || magic != STATE_MAGIC ||
	    blob_get_u32(&r, &version) == -1) {
		snprintf(err, errlen, "softmax: state is not a softmax state");
		return -1;
	}
	if (version != STATE_VERSION) {
		snprintf(err, errlen,
		    "softmax: state version %u, this daemon reads "
		    "version %u",
		    version, STATE_VERSION);
		return -1;
	}
	if (blob_get_u32(&r, &classes) == -1 ||
	    blob_get_u32(&r, &features) == -1 ||
	    blob_get_u64(&r, &steps) == -1) {
		snprintf(
		    err, errlen, "softmax: state truncated (%zu bytes)", len);
		return -1;
	}
	if (classes != s->classes) {
		snprintf(err, errlen,
		    "softmax: state has %u classes, params say %zu", classes,
		    s->classes);
		return -1;
	}
	if (s->features != 0 && features != 0 && features != s->features) {
		snprintf(err, errlen,
		    "softmax: state has %u features, the model "
		    "has %zu",
		    features, s->features);
		return -1;
	}
	if (features > MAX_DIM) {
		snprintf(err, errlen,
		    "softmax: state has %u features, at most %d", features,
		    MAX_DIM);
		return -1;
	}
	size_t n = (size_t)classes * ((size_t)features + 1);
	size_t want = features == 0 ? 0 : 2 * n * sizeof(double);
	if (blob_remaining(&r) != want) {
		snprintf(err, errlen,
		    "softmax: state has %zu bytes of weights, "
		    "expected %zu",
		    blob_remaining(&r), want);
		return -1;
	}
	if (features == 0) {
		s->steps = steps;
		return 0;
	}

	/* Everything is checked: now the model may change. */
	if (s->features == 0 &&
	    softmax_init_model(s, features, err, errlen) == -1)
		return -1;
	blob_get_doubles(&r, s->w, n);
	blob_get_doubles(&r, s->v, n);
	s->steps = steps;
	return 0;
}

const ig_plugin builtin_softmax = {
	.abi_version = IG_PLUGIN_ABI_VERSION,
	.name = "softmax",
	.create = softmax_create,
	.process = softmax_process,
	.state_dict = softmax_state_dict,
	.load_state_dict = softmax_load_state_dict,
	.destroy = softmax_destroy,
};
