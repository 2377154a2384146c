/* test_store_chunk.c - the chunk codec: round trips bit for bit, and
 * corrupt chunks refused with a message. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "helpers.h"
#include "ignite/protocol.h"
#include "store/chunk.h"

/* One series of up to CHUNK_MAX + 1 points and its encoding. */
typedef struct series {
	size_t n;
	int64_t it[CHUNK_MAX + 1], ep[CHUNK_MAX + 1];
	double wall[CHUNK_MAX + 1], val[CHUNK_MAX + 1];
	int has_epoch, has_wall;
	uint8_t buf[14 + 4 * (4 + 8 * (CHUNK_MAX + 1))];
	size_t len;
} series;

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double
bits(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof d);
	return d;
}

/* n points from first, iteration step 1, epochs of 100 iterations, a
 * wall clock every ~1 ms; the values are the caller's. */
static series *
make(size_t n, int64_t first)
{
	series *s = test_calloc(1, sizeof *s);

	s->n = n;
	s->has_epoch = s->has_wall = 1;
	for (size_t i = 0; i < n; i++) {
		s->it[i] = first + (int64_t)i;
		s->ep[i] = s->it[i] / 100 + 1;
		s->wall[i] =
		    1.7e9 + (double)i * 1e-3 + (double)(rnd() % 1000) * 1e-7;
	}
	return s;
}

static struct chunk_cols
cols(const series *s)
{
	return (struct chunk_cols){ s->it, s->has_epoch ? s->ep : NULL,
		s->has_wall ? s->wall : NULL, s->val };
}

static void
encode(series *s)
{
	struct chunk_cols c = cols(s);
	char err[256] = "";
	int rc;

	assert_true(chunk_bound(s->n) <= sizeof s->buf);
	rc = chunk_encode(
	    &c, s->n, s->buf, sizeof s->buf, &s->len, err, sizeof err);
	if (rc != 0)
		fail_msg("encode: %s", err);
	assert_true(s->len <= chunk_bound(s->n));
}

/* Encode, decode into plain arrays and compare every bit. */
static void
round_trip(series *s)
{
	int64_t it[CHUNK_MAX], ep[CHUNK_MAX];
	double wall[CHUNK_MAX], val[CHUNK_MAX];
	struct chunk_out out = { it, ep, wall, val, 0, 0, CHUNK_MAX };
	struct chunk_info info;
	char err[256] = "";

	encode(s);
	assert_int_equal(chunk_info(s->buf, s->len, &info, err, sizeof err), 0);
	assert_int_equal(info.format, CHUNK_FORMAT);
	assert_int_equal(info.n, s->n);
	assert_true(info.first == s->it[0]);
	assert_int_equal(info.has_epoch, s->has_epoch);
	assert_int_equal(info.has_wall, s->has_wall);
	if (chunk_decode(s->buf, s->len, &out, err, sizeof err) != 0)
		fail_msg("decode: %s", err);
	assert_int_equal(out.n, s->n);
	assert_memory_equal(it, s->it, s->n * 8);
	assert_memory_equal(val, s->val, s->n * 8);
	if (s->has_epoch)
		assert_memory_equal(ep, s->ep, s->n * 8);
	if (s->has_wall)
		assert_memory_equal(wall, s->wall, s->n * 8);
	for (size_t i = 0; i < s->n; i++) {
		if (!s->has_epoch)
			assert_true(ep[i] == 0);
		if (!s->has_wall)
			assert_true(wall[i] == 0);
	}
}

/*
 * The encoding byte of each column (iteration, [epoch], [wall], value),
 * read the way the format describes it, so that a test can say which
 * encoding a series got.
 */
static size_t
varint(const uint8_t *p, uint64_t *v)
{
	size_t i = 0;

	*v = 0;
	do
		*v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
	while (p[i++] & 0x80);
	return i;
}

static int
value_encoding(const series *s)
{
	const uint8_t *p = s->buf + 2;
	int ncols = 2 + s->has_epoch + s->has_wall, e = -1;
	uint64_t v;

	p += varint(p, &v);
	p += varint(p, &v);
	for (int c = 0; c < ncols; c++) {
		e = *p++;
		p += varint(p, &v);
		p += v;
	}
	assert_ptr_equal(p, s->buf + s->len);
	return e;
}

enum {
	RAW,
	RUNS,
	DOD,
	XOR
}; /* chunk.c's encodings, as written */

