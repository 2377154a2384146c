/*
 * chunk.c - the chunk codec (chunk.h).
 *
 * A column is encoded into the output four times at most, each attempt
 * bounded by the best so far, and the smallest is written again in place:
 * encoding costs a few passes over 4,096 words, and decoding, which a read
 * of a long history repeats for every chunk, is one pass with the choice
 * of encoding made once a column.
 */
#include <string.h>

#include "store/chunk.h"
#include "store/store_int.h"

enum enc {
	ENC_RAW, /* 8 bytes a word, little-endian */
	ENC_RUNS, /* (delta, run length) varint pairs */
	ENC_DOD, /* bit stream of delta-of-deltas in 5 widths */
	ENC_XOR, /* Gorilla: each word XOR the one before */
	ENC_COUNT,
};

#define FLAG_EPOCH 1
#define FLAG_WALL 2
#define COL_HEAD 4 /* encoding byte and a varint of up to 8 * CHUNK_MAX */

/* The widths of a delta-of-delta after a prefix of 0..4 ones. */
static const unsigned dod_bits[] = { 0, 7, 12, 20, 64 };

static uint64_t
zigzag(uint64_t v)
{
	return (v << 1) ^ (uint64_t) - (int64_t)(v >> 63);
}

static uint64_t
unzigzag(uint64_t v)
{
	return (v >> 1) ^ (uint64_t) - (int64_t)(v & 1);
}

/* ---- writing ------------------------------------------------------------- */

/* Bytes into [p, end), bits through acc (nacc < 8 of them between calls).
 * A write past end sets full and writes nothing more. */
struct wbuf {
	uint8_t *p, *end;
	uint64_t acc;
	unsigned nacc;
	int full;
};

static void
put_byte(struct wbuf *w, uint8_t b)
{
	if (w->p < w->end)
		*w->p++ = b;
	else
		w->full = 1;
}

static void
put_varint(struct wbuf *w, uint64_t v)
{
	for (; v >= 0x80; v >>= 7)
		put_byte(w, (uint8_t)(v | 0x80));
	put_byte(w, (uint8_t)v);
}

/* The low k bits of v, most significant first; k <= 64. */
static void
put_bits(struct wbuf *w, uint64_t v, unsigned k)
{
	if (k > 32) {
		put_bits(w, v >> 32, k - 32);
		k = 32;
	}
	if (k == 0)
		return;
	v &= (UINT64_C(1) << k) - 1;
	w->acc |= v << (64 - w->nacc - k);
	for (w->nacc += k; w->nacc >= 8; w->nacc -= 8) {
		put_byte(w, (uint8_t)(w->acc >> 56));
		w->acc <<= 8;
	}
}

/* Pad the last byte with zeros. */
static void
put_flush(struct wbuf *w)
{
	if (w->nacc > 0)
		put_byte(w, (uint8_t)(w->acc >> 56));
	w->acc = 0;
	w->nacc = 0;
}

static void
enc_raw(struct wbuf *w, const uint64_t *v, size_t n, uint64_t base)
{
	(void)base;
	for (size_t i = 0; i < n; i++)
		for (unsigned b = 0; b < 64; b += 8)
			put_byte(w, (uint8_t)(v[i] >> b));
}

static void
enc_runs(struct wbuf *w, const uint64_t *v, size_t n, uint64_t base)
{
	uint64_t prev = base;
	size_t i = 0;

	while (i < n && !w->full) {
		uint64_t d = v[i] - prev;
		size_t run = 1;

		while (i + run < n && v[i + run] - v[i + run - 1] == d)
			run++;
		put_varint(w, zigzag(d));
		put_varint(w, run);
		prev = v[i + run - 1];
		i += run;
	}
}

static void
enc_dod(struct wbuf *w, const uint64_t *v, size_t n, uint64_t base)
{
	static const unsigned prefix[] = { 0, 2, 6, 14, 15 };
	static const unsigned prefix_len[] = { 1, 2, 3, 4, 4 };
	uint64_t prev = base, delta = 0;

	for (size_t i = 0; i < n && !w->full; i++) {
		uint64_t d = v[i] - prev, zz = zigzag(d - delta);
		unsigned k = 0;

		while (k < 4 && zz >> dod_bits[k] != 0)
			k++;
		put_bits(w, prefix[k], prefix_len[k]);
		put_bits(w, zz, dod_bits[k]);
		prev = v[i];
		delta = d;
	}
	put_flush(w);
}

