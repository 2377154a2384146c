/*
 * bigstate.c - a plugin with a large state (param pad bytes, default 64
 * MiB) saved as a file (save_file, load_file), for tests/e2e's checkpoint
 * tests.  Each iteration folds the iteration and one byte of the pad into
 * a digest, changes that byte, and outputs the digest as loss: a resume
 * that lost or damaged any of the state shows in the history.  Param
 * sleep_ms: how long each process call takes (it is a blocking plugin);
 * load_ms: how long load_file takes (a state of gigabytes read back).
 *
 * Built a second time with BIGSTATE_ABI1 as a plugin of ABI version 1,
 * whose state is state_dict's bytes: its save_file and load_file abort,
 * since a daemon must not read members past what version 1 has.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ignite/plugin.h"

#define MAGIC 0x5441545347494221ull /* "!BIGSTAT" */
#define HEADER (4 * sizeof(uint64_t)) /* magic, n, digest, pad */

struct big {
	uint64_t n, digest;
	size_t pad;
	unsigned char *bytes;
	long sleep_ms, load_ms;
	ig_field field;
	ig_output out;
};

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void
big_destroy(void *self)
{
	struct big *b = self;

	if (b != NULL)
		free(b->bytes);
	free(b);
}

static void *
big_create(const ig_param *params, size_t n, char *err, size_t errlen)
{
	struct big *b = calloc(1, sizeof(*b));

	if (b == NULL) {
		snprintf(err, errlen, "bigstate: out of memory");
		return NULL;
	}
	b->pad = 64u << 20;
	for (size_t i = 0; i < n; i++) {
		const ig_value *v = &params[i].value;
		if (v->type != IG_VALUE_INT || v->u.i < 0) {
			snprintf(err, errlen,
			    "bigstate: param %s must be an integer >= 0",
			    params[i].key);
			goto fail;
		}
		if (strcmp(params[i].key, "pad") == 0 && v->u.i > 0) {
			b->pad = (size_t)v->u.i;
		} else if (strcmp(params[i].key, "sleep_ms") == 0) {
			b->sleep_ms = (long)v->u.i;
		} else if (strcmp(params[i].key, "load_ms") == 0) {
			b->load_ms = (long)v->u.i;
		} else {
			snprintf(err, errlen,
			    "bigstate: unknown param %s (it takes pad > 0, "
			    "sleep_ms and load_ms)",
			    params[i].key);
			goto fail;
		}
	}
	if ((b->bytes = malloc(b->pad)) == NULL) {
		snprintf(err, errlen, "bigstate: out of memory");
		goto fail;
	}
	for (size_t i = 0; i < b->pad; i++)
		b->bytes[i] = (unsigned char)((i * 2654435761u) >> 24);
	return b;
fail:
	big_destroy(b);
	return NULL;
}

static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
big_process(void *self, const ig_batch *batch, int mode, const ig_output **out,
    char *err, size_t errlen)
{
	struct big *b = self;
	size_t at;

	(void)batch, (void)mode, (void)err, (void)errlen;
	if (b->sleep_ms > 0)
		nap(b->sleep_ms);
	b->n++;
	at = (size_t)(mix(b->digest) % b->pad);
	b->digest = mix(b->digest ^ b->n ^ ((uint64_t)b->bytes[at] << 56));
	b->bytes[at] ^= (unsigned char)b->digest;
	b->field = (ig_field){ "loss", (double)(b->digest >> 11) * 0x1p-53,
		NULL, 0, 0 };
	b->out = (ig_output){ &b->field, 1 };
	*out = &b->out;
	return 0;
}

static void
header(const struct big *b, uint64_t h[4])
{
	h[0] = MAGIC;
	h[1] = b->n;
	h[2] = b->digest;
	h[3] = b->pad;
}

/* Check a saved state's header against the instance's pad. */
static int
check_header(const struct big *b, const uint64_t h[4], size_t len, char *err,
    size_t errlen)
{
	if (h[0] != MAGIC || h[3] != b->pad || len != HEADER + b->pad) {
		snprintf(err, errlen,
		    "bigstate: not a state of this pad (%zu bytes)", len);
		return -1;
	}
	return 0;
}

static int
big_state_dict(void *self, void **buf, size_t *len, char *err, size_t errlen)
{
	struct big *b = self;
	uint64_t h[4];

	if ((*buf = malloc(HEADER + b->pad)) == NULL) {
		snprintf(err, errlen, "bigstate: out of memory");
		return -1;
	}
	header(b, h);
	memcpy(*buf, h, HEADER);
	memcpy((char *)*buf + HEADER, b->bytes, b->pad);
	*len = HEADER + b->pad;
	return 0;
}

static int
big_load_state_dict(
    void *self, const void *buf, size_t len, char *err, size_t errlen)
{
	struct big *b = self;
	uint64_t h[4] = { 0 };

	if (len >= HEADER)
		memcpy(h, buf, HEADER);
	if (check_header(b, h, len, err, errlen) != 0)
		return -1;
	b->n = h[1];
	b->digest = h[2];
	memcpy(b->bytes, (const char *)buf + HEADER, b->pad);
	return 0;
}

#ifndef BIGSTATE_ABI1
static int
big_save_file(void *self, const char *path, char *err, size_t errlen)
{
	struct big *b = self;
	FILE *f = fopen(path, "wbx");
	uint64_t h[4];
	int bad;

	if (f == NULL) {
		snprintf(
		    err, errlen, "bigstate: %s: %s", path, strerror(errno));
		return -1;
	}
	header(b, h);
	bad = fwrite(h, HEADER, 1, f) != 1 ||
	    fwrite(b->bytes, 1, b->pad, f) != b->pad;
	if (fclose(f) != 0 || bad) {
		snprintf(err, errlen, "bigstate: writing %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
big_load_file(void *self, const char *path, char *err, size_t errlen)
{
	struct big *b = self;
	FILE *f = fopen(path, "rb");
	unsigned char *bytes = malloc(b->pad + 1);
	uint64_t h[4] = { 0 };
	size_t len = 0;
	int rc = -1;

	if (f == NULL || bytes == NULL) {
		snprintf(err, errlen, "bigstate: %s: %s", path,
		    f == NULL ? strerror(errno) : "out of memory");
		goto out;
	}
	if (b->load_ms > 0)
		nap(b->load_ms);
	len = fread(h, 1, HEADER, f);
	len += fread(bytes, 1, b->pad + 1, f);
	if (check_header(b, h, len, err, errlen) != 0)
		goto out;
	b->n = h[1];
	b->digest = h[2];
	free(b->bytes);
	b->bytes = bytes;
	bytes = NULL;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(bytes);
	return rc;
}

#else
static int
trap(void *self, const char *path, char *err, size_t errlen)
{
	(void)self, (void)path, (void)err, (void)errlen;
	abort();
}
#endif

static const ig_plugin bigstate = {
#ifdef BIGSTATE_ABI1
	.abi_version = 1,
	.save_file = trap,
	.load_file = trap,
#else
	.abi_version = IG_PLUGIN_ABI_VERSION,
	.save_file = big_save_file,
	.load_file = big_load_file,
#endif
	.flags = IG_PLUGIN_BLOCKING,
	.name = "bigstate",
	.create = big_create,
	.process = big_process,
	.state_dict = big_state_dict,
	.load_state_dict = big_load_state_dict,
	.destroy = big_destroy,
};

const ig_plugin *
ignite_plugin_v1(void)
{
	return &bigstate;
}
