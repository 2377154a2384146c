/*
 * history.h - metric history read off the loop: on libuv's threadpool,
 * through a read connection of its own, one read at a time, in order.
 * A page of a long history takes SQLite tens of milliseconds, which the
 * engines and every other client would otherwise wait out.
 *
 * A client reading a history page by page asks for the next page as soon
 * as it has the last: the next page of a run that no longer changes can be
 * read ahead meanwhile, and a read of the same query takes that result.
 */
#ifndef IGNITED_HISTORY_H
#define IGNITED_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "store/store.h"

struct history;

/* A read connection on the database at path.  NULL with the error in err. */
struct history *history_open(uv_loop_t *loop, const char *path, ig_err *err);

/* Close.  Reads waiting their turn are answered with an error; one on the
 * threadpool finishes first, and its answer is dropped. */
void history_close(struct history *h);

/* What a pack function made of a read: bytes[head, head + len) of a
 * malloc'd buffer, and a number. */
struct history_packed {
	char *bytes;
	size_t head, len;
	int64_t next;
};

/*
 * Run on the threadpool after a successful read, on its series: the
 * caller's answer packed there, so that the loop only writes it.  0, or
 * an error code with err set.
 */
struct history_pack;
typedef int history_pack_fn(const struct store_query *q,
    const struct history_pack *pack, const struct store_series_data *series,
    size_t n, struct history_packed *out, ig_err *err);

/* A pack function and what it takes beyond the query. */
struct history_pack {
	history_pack_fn *fn; /* NULL: nothing packed */
	size_t page;
	double started;
};

/*
 * The answer to a read: err NULL and the series (the callback owns them:
 * store_series_free()) with what the pack made of them (packed->bytes
 * the callback's to free; NULL bytes without a pack), or the error, valid
 * during the call.
 */
typedef void history_done_fn(void *arg, const ig_err *err,
    struct store_series_data *series, size_t n, struct history_packed *packed);

/*
 * Read q (copied, names too), pack it with pack (copied; NULL: none) and
 * answer done(arg, ...) on the loop, once, an error too.  A result read
 * ahead for the same query and pack is taken instead, or the copy fails
 * for want of memory; then done runs before this returns.
 */
void history_read(struct history *h, const struct store_query *q,
    const struct history_pack *pack, history_done_fn *done, void *arg);

/* Read and pack q ahead, for a history_read of the same query soon (in a
 * few seconds; then it is dropped).  One query is kept: the latest. */
void history_read_ahead(struct history *h, const struct store_query *q,
    const struct history_pack *pack);

/* Drop what was read ahead of run_id: its history is changing. */
void history_forget(struct history *h, int64_t run_id);

#endif