static void
enc_xor(struct wbuf *w, const uint64_t *v, size_t n, uint64_t base)
{
	uint64_t prev = base;
	unsigned wlead = 0, wsig = 0; /* the window; none while wsig is 0 */

	for (size_t i = 0; i < n && !w->full; i++) {
		uint64_t x = v[i] ^ prev;
		unsigned lead, trail;

		prev = v[i];
		if (x == 0) {
			put_bits(w, 0, 1);
			continue;
		}
		lead = (unsigned)__builtin_clzll(x);
		trail = (unsigned)__builtin_ctzll(x);
		if (lead > 31)
			lead = 31; /* 5 bits */
		if (wsig != 0 && lead >= wlead && trail >= 64 - wlead - wsig) {
			put_bits(w, 2, 2);
			put_bits(w, x >> (64 - wlead - wsig), wsig);
			continue;
		}
		wlead = lead;
		wsig = 64 - lead - trail;
		put_bits(w, 3, 2);
		put_bits(w, lead, 5);
		put_bits(w, wsig - 1, 6);
		put_bits(w, x >> trail, wsig);
	}
	put_flush(w);
}

typedef void enc_fn(struct wbuf *, const uint64_t *, size_t, uint64_t);
static enc_fn *const encoders[ENC_COUNT] = { enc_raw, enc_runs, enc_dod,
	enc_xor };

/*
 * One column: n words after base (the word before the first; deltas and
 * XOR start from it), in the smallest encoding.  Each attempt is written
 * where the payload goes and may not reach the best length so far.
 */
static void
put_column(struct wbuf *w, const uint64_t *v, size_t n, uint64_t base)
{
	size_t best_len = 8 * n;
	enum enc best = ENC_RAW;
	uint8_t *payload = w->p + COL_HEAD;
	struct wbuf t;

	if ((size_t)(w->end - w->p) < COL_HEAD) {
		w->full = 1;
		return;
	}
	for (enum enc e = ENC_RUNS; e < ENC_COUNT; e++) {
		t = (struct wbuf){ .p = payload, .end = payload + best_len };
		if (t.end > w->end)
			t.end = w->end;
		encoders[e](&t, v, n, base);
		if (!t.full && (size_t)(t.p - payload) < best_len) {
			best = e;
			best_len = (size_t)(t.p - payload);
		}
	}
	put_byte(w, (uint8_t)best);
	put_varint(w, best_len);
	encoders[best](w, v, n, base);
}

size_t
chunk_bound(size_t n)
{
	/* a header of at most 14 bytes; columns no larger than raw */
	return 14 + 4 * (COL_HEAD + 8 * n);
}

int
chunk_encode(const struct chunk_cols *c, size_t n, uint8_t *out, size_t cap,
    size_t *len, ig_err *err)
{
	uint64_t words[CHUNK_MAX];
	struct wbuf w = { .p = out, .end = out + cap };
	const void *cols[] = { c->epoch, c->wall, c->value };
	size_t i;

	if (n == 0 || n > CHUNK_MAX) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "a chunk holds 1 to %d points, not %zu", CHUNK_MAX, n);
		return -1;
	}
	for (i = 1; i < n; i++)
		if (c->iteration[i] <= c->iteration[i - 1]) {
			ig_err_set(err, IG_PROTO_INTERNAL,
			    "iterations must increase within a chunk: "
			    "point %zu has %lld after %lld",
			    i, (long long)c->iteration[i],
			    (long long)c->iteration[i - 1]);
			return -1;
		}
	put_byte(&w, CHUNK_FORMAT);
	put_byte(&w,
	    (uint8_t)((c->epoch ? FLAG_EPOCH : 0) | (c->wall ? FLAG_WALL : 0)));
	put_varint(&w, n);
	put_varint(&w, zigzag((uint64_t)c->iteration[0]));
	memcpy(words, c->iteration, n * 8);
	put_column(&w, words + 1, n - 1, words[0]);
	for (i = 0; i < sizeof cols / sizeof cols[0]; i++)
		if (cols[i] != NULL) {
			memcpy(words, cols[i], n * 8);
			put_column(&w, words, n, 0);
		}
	if (w.full) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "%zu bytes are too few for a chunk of %zu points; "
		    "chunk_bound() gives %zu",
		    cap, n, chunk_bound(n));
		return -1;
	}
	*len = (size_t)(w.p - out);
	return 0;
}

/* ---- reading ------------------------------------------------------------- */

/* Eight bytes as a word, one load each where a loop over the bytes was
 * the larger part of decoding a column. */
