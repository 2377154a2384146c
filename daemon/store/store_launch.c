/*
 * store_launch.c - a run placed on a cluster: its workers' secret and its
 * scheduler's job id (runs/remote.c), in the table run_launch.
 */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

int
store_set_launch(
    struct store *s, int64_t run_id, const void *secret, const char *job)
{
	store_op *op;
	size_t used = 0;

	if (s->closing)
		return IG_PROTO_UNAVAILABLE;
	op = store_op_new(OP_LAUNCH, run_id, NULL, NULL,
	    STORE_SECRET_LEN + store_str_size(job));
	if (op == NULL)
		return IG_PROTO_INTERNAL;
	op->u.launch.secret =
	    store_op_put(op, &used, secret, STORE_SECRET_LEN, false);
	op->u.launch.job = store_op_put_str(op, &used, job);
	return store_enqueue(s, op);
}

/* Rare (a submission): prepared each time rather than kept. */
int
store_apply_launch(struct store *s, const store_op *op)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(s->db,
	         "INSERT OR REPLACE INTO run_launch (run_id, secret, job) "
	         "VALUES (?, ?, ?)",
	         -1, &st, NULL)) != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, op->run_id);
	sqlite3_bind_blob(
	    st, 2, op->u.launch.secret, STORE_SECRET_LEN, SQLITE_STATIC);
	store_bind_text(st, 3, op->u.launch.job);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int
store_get_launch(struct store_reader *r, int64_t run_id, unsigned char *secret,
    char *job, size_t joblen)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(r->db,
	         "SELECT secret, job FROM run_launch WHERE run_id = ?", -1, &st,
	         NULL)) != SQLITE_OK)
		return reader_fail(r, rc, "read a run's launch");
	sqlite3_bind_int64(st, 1, run_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == STORE_SECRET_LEN) {
		memcpy(secret, sqlite3_column_blob(st, 0), STORE_SECRET_LEN);
		snprintf(job, joblen, "%s",
		    (const char *)sqlite3_column_text(st, 1));
		rc = 0;
	} else {
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ?
		    IG_PROTO_NOT_FOUND :
		    reader_fail(r, rc, "read a run's launch");
	}
	sqlite3_finalize(st);
	return rc;
}