static void
test_random_walk(void **state)
{
	series *s = make(CHUNK_MAX, 1);
	double v = 2.3;

	(void)state;
	for (size_t i = 0; i < s->n; i++) {
		v += ((double)(rnd() % 2001) - 1000.0) * 1e-4;
		s->val[i] = v;
	}
	round_trip(s);
	test_free(s);
}

/* A loss curve as PyTorch reports it: float32 values, as loss.item(). */
static void
test_loss_curve(void **state)
{
	series *s = make(CHUNK_MAX, 12345);

	(void)state;
	for (size_t i = 0; i < s->n; i++)
		s->val[i] = (float)(2.3 * exp(-(double)i / 900.0) + 0.05 +
		    (double)(rnd() % 1000) * 1e-4);
	round_trip(s);
	assert_int_equal(value_encoding(s), XOR);
	/* iteration and epoch cost next to nothing, the value well under 8 */
	assert_true(s->len < s->n * 8);
	test_free(s);
}

static void
test_constant(void **state)
{
	series *s = make(CHUNK_MAX, 1);

	(void)state;
	for (size_t i = 0; i < s->n; i++)
		s->val[i] = 0.125;
	round_trip(s);
	s->has_epoch = s->has_wall = 0;
	encode(s);
	/* a constant value and a steady iteration: a handful of bytes */
	assert_true(s->len < 32);
	test_free(s);
}

static void
test_specials(void **state)
{
	static const uint64_t special[] = {
		0x7ff8000000000000u, /* the quiet NaN */
		0xfff8000000000001u, /* negative NaN with a payload */
		0x7ff0000000000001u, /* signalling NaN */
		0x7ff4dead0000beefu, /* NaN with a payload */
		0x7ff0000000000000u, /* +inf */
		0xfff0000000000000u, /* -inf */
		0x8000000000000000u, /* -0.0 */
		0x0000000000000000u, /* +0.0 */
		0x0000000000000001u, /* the smallest subnormal */
		0x000fffffffffffffu, /* the largest subnormal */
		0x800fffffffffffffu, /* negative subnormal */
		0x7fefffffffffffffu, /* DBL_MAX */
		0x0010000000000000u, /* DBL_MIN */
	};
	size_t ns = sizeof special / sizeof special[0];
	series *s = make(CHUNK_MAX, -5);

	(void)state;
	for (size_t i = 0; i < s->n; i++)
		s->val[i] =
		    bits(i % 3 == 0 ? special[rnd() % ns] : special[i % ns]);
	round_trip(s);
	/* the specials as wall clocks too, and one chunk of each alone */
	memcpy(s->wall, s->val, sizeof s->wall);
	round_trip(s);
	for (size_t k = 0; k < ns; k++) {
		s->n = 1;
		s->val[0] = s->wall[0] = bits(special[k]);
		round_trip(s);
	}
	test_free(s);
}

static void
test_random_bits(void **state)
{
	series *s = make(CHUNK_MAX, 0);

	(void)state;
	s->it[0] = INT64_MIN;
	for (size_t i = 0; i < s->n; i++) {
		s->val[i] = bits(rnd());
		s->wall[i] = bits(rnd());
		s->ep[i] = (int64_t)rnd();
		if (i > 0) /* increasing, by gaps of up to 2^50 */
			s->it[i] = s->it[i - 1] + 1 + (int64_t)(rnd() >> 14);
	}
	round_trip(s);
	/* XOR does not pay: raw, and no more than raw's 8 bytes a point */
	assert_int_equal(value_encoding(s), RAW);
	assert_true(s->len <= chunk_bound(s->n));
	/* the last iteration at INT64_MAX */
	s->n = 2;
	s->it[1] = INT64_MAX;
	round_trip(s);
	test_free(s);
}

static void
test_single_point(void **state)
{
	series *s = make(1, 42);

	(void)state;
	s->val[0] = -0.0;
	round_trip(s);
	s->has_epoch = s->has_wall = 0;
	round_trip(s);
	s->it[0] = INT64_MIN;
	round_trip(s);
	test_free(s);
}