static inline uint64_t
load_be(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return w;
#else
	return __builtin_bswap64(w);
#endif
}

static inline uint64_t
load_le(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap64(w);
#else
	return w;
#endif
}

/* Bits from [p, end) through acc, whose top nacc bits are the next ones
 * (the bits below them are zeros or the stream's next bits). */
struct rbuf {
	const uint8_t *p, *end;
	uint64_t acc;
	unsigned nacc;
};

static inline void
refill(struct rbuf *r)
{
	if (r->end - r->p >= 8) {
		r->acc |= load_be(r->p) >> r->nacc;
		r->p += (63 - r->nacc) >> 3;
		r->nacc |= 56;
		return;
	}
	for (; r->nacc <= 56 && r->p < r->end; r->nacc += 8)
		r->acc |= (uint64_t)*r->p++ << (56 - r->nacc);
}

/* The next k bits, k <= 56; -1 past the end.  Inline: a column decodes
 * a few of these a point. */
static inline int
get_bits(struct rbuf *r, unsigned k, uint64_t *v)
{
	if (r->nacc < k) {
		refill(r);
		if (r->nacc < k)
			return -1;
	}
	*v = r->acc >> 1 >> (63 - k); /* k == 0 gives 0 */
	r->acc <<= k;
	r->nacc -= k;
	return 0;
}

/* As get_bits, k <= 64. */
static inline int
get_long(struct rbuf *r, unsigned k, uint64_t *v)
{
	uint64_t hi;

	if (k <= 56)
		return get_bits(r, k, v);
	if (get_bits(r, k - 32, &hi) == -1 || get_bits(r, 32, v) == -1)
		return -1;
	*v |= hi << 32;
	return 0;
}

/* A prefix of up to max (< 8) ones, ended by a zero unless it has max. */
static inline int
get_ones(struct rbuf *r, unsigned max, unsigned *ones)
{
	uint64_t inv;
	unsigned k, used;

	if (r->nacc < max)
		refill(r);
	inv = ~r->acc;
	k = inv == 0 ? 64 : (unsigned)__builtin_clzll(inv);
	if (k > max)
		k = max;
	used = k < max ? k + 1 : max;
	if (used > r->nacc)
		return -1;
	r->acc <<= used;
	r->nacc -= used;
	*ones = k;
	return 0;
}

/* All of it read but the zero bits padding the last byte. */
static int
get_end(const struct rbuf *r)
{
	return r->p == r->end && r->nacc < 8 &&
	        (r->nacc == 0 || r->acc >> (64 - r->nacc) == 0) ?
	    0 :
	    -1;
}

