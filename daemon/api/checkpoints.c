/*
 * checkpoints.c - the checkpoints method: a run's committed checkpoints,
 * oldest first, and why each is kept (docs/PROTOCOL.md, "checkpoints").
 */
#include <math.h>
#include <stdlib.h>

#include "api/api_int.h"
#include "runs/run.h"

struct ckpt_list {
	int64_t id;
	const ig_spec_checkpoint *pol; /* NULL: a run whose spec is lost */
	struct store_checkpoint *v; /* newest first, as the store reads them */
	size_t n;
};

/* Is v[i] among the pol->best_n best by score, ties to the newest, as the
 * store's retention ranks them? */
static bool
among_best(const struct ckpt_list *l, size_t i)
{
	double sign = l->pol->best_mode == IG_MODE_MIN ? -1 : 1;
	int64_t better = 0;

	if (l->pol->best_metric[0] == '\0' || isnan(l->v[i].score))
		return false;
	for (size_t j = 0; j < l->n; j++)
		if (!isnan(l->v[j].score) &&
		    (l->v[j].score * sign > l->v[i].score * sign ||
		        (l->v[j].score == l->v[i].score &&
		            l->v[j].seq > l->v[i].seq)))
			better++;
	return better < l->pol->best_n;
}

static void
pack_checkpoints(msgpack_packer *pk, void *arg)
{
	const struct ckpt_list *l = arg;

	msgpack_pack_map(pk, 2);
	ig_pack_str(pk, "id");
	msgpack_pack_int64(pk, l->id);
	ig_pack_str(pk, "checkpoints");
	msgpack_pack_array(pk, l->n);
	for (size_t k = l->n; k-- > 0;) {
		const struct store_checkpoint *c = &l->v[k];
		ig_ckpt_info info = {
			.iteration = c->iteration,
			.epoch = c->epoch,
			.size = c->file != NULL ?
			    c->file_size :
			    (int64_t)(c->state_dict_len + c->process_state_len),
			.time = c->wall,
			.score = c->score,
			.file = (char *)c->file, /* only read by pack */
			.last = l->pol != NULL && (int64_t)k < l->pol->n_saved,
			.best = l->pol != NULL && among_best(l, k),
		};
		ig_ckpt_info_pack(pk, &info);
	}
}

void
api_checkpoints(struct api_call *c)
{
	struct run *run = api_find_run(c, NULL, 0);
	struct store_reader *r = store_loop_reader(c->mgr->store);
	struct ckpt_list l = { 0 };

	if (run == NULL)
		return;
	if (store_list_checkpoints(r, run->id, &l.v, &l.n) != 0) {
		server_error(c->conn, c->msgid, IG_PROTO_INTERNAL,
		    "reading its checkpoints: %s", store_reader_error(r));
		return;
	}
	l.id = run->id;
	l.pol = run->spec != NULL ? &run->spec->checkpoint : NULL;
	server_reply(c->conn, c->msgid, pack_checkpoints, &l);
	for (size_t i = 0; i < l.n; i++)
		store_checkpoint_clear(&l.v[i]);
	free(l.v);
}
