/*
 * decode.c - large frames, on the threadpool.
 *
 * A frame of CONN_DEFER bytes or more takes long to decode (a 16 MiB one
 * about half a second): its connection stops reading, and two steps run
 * off the loop, decode, then (once the method has run on the loop) the
 * release of the frame's memory, which for a large one takes a while too.
 * Meanwhile the loop leaves conn->dec alone.  At most MAX_DECODING run at
 * once, in the order connections asked.
 */
#include "server/server_int.h"

#define MAX_DECODING 2u /* of the threadpool's 4 threads */

static void
work_decode(uv_work_t *req)
{
	struct server_conn *conn = req->data;

	conn->decode_rc = ig_decoder_decode(conn->dec, &conn->msg);
}

static void
work_release(uv_work_t *req)
{
	struct server_conn *conn = req->data;

	ig_decoder_release(conn->dec);
}

static void after_decode(uv_work_t *req, int status);
static void after_release(uv_work_t *req, int status);

/* Start waiting decodes while fewer than MAX_DECODING run; one whose
 * connection closed meanwhile is only released. */
void
decode_next(struct server *srv)
{
	struct server_conn *conn;

	while (srv->decoding < MAX_DECODING &&
	    (conn = srv->decode_first) != NULL) {
		if ((srv->decode_first = conn->decode_next) == NULL)
			srv->decode_last = NULL;
		srv->decoding++;
		conn->work.data = conn;
		/* fails only without a work callback */
		if (conn->closing)
			uv_queue_work(srv->loop, &conn->work, work_release,
			    after_release);
		else
			uv_queue_work(
			    srv->loop, &conn->work, work_decode, after_decode);
	}
}

/* conn's decoder holds a whole large frame: stop reading until it is
 * decoded and dispatched, in the order connections asked. */
void
decode_later(struct server_conn *conn)
{
	struct server *srv = conn->srv;

	conn->decode_held = ig_decoder_buffered(conn->dec);
	conn->decoding = true;
	server_conn_ref(conn);
	uv_read_stop((uv_stream_t *)&conn->pipe);
	conn->decode_next = NULL;
	if (srv->decode_last != NULL)
		srv->decode_last->decode_next = conn;
	else
		srv->decode_first = conn;
	srv->decode_last = conn;
	decode_next(srv);
}

static void
after_decode(uv_work_t *req, int status)
{
	struct server_conn *conn = req->data;

	(void)status; /* never cancelled */
	if (!conn->closing) {
		conn->dispatching = true;
		if (conn->decode_rc == IG_DECODE_ERROR)
			conn_fail_stream(conn, ig_decoder_error(conn->dec));
		else
			conn_dispatch(conn, &conn->msg);
		conn->dispatching = false;
		conn_flush(conn);
	}
	uv_queue_work(
	    conn->srv->loop, &conn->work, work_release, after_release);
}

static void
after_release(uv_work_t *req, int status)
{
	struct server_conn *conn = req->data;
	struct server *srv = conn->srv;

	(void)status;
	srv->decoding--;
	conn->decoding = false;
	decode_next(srv);
	if (!conn->closing) {
		conn_feed(conn, conn->rest, conn->nrest);
		conn_read_again(conn);
	}
	/* may free srv */
	conn_maybe_gone(conn);
	server_conn_unref(conn);
}