static int
get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 64 && *pp < end; shift += 7) {
		uint8_t b = *(*pp)++;

		if (shift == 63 && b > 1)
			return -1; /* more than 64 bits */
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* Words go to out + i * stride. */
static inline void
put_word(uint8_t *out, size_t stride, size_t i, uint64_t v)
{
	memcpy(out + i * stride, &v, sizeof v);
}

static uint64_t
get_word(const uint8_t *out, size_t stride, size_t i)
{
	uint64_t v;

	memcpy(&v, out + i * stride, sizeof v);
	return v;
}

/* One column's payload [p, end): n words after base, to out.  A message
 * when corrupt, else NULL. */
static const char *
dec_raw(const uint8_t *p, const uint8_t *end, size_t n, uint64_t base,
    uint8_t *out, size_t stride)
{
	(void)base;
	if ((size_t)(end - p) != 8 * n)
		return "raw column of the wrong length";
	for (size_t i = 0; i < n; i++, p += 8)
		put_word(out, stride, i, load_le(p));
	return NULL;
}

static const char *
dec_runs(const uint8_t *p, const uint8_t *end, size_t n, uint64_t base,
    uint8_t *out, size_t stride)
{
	uint64_t prev = base, d, run;
	size_t i = 0;

	while (i < n) {
		if (get_varint(&p, end, &d) == -1 ||
		    get_varint(&p, end, &run) == -1)
			return "run column cut short";
		if (run == 0 || run > n - i)
			return "run longer than the chunk";
		d = unzigzag(d);
		for (; run > 0; run--) {
			prev += d;
			put_word(out, stride, i++, prev);
		}
	}
	return p == end ? NULL : "run column longer than its points";
}

/* The prefix of up to max (< 8) ones at the top of r's bits, ended by a
 * zero unless it has max, taken: without a check, for a caller that
 * knows the bits are there (a refill with 8 bytes left leaves 56). */
static inline unsigned
take_ones(struct rbuf *r, unsigned max)
{
	unsigned k = (unsigned)__builtin_clzll(~r->acc | 1);

	k = k < max ? k : max;
	r->acc <<= k < max ? k + 1 : max;
	r->nacc -= k < max ? k + 1 : max;
	return k;
}

static const char *
dec_dod(const uint8_t *p, const uint8_t *end, size_t n, uint64_t base,
    uint8_t *out, size_t stride)
{
	struct rbuf r = { .p = p, .end = end };
	uint64_t prev = base, delta = 0, zz;
	unsigned k;
	size_t i = 0;

	/* while 8 bytes are left, a point of up to 4 + 20 bits is read after
	 * one refill without a check; a 64-bit one, and the end, with them */
	for (; i < n && r.end - r.p >= 8; i++) {
		refill(&r);
		if ((k = take_ones(&r, 4)) < 4) {
			zz = r.acc >> 1 >> (63 - dod_bits[k]);
			r.acc <<= dod_bits[k];
			r.nacc -= dod_bits[k];
		} else if (get_long(&r, 64, &zz) == -1) {
			return "delta column cut short";
		}
		delta += unzigzag(zz);
		prev += delta;
		put_word(out, stride, i, prev);
	}
	for (; i < n; i++) {
		if (get_ones(&r, 4, &k) == -1 ||
		    get_long(&r, dod_bits[k], &zz) == -1)
			return "delta column cut short";
		delta += unzigzag(zz);
		prev += delta;
		put_word(out, stride, i, prev);
	}
	return get_end(&r) == 0 ? NULL : "delta column longer than its points";
}

static const char *
dec_xor(const uint8_t *p, const uint8_t *end, size_t n, uint64_t base,
    uint8_t *out, size_t stride)
{
	struct rbuf r = { .p = p, .end = end };
	uint64_t prev = base, x, lead, sig = 0, trail = 0;
	unsigned k;

	for (size_t i = 0; i < n; i++) {
		/* while 8 bytes are left, the prefix is read after one refill
		 * without a check */
		if (r.end - r.p >= 8) {
			refill(&r);
			k = take_ones(&r, 2);
		} else if (get_ones(&r, 2, &k) == -1) {
			return "XOR column cut short";
		}
		if (k == 2) {
			if (get_bits(&r, 11, &sig) == -1)
				return "XOR column cut short";
			lead = sig >> 6;
			sig = (sig & 63) + 1;
			if (lead + sig > 64)
				return "XOR window wider than 64 bits";
			trail = 64 - lead - sig;
		} else if (k == 1 && sig == 0) {
			return "XOR window used before one is set";
		}
		x = 0;
		if (k > 0 && get_long(&r, (unsigned)sig, &x) == -1)
			return "XOR column cut short";
		prev ^= x << trail;
		put_word(out, stride, i, prev);
	}
	return get_end(&r) == 0 ? NULL : "XOR column longer than its points";
}

typedef const char *dec_fn(
    const uint8_t *, const uint8_t *, size_t, uint64_t, uint8_t *, size_t);
static dec_fn *const decoders[ENC_COUNT] = { dec_raw, dec_runs, dec_dod,
	dec_xor };

/* The next column of [*pp, end), decoded to out unless out is NULL. */
static const char *
get_column(const uint8_t **pp, const uint8_t *end, size_t n, uint64_t base,
    void *out, size_t stride)
{
	const uint8_t *p = *pp;
	const char *bad;
	uint64_t len;
	uint8_t e;

	if (p == end)
		return "a column is missing";
	e = *p++;
	if (get_varint(&p, end, &len) == -1 || len > (uint64_t)(end - p))
		return "a column is longer than the chunk";
	if (e >= ENC_COUNT)
		return "a column has an unknown encoding";
	*pp = p + len;
	if (out == NULL)
		return NULL;
	if ((bad = decoders[e](p, p + len, n, base, out, stride)) != NULL)
		return bad;
	return NULL;
}

static int
get_header(const uint8_t **pp, const uint8_t *end, struct chunk_info *info,
    ig_err *err)
{
	const uint8_t *p = *pp;
	uint64_t n, first;

	if (end - p < 2) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "corrupt chunk: %zu bytes, too short", (size_t)(end - p));
		return -1;
	}
	if (p[0] > CHUNK_FORMAT) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "chunk format %u is newer than this ignited reads "
		    "(up to %d): upgrade ignited",
		    p[0], CHUNK_FORMAT);
		return -1;
	}
	if (p[0] == 0 || (p[1] & ~(FLAG_EPOCH | FLAG_WALL)) != 0) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "corrupt chunk: format %u, flags 0x%02x", p[0], p[1]);
		return -1;
	}
	info->format = p[0];
	info->has_epoch = (p[1] & FLAG_EPOCH) != 0;
	info->has_wall = (p[1] & FLAG_WALL) != 0;
	p += 2;
	if (get_varint(&p, end, &n) == -1 || n == 0 || n > CHUNK_MAX ||
	    get_varint(&p, end, &first) == -1) {
		ig_err_set(
		    err, IG_PROTO_INTERNAL, "corrupt chunk: bad point count");
		return -1;
	}
	info->n = (size_t)n;
	info->first = (int64_t)unzigzag(first);
	*pp = p;
	return 0;
}

