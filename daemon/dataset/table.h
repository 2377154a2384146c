/*
 * table.h - a numeric CSV file loaded into memory.
 *
 * The file may be plain or gzip-compressed (zlib tells them apart).  Fields
 * are separated by commas, without quoting; each is a number as strtod
 * reads it, surrounded by optional blanks.  Empty lines are skipped.  Every
 * line must have as many fields as the first.  Some files start with a
 * header line (column names, or as sklearn's iris.csv: counts and class
 * names); with header "auto" the first line is a header when one of its
 * fields is not a number.
 *
 * Columns are chosen by name (needs a header) or by 0-based index, negative
 * indices counting from the end ("-1" is the last column).  Error messages
 * say "PATH:LINE: column N: ..." with 1-based line and column numbers, as an
 * editor shows them.
 */
#ifndef IGNITED_DATASET_TABLE_H
#define IGNITED_DATASET_TABLE_H

#include <stddef.h>

#include "ignite/protocol.h"

enum header_mode {
	HEADER_AUTO = 0,
	HEADER_YES,
	HEADER_NO,
};

struct data_table_options {
	enum header_mode header;
	/* The label column (name or index), or NULL for none. */
	const char *label;
	/* Feature columns, comma-separated names or indices, in the order the
	 * features should have; NULL for every column but the label. */
	const char *columns;
};

/* Everything is owned by the table and released by data_table_free. */
struct data_table {
	size_t rows;
	size_t cols; /* feature columns */
	double *x; /* rows x cols, row-major */
	double *y; /* rows labels, or NULL without a label column */
	char **names; /* cols feature names, or NULL without a header */
};

/* Load path into t (which the caller then frees with data_table_free).  0,
 * or an IG_PROTO_* code with t left empty and err saying what is wrong
 * where. */
int data_table_load(struct data_table *t, const char *path,
    const struct data_table_options *o, ig_err *err);
void data_table_free(struct data_table *t);

/* 1 + the largest label when every label is a non-negative integer (the
 * class count a classifier needs), else 0; 0 without labels. */
size_t data_table_classes(const struct data_table *t);

#endif
