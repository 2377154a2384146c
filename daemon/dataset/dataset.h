/*
 * dataset.h - the data sources a run spec names: range:N, csv:PATH and
 * msgpack:PATH, one file each, and their table (dataset.c).
 *
 * All are random access (ig_data_ops.size and get), so the engine can seek
 * on resume.  Opening reads and checks the whole file, so that a bad file
 * fails the run request, not iteration 10000.  Batches are views into a
 * buffer the source owns, valid until its next get.
 *
 * Params arrive as an ig_param array, the same form a process function's
 * params have; unknown keys are refused.
 *
 * Opening returns 0 or an IG_PROTO_* code with the error in an ig_err.  A
 * source's get keeps ig_data_ops' char buffer: that is engine.h's public
 * ABI, which data sources outside the daemon implement too.
 */
#ifndef IGNITED_DATASET_DATASET_H
#define IGNITED_DATASET_DATASET_H

#include <stddef.h>

#include "dataset/table.h"
#include "ignite/engine.h"
#include "ignite/plugin.h"
#include "ignite/spec.h"

/*
 * An opened source, not yet handed to an engine.  ig_data_new(ops, ctx)
 * takes ctx over; until then the holder releases it with ops->destroy(ctx).
 * An absent source (no validation split) has ops == NULL.
 */
struct data_source {
	const ig_data_ops *ops;
	void *ctx;
};

/*
 * A data kind the daemon opens, by its name in the spec (the table of kinds
 * in proto/spec.c says which keys its ig_spec_data holds).  Its source file
 * defines it; the table in dataset.c lists it.
 */
struct dataset {
	const char *kind;
	bool files; /* open reads files: it runs with the run owner's file
	             * access (job/job_owner.c) */
	/*
	 * Open d's source into *train, and *val when it holds out validation
	 * data.  Errors name the spec's field ("data.path: ...") and leave
	 * both absent.  Checks that need no file come before any open, and
	 * dataset_check_path before a parser's own messages.
	 */
	int (*open)(const ig_spec_data *d, struct data_source *train,
	    struct data_source *val, ig_err *err);
};

/* The source of data kind `kind`; NULL for none and worker, which have
 * no source in the daemon. */
const struct dataset *dataset_find(int kind);

/* Open path once, without blocking as a FIFO would: a missing or forbidden
 * file is reported against data.path.  What it holds, the parser judges. */
int dataset_check_path(const char *path, ig_err *err);

/*
 * csv:PATH, loaded once into memory (see table.h for the format).  Params:
 *
 *   header        true, false or "auto" (default)
 *   label         label column, a name or an index (-1: the last); none
 *                 by default, and then batches have no y
 *   columns       feature columns, "name,name" or "0,3,5" (default: all
 *                 but the label)
 *   batch_size    rows per batch (default 1, as PyTorch's DataLoader)
 *   drop_last     drop a last, short batch (default false)
 *   shuffle       train rows in a new order every pass (default false): a
 *                 pure function of (seed, pass), with the run's seed, or 0
 *                 when the run has none
 *   scale         a number: divide every feature by it (16 for the 8x8
 *                 digits, whose pixels are 0..16); or "standard": subtract
 *                 each feature's mean and divide by its standard deviation,
 *                 both over the train rows only
 *   val_fraction  in [0, 1): hold out this fraction of the rows, rounded,
 *                 as a validation source (default 0: none)
 *   split_seed    which rows are held out (default 0): the last
 *                 val_fraction of the permutation ig_shuffle_index gives
 *                 for (split_seed, pass 0), so the split is the same on
 *                 every open and every machine
 *
 * Train and validation rows each keep file order (unless shuffled); the
 * validation source is never shuffled.  On success *train is set, and *val
 * is set or absent; both share one table and may be freed in any order,
 * on one thread.
 */
int csv_open(const char *path, const ig_param *params, size_t n,
    struct data_source *train, struct data_source *val, ig_err *err);

/* The (scaled) table behind a csv source, borrowed; NULL if src is not one.
 * The daemon uses it for dataset-derived defaults (softmax's classes). */
const struct data_table *csv_source_table(const struct data_source *src);

/*
 * msgpack:PATH, a file of concatenated msgpack objects, one per batch.  A
 * batch's raw/raw_len is its object's bytes.  When the object is a map with
 * "x" (an array of rows, each an array of numbers, all of one length) and
 * optionally "y" (an array of numbers, one per row), the batch also has x,
 * y, rows and cols.  Params:
 *
 *   shuffle       visit the records in a new order every pass (default
 *                 false), from (seed, pass) as csv's shuffle
 *
 * The file is read and every record checked at open; errors name the
 * record number and its byte offset.
 */
int msgpack_source_open(const char *path, const ig_param *params, size_t n,
    struct data_source *out, ig_err *err);

#endif