int
chunk_info(const uint8_t *buf, size_t len, struct chunk_info *info, ig_err *err)
{
	return get_header(&buf, buf + len, info, err);
}

int
chunk_decode(const uint8_t *buf, size_t len, struct chunk_out *out, ig_err *err)
{
	const uint8_t *p = buf, *end = buf + len;
	size_t stride = out->stride != 0 ? out->stride : 8, i, n;
	uint8_t *it = (uint8_t *)out->iteration + out->n * stride;
	uint8_t *ep = NULL, *wa = NULL, *va = NULL;
	struct chunk_info info;
	const char *bad;

	if (get_header(&p, end, &info, err) == -1)
		return -1;
	n = info.n;
	if (n > out->cap - out->n) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "a chunk of %zu points does not fit in the %zu left", n,
		    out->cap - out->n);
		return -1;
	}
	if (out->epoch != NULL)
		ep = (uint8_t *)out->epoch + out->n * stride;
	if (out->wall != NULL)
		wa = (uint8_t *)out->wall + out->n * stride;
	if (out->value != NULL)
		va = (uint8_t *)out->value + out->n * stride;
	put_word(it, stride, 0, (uint64_t)info.first);
	if ((bad = get_column(&p, end, n - 1, (uint64_t)info.first, it + stride,
	         stride)) != NULL ||
	    (info.has_epoch &&
	        (bad = get_column(&p, end, n, 0, ep, stride)) != NULL) ||
	    (info.has_wall &&
	        (bad = get_column(&p, end, n, 0, wa, stride)) != NULL) ||
	    (bad = get_column(&p, end, n, 0, va, stride)) != NULL)
		goto corrupt;
	bad = "bytes after the last column";
	if (p != end)
		goto corrupt;
	bad = "iterations do not increase";
	for (i = 1; i < n; i++)
		if ((int64_t)get_word(it, stride, i) <=
		    (int64_t)get_word(it, stride, i - 1))
			goto corrupt;
	/* 0 for a column asked for that the chunk has not; nothing to do,
	 * and no pass over the points, otherwise */
	if (ep != NULL && !info.has_epoch)
		for (i = 0; i < n; i++)
			put_word(ep, stride, i, 0);
	if (wa != NULL && !info.has_wall)
		for (i = 0; i < n; i++)
			put_word(wa, stride, i, 0);
	out->n += n;
	return 0;
corrupt:
	ig_err_set(err, IG_PROTO_INTERNAL, "corrupt chunk: %s", bad);
	return -1;
}

int
chunk_buckets(const uint8_t *buf, size_t len, int64_t origin, int64_t width,
    struct chunk_bucket *b, size_t nb, ig_err *err)
{
	int64_t its[CHUNK_MAX];
	double vals[CHUNK_MAX];
	struct chunk_out out = {
		.iteration = its, .value = vals, .cap = CHUNK_MAX
	};

	if (width <= 0) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "a bucket width of %lld: give 1 or more", (long long)width);
		return -1;
	}
	if (chunk_decode(buf, len, &out, err) == -1)
		return -1;
	for (size_t i = 0; i < out.n; i++) {
		struct chunk_bucket *k;
		uint64_t off = (uint64_t)its[i] - (uint64_t)origin;

		/* below origin wraps around to a huge offset */
		if (its[i] < origin || off / (uint64_t)width >= nb)
			continue;
		k = &b[off / (uint64_t)width];
		if (k->n++ == 0)
			k->min = k->max = vals[i];
		if (vals[i] < k->min || k->min != k->min)
			k->min = vals[i];
		if (vals[i] > k->max || k->max != k->max)
			k->max = vals[i];
		k->last = vals[i];
		k->last_iteration = its[i];
	}
	return 0;
}
