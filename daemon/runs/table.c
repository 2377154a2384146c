/*
 * table.c - the table of runs: every run the daemon knows, by id and by name.
 */
#include "runs/runs_int.h"

struct run *
runs_find(struct runs *mgr, int64_t id)
{
	for (size_t i = 0; i < mgr->n; i++)
		if (mgr->v[i]->id == id)
			return mgr->v[i];
	return NULL;
}

struct run *
runs_find_name(struct runs *mgr, const char *name, uid_t peer, size_t *named)
{
	struct run *any = NULL;

	*named = 0;
	for (size_t i = 0; i < mgr->n; i++) {
		struct run *run = mgr->v[i];
		if (run->name[0] == '\0' || strcmp(run->name, name) != 0)
			continue;
		if (run->owner == peer)
			return run;
		any = run;
		(*named)++;
	}
	return *named == 1 ? any : NULL;
}

int
runs_add(struct runs *mgr, struct run *run)
{
	if (mgr->n == mgr->cap) {
		size_t cap = mgr->cap ? mgr->cap * 2 : 16;
		struct run **v = realloc(mgr->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		mgr->v = v;
		mgr->cap = cap;
	}
	mgr->v[mgr->n++] = run;
	return 0;
}

void
runs_remove(struct runs *mgr, struct run *run)
{
	for (size_t i = 0; i < mgr->n; i++)
		if (mgr->v[i] == run) {
			memmove(&mgr->v[i], &mgr->v[i + 1],
			    (mgr->n - i - 1) * sizeof(*mgr->v));
			mgr->n--;
			return;
		}
}

size_t
runs_count(const struct runs *mgr, int status)
{
	size_t n = 0;

	for (size_t i = 0; i < mgr->n; i++)
		n += mgr->v[i]->status == status;
	return n;
}