static void
test_gaps(void **state)
{
	series *s = make(CHUNK_MAX, 1000);

	(void)state;
	s->has_epoch = 0;
	for (size_t i = 1; i < s->n; i++) /* every 10, with a few jumps */
		s->it[i] = s->it[i - 1] + (i % 500 == 0 ? 100000 : 10);
	for (size_t i = 0; i < s->n; i++)
		s->val[i] = (double)(i % 7) * 0.25;
	round_trip(s);
	/* gaps at random, and a gap only at the end */
	for (size_t i = 1; i < s->n; i++)
		s->it[i] = s->it[i - 1] + 1 + (int64_t)(rnd() % 50);
	round_trip(s);
	for (size_t i = 1; i < s->n; i++)
		s->it[i] = s->it[i - 1] + (i + 1 == s->n ? 1 << 30 : 1);
	round_trip(s);
	test_free(s);
}

static void
test_bad_input(void **state)
{
	series *s = make(CHUNK_MAX + 1, 1);
	struct chunk_cols c = cols(s);
	char err[256];
	size_t len;

	(void)state;
	assert_int_equal(chunk_encode(&c, CHUNK_MAX + 1, s->buf, sizeof s->buf,
	                     &len, err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "1 to 4096 points"));
	assert_int_equal(
	    chunk_encode(&c, 0, s->buf, sizeof s->buf, &len, err, sizeof err),
	    -1);
	s->it[7] = s->it[6];
	assert_int_equal(
	    chunk_encode(&c, 10, s->buf, sizeof s->buf, &len, err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "point 7 has 7 after 7"));
	s->it[7] = 8;
	for (size_t i = 0; i < 10; i++)
		s->val[i] = bits(rnd());
	assert_int_equal(
	    chunk_encode(&c, 10, s->buf, 40, &len, err, sizeof err), -1);
	assert_non_null(strstr(err, "too few"));
	test_free(s);
}

/* Appended after what is there, into the members of an ig_point array. */
static void
test_append_strided(void **state)
{
	series *a = make(100, 1), *b = make(50, 101);
	ig_point pts[160];
	struct chunk_out out = { &pts[0].iteration, &pts[0].epoch, &pts[0].time,
		&pts[0].value, sizeof pts[0], 0, 150 };
	char err[256];

	(void)state;
	for (size_t i = 0; i < 100; i++)
		a->val[i] = b->val[i % 50] = (double)i / 3;
	encode(a);
	encode(b);
	pts[150].iteration = 77; /* past cap: must stay */
	assert_int_equal(
	    chunk_decode(a->buf, a->len, &out, err, sizeof err), 0);
	assert_int_equal(
	    chunk_decode(b->buf, b->len, &out, err, sizeof err), 0);
	assert_int_equal(out.n, 150);
	for (size_t i = 0; i < 150; i++) {
		const series *s = i < 100 ? a : b;
		size_t j = i < 100 ? i : i - 100;

		assert_true(pts[i].iteration == s->it[j]);
		assert_true(pts[i].epoch == s->ep[j]);
		assert_memory_equal(&pts[i].time, &s->wall[j], 8);
		assert_memory_equal(&pts[i].value, &s->val[j], 8);
	}
	/* full: refused, and nothing written past cap */
	assert_int_equal(
	    chunk_decode(b->buf, b->len, &out, err, sizeof err), -1);
	assert_non_null(strstr(err, "does not fit"));
	assert_int_equal(out.n, 150);
	assert_true(pts[150].iteration == 77);
	test_free(a);
	test_free(b);
}

/* A chunk of each kind, for the corruption tests. */
static series *
corpus(int kind)
{
	series *s = make(kind == 0 ? 300 : 40, 7);

	for (size_t i = 0; i < s->n; i++)
		s->val[i] = kind == 0 ? (float)(1.0 / (double)(i + 1)) :
		    kind == 1         ? bits(rnd()) :
		                        0.5;
	if (kind == 2) {
		s->has_wall = 0;
		for (size_t i = 1; i < s->n; i++)
			s->it[i] = s->it[i - 1] + 1 + (int64_t)(rnd() % 3);
	}
	encode(s);
	return s;
}

static int
decode_copy(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	int64_t it[CHUNK_MAX], ep[CHUNK_MAX];
	double wall[CHUNK_MAX], val[CHUNK_MAX];
	struct chunk_out out = { it, ep, wall, val, 0, 0, CHUNK_MAX };
	/* a copy of exactly len bytes, so that ASan sees any over-read */
	uint8_t *copy = test_malloc(len ? len : 1);
	int rc;

	memcpy(copy, buf, len);
	rc = chunk_decode(copy, len, &out, err, errlen);
	assert_true(rc == -1 || out.n <= CHUNK_MAX);
	test_free(copy);
	return rc;
}

