/*
 * blob.c - a little-endian byte format for plugin state.
 */
#include <stdlib.h>
#include <string.h>

#include "builtin/blob.h"

/* Drop what was written: the writer failed and ignores further puts. */
static unsigned char *
poison(struct blob_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
	w->failed = true;
	return NULL;
}

/* Room for n more bytes, or NULL once the writer has failed. */
static unsigned char *
reserve(struct blob_writer *w, size_t n)
{
	if (w->failed)
		return NULL;
	if (n > w->cap - w->len) {
		size_t cap = w->cap != 0 ? w->cap : 256;
		while (n > cap - w->len) {
			if (cap > SIZE_MAX / 2)
				return poison(w);
			cap *= 2;
		}
		unsigned char *p = realloc(w->buf, cap);
		if (p == NULL)
			return poison(w);
		w->buf = p;
		w->cap = cap;
	}
	unsigned char *p = w->buf + w->len;
	w->len += n;
	return p;
}

static void
store_le(unsigned char *p, uint64_t v, size_t width)
{
	for (size_t i = 0; i < width; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
load_le(const unsigned char *p, size_t width)
{
	uint64_t v = 0;

	for (size_t i = 0; i < width; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void
blob_put_u32(struct blob_writer *w, uint32_t v)
{
	unsigned char *p = reserve(w, 4);

	if (p != NULL)
		store_le(p, v, 4);
}

void
blob_put_u64(struct blob_writer *w, uint64_t v)
{
	unsigned char *p = reserve(w, 8);

	if (p != NULL)
		store_le(p, v, 8);
}

void
blob_put_doubles(struct blob_writer *w, const double *v, size_t n)
{
	unsigned char *p = n > SIZE_MAX / 8 ? poison(w) : reserve(w, 8 * n);

	for (size_t i = 0; p != NULL && i < n; i++) {
		uint64_t bits;
		memcpy(&bits, &v[i], sizeof bits);
		store_le(p + 8 * i, bits, 8);
	}
}

size_t
blob_remaining(const struct blob_reader *r)
{
	return r->len - r->off;
}

int
blob_get_u32(struct blob_reader *r, uint32_t *v)
{
	if (blob_remaining(r) < 4)
		return -1;
	*v = (uint32_t)load_le(r->buf + r->off, 4);
	r->off += 4;
	return 0;
}

int
blob_get_u64(struct blob_reader *r, uint64_t *v)
{
	if (blob_remaining(r) < 8)
		return -1;
	*v = load_le(r->buf + r->off, 8);
	r->off += 8;
	return 0;
}

int
blob_get_doubles(struct blob_reader *r, double *v, size_t n)
{
	if (n > blob_remaining(r) / 8)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint64_t bits = load_le(r->buf + r->off + 8 * i, 8);
		memcpy(&v[i], &bits, sizeof bits);
	}
	r->off += 8 * n;
	return 0;
}
