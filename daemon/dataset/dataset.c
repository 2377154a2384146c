/*
 * dataset.c - the table of data kinds the daemon opens.
 *
 * A new kind is its source, daemon/dataset/NAME.c, which defines its
 * struct dataset, and a line here; the spec's side is a line in the table
 * of kinds in proto/spec.c (docs/ARCHITECTURE.md, "Where to add").
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "dataset/dataset.h"

extern const struct dataset dataset_range, dataset_csv, dataset_msgpack;

static const struct dataset *const datasets[] = {
	&dataset_range,
	&dataset_csv,
	&dataset_msgpack,
};

const struct dataset *
dataset_find(int kind)
{
	const char *name = ig_data_kind_name(kind);

	for (size_t i = 0;
	     name != NULL && i < sizeof datasets / sizeof datasets[0]; i++) {
		if (strcmp(datasets[i]->kind, name) == 0)
			return datasets[i];
	}
	return NULL;
}

int
dataset_check_path(const char *path, ig_err *err)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "data.path: cannot open %s: %s", path, strerror(errno));
	close(fd);
	return 0;
}