static void
test_truncated(void **state)
{
	char err[256];

	(void)state;
	for (int kind = 0; kind < 3; kind++) {
		series *s = corpus(kind);

		for (size_t len = 0; len < s->len; len++) {
			err[0] = '\0';
			assert_int_equal(
			    decode_copy(s->buf, len, err, sizeof err), -1);
			assert_non_null(strstr(err, "corrupt chunk"));
		}
		/* a byte too many */
		s->buf[s->len] = 0;
		assert_int_equal(
		    decode_copy(s->buf, s->len + 1, err, sizeof err), -1);
		assert_non_null(strstr(err, "corrupt chunk"));
		test_free(s);
	}
}

static void
test_flipped_bits(void **state)
{
	char err[256];

	(void)state;
	for (int kind = 0; kind < 3; kind++) {
		series *s = corpus(kind);

		for (size_t bit = 0; bit < s->len * 8; bit++) {
			s->buf[bit / 8] ^= (uint8_t)(1u << bit % 8);
			err[0] = '\0';
			if (decode_copy(s->buf, s->len, err, sizeof err) != 0)
				assert_true(err[0] != '\0');
			else /* a value changed, say; never format or flags */
				assert_true(bit >= 16);
			s->buf[bit / 8] ^= (uint8_t)(1u << bit % 8);
		}
		test_free(s);
	}
}

static void
test_newer_format(void **state)
{
	series *s = corpus(0);
	char err[256];

	(void)state;
	s->buf[0] = CHUNK_FORMAT + 1;
	assert_int_equal(decode_copy(s->buf, s->len, err, sizeof err), -1);
	assert_non_null(strstr(err, "newer than this ignited reads"));
	s->buf[0] = CHUNK_FORMAT;
	s->buf[1] |= 0x80;
	assert_int_equal(decode_copy(s->buf, s->len, err, sizeof err), -1);
	assert_non_null(strstr(err, "corrupt chunk"));
	test_free(s);
}

/* Buckets against the same computed from the points. */
static void
test_buckets(void **state)
{
	series *a = make(CHUNK_MAX, 1), *b = make(CHUNK_MAX, 1 + CHUNK_MAX);
	struct chunk_bucket got[40], want[40];
	const int64_t origin = 100, width = 200;
	char err[256];

	(void)state;
	for (size_t i = 0; i < CHUNK_MAX; i++) {
		a->val[i] = i % 97 == 0 ? NAN : sin((double)i / 50);
		b->val[i] = i < 300 ? NAN : cos((double)i / 70);
	}
	encode(a);
	encode(b);
	memset(got, 0, sizeof got);
	memset(want, 0, sizeof want);
	assert_int_equal(chunk_buckets(a->buf, a->len, origin, width, got, 40,
	                     err, sizeof err),
	    0);
	assert_int_equal(chunk_buckets(b->buf, b->len, origin, width, got, 40,
	                     err, sizeof err),
	    0);
	for (int c = 0; c < 2; c++) {
		const series *s = c == 0 ? a : b;

		for (size_t i = 0; i < s->n; i++) {
			int64_t k = (s->it[i] - origin) / width;
			struct chunk_bucket *w = &want[k];
			double v = s->val[i];

			if (s->it[i] < origin || k >= 40)
				continue;
			if (w->n++ == 0)
				w->min = w->max = v;
			if (isnan(w->min) || v < w->min)
				w->min = v;
			if (isnan(w->max) || v > w->max)
				w->max = v;
			w->last = v;
			w->last_iteration = s->it[i];
		}
	}
	assert_memory_equal(got, want, sizeof got);
	/* a bucket with a NaN among its values has a min */
	assert_false(isnan(got[9].min));
	assert_int_equal(
	    chunk_buckets(a->buf, a->len, 0, 0, got, 40, err, sizeof err), -1);
	test_free(a);
	test_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_walk),
		cmocka_unit_test(test_loss_curve),
		cmocka_unit_test(test_constant),
		cmocka_unit_test(test_specials),
		cmocka_unit_test(test_random_bits),
		cmocka_unit_test(test_single_point),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_append_strided),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_flipped_bits),
		cmocka_unit_test(test_newer_format),
		cmocka_unit_test(test_buckets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
