/*
 * spec.c - the run spec `ignitectl run` sends: a JSON file, flags over it.
 *
 * The spec is built as JSON and checked by the daemon, whose messages name
 * the field; here we only turn flags into keys and make paths absolute,
 * since the daemon's working directory is not ours.
 *
 * Flag syntax (docs/ignitectl.1):
 *   --param KEY[:TYPE]=VALUE            TYPE int, float, bool, str; else
 *                                       guessed in that order
 *   --metric NAME=KIND[:FIELD[:TARGET]][,KEY=VALUE]...
 *   --handler EVENT[,FILTER=N]...:ACTION[,ARG=VALUE]...
 * Scalar flags replace the file's value; --param sets one parameter;
 * --metric replaces the file's metric of that name or adds one; --handler
 * adds a handler.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ignite/spec.h"
#include "ignitectl.h"

enum vtype {
	V_GUESS,
	V_INT,
	V_FLOAT,
	V_BOOL,
	V_STR
};

/* The type of each KEY=VALUE a metric or handler takes; others are
 * strings. */
static const struct {
	const char *key;
	enum vtype type;
} arg_types[] = {
	{ "every", V_INT },
	{ "once", V_INT },
	{ "before", V_INT },
	{ "after", V_INT },
	{ "patience", V_INT },
	{ "alpha", V_FLOAT },
	{ "threshold", V_FLOAT },
	{ "min_delta", V_FLOAT },
};

static enum vtype
arg_type(const char *key)
{
	for (size_t i = 0; i < sizeof arg_types / sizeof arg_types[0]; i++)
		if (strcmp(arg_types[i].key, key) == 0)
			return arg_types[i].type;
	return V_STR;
}

/* A typed value from text; NULL when s is not of that type. */
static json_t *
typed(enum vtype t, const char *s)
{
	char *end;
	long long i;
	double d;

	if ((t == V_GUESS || t == V_BOOL) && strcmp(s, "true") == 0)
		return json_true();
	if ((t == V_GUESS || t == V_BOOL) && strcmp(s, "false") == 0)
		return json_false();
	if (t == V_GUESS || t == V_INT) {
		errno = 0;
		i = strtoll(s, &end, 10);
		if (end != s && *end == '\0' && errno == 0)
			return json_integer(i);
	}
	if (t == V_GUESS || t == V_FLOAT) {
		errno = 0;
		d = strtod(s, &end);
		if (end != s && *end == '\0' && errno == 0 && isfinite(d))
			return json_real(d);
	}
	if (t == V_GUESS || t == V_STR)
		return json_string(s);
	return NULL;
}

static const char *const vtype_names[] = { "", "an integer", "a finite number",
	"true or false", "a string" };

/* base/p unless p is absolute; malloc'd. */
static char *
abs_path(const char *base, const char *p)
{
	char *out;

	if (p[0] == '/' || base == NULL)
		return strdup(p);
	if ((out = malloc(strlen(base) + strlen(p) + 2)) != NULL)
		sprintf(out, "%s/%s", base, p);
	return out;
}

static int
oom(ig_err *err)
{
	return ig_err_set(err, CTL_ELOCAL, "out of memory");
}

/* Set o[key] = v (stolen). */
static int
set(json_t *o, const char *key, json_t *v, ig_err *err)
{
	return v == NULL || json_object_set_new(o, key, v) != 0 ? oom(err) : 0;
}

/* Does "KIND:..." of a data or engine str take a path? */
static bool
data_path(const char *kind, size_t len)
{
	return ig_data_kind_form(ig_data_kind_find(kind, len)) ==
	    IG_DATA_FORM_PATH;
}

static bool
engine_path(const char *kind, size_t len)
{
	return len == strlen("plugin") && strncmp(kind, "plugin", len) == 0;
}

/* "csv:PATH" and "plugin:PATH" with PATH absolute; others as they are. */
static int
abs_prefixed(json_t *o, const char *key, bool (*is_path)(const char *, size_t),
    const char *base, ig_err *err)
{
	json_t *v = json_object_get(o, key);
	const char *s, *colon;
	char *p, *full;
	int rc;

	if (!json_is_string(v) ||
	    (colon = strchr(s = json_string_value(v), ':')) == NULL ||
	    !is_path(s, (size_t)(colon - s)))
		return 0;
	if ((p = abs_path(base, colon + 1)) == NULL)
		return oom(err);
	if ((full = malloc(strlen(p) + (size_t)(colon - s) + 2)) == NULL) {
		free(p);
		return oom(err);
	}
	sprintf(full, "%.*s:%s", (int)(colon - s), s, p);
	rc = set(o, key, json_string(full), err);
	free(full);
	free(p);
	return rc;
}

/* Make the spec's data and plugin paths absolute against base. */
static int
abs_paths(json_t *spec, const char *base, ig_err *err)
{
	json_t *data, *path;
	char *p;
	int rc;

	if ((rc = abs_prefixed(spec, "data", data_path, base, err)) != 0 ||
	    (rc = abs_prefixed(spec, "engine", engine_path, base, err)) != 0)
		return rc;
	/* Only now: a data string was just replaced. */
	data = json_object_get(spec, "data");
	if (!json_is_object(data) ||
	    !json_is_string(path = json_object_get(data, "path")))
		return 0;
	if ((p = abs_path(base, json_string_value(path))) == NULL)
		return oom(err);
	rc = set(data, "path", json_string(p), err);
	free(p);
	return rc;
}

/*
 * An exec worker runs where the user asked it from, as sbatch runs a job in
 * the directory it was submitted from: worker.cwd defaults to ours, and a
 * relative one is made absolute against base.  The daemon checks that the
 * run's owner may enter it.
 */
static int
worker_cwd(json_t *spec, const char *base, const char *cwd, ig_err *err)
{
	json_t *engine = json_object_get(spec, "engine"), *worker, *dir;
	char *p;
	int rc;

	if (!json_is_array(engine) &&
	    !(json_is_string(engine) &&
	        strncmp(json_string_value(engine), "exec:", 5) == 0))
		return 0;
	if ((worker = json_object_get(spec, "worker")) == NULL &&
	    set(spec, "worker", worker = json_object(), err) != 0)
		return oom(err);
	if (!json_is_object(worker))
		return 0; /* the daemon says what is wrong with it */
	if ((dir = json_object_get(worker, "cwd")) == NULL)
		return cwd != NULL ? set(worker, "cwd", json_string(cwd), err) :
		                     0;
	if (!json_is_string(dir))
		return 0;
	if ((p = abs_path(base, json_string_value(dir))) == NULL)
		return oom(err);
	rc = set(worker, "cwd", json_string(p), err);
	free(p);
	return rc;
}

/* A JSON object from a file, with errors naming file, line and column. */
static int
load_object(const char *path, const char *what, json_t **out, ig_err *err)
{
	json_error_t je;

	if ((*out = json_load_file(path, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return ig_err_set(err, CTL_EUSAGE, "%s %s:%d:%d: %s", what,
		    path, je.line, je.column, je.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return ig_err_set(err, CTL_EUSAGE,
		    "%s %s: expected a JSON "
		    "object",
		    what, path);
	}
	return 0;
}

/* o[key], an object, made when absent. */
static json_t *
child(json_t *o, const char *key, ig_err *err)
{
	json_t *c = json_object_get(o, key);

	if (json_is_object(c))
		return c;
	if (set(o, key, json_object(), err) != 0)
		return NULL;
	return json_object_get(o, key);
}

/* o[key], an array, made when absent. */
static json_t *
list(json_t *o, const char *key, ig_err *err)
{
	json_t *a = json_object_get(o, key);

	if (json_is_array(a))
		return a;
	if (set(o, key, json_array(), err) != 0)
		return NULL;
	return json_object_get(o, key);
}

/* --param KEY[:TYPE]=VALUE */
static int
flag_param(json_t *spec, const char *arg, ig_err *err)
{
	static const char *const types[] = { "", "int", "float", "bool",
		"str" };
	const char *eq = strchr(arg, '='), *colon;
	enum vtype t = V_GUESS;
	json_t *params, *v;
	char key[IG_NAME_MAX + 1];
	size_t klen;

	if (eq == NULL || eq == arg)
		return ig_err_set(err, CTL_EUSAGE,
		    "--param %s: expected "
		    "KEY[:TYPE]=VALUE",
		    arg);
	colon = memchr(arg, ':', (size_t)(eq - arg));
	klen = (size_t)((colon != NULL ? colon : eq) - arg);
	if (klen > IG_NAME_MAX)
		return ig_err_set(err, CTL_EUSAGE,
		    "--param %s: key longer than "
		    "%d characters",
		    arg, IG_NAME_MAX);
	memcpy(key, arg, klen);
	key[klen] = '\0';
	if (colon != NULL) {
		size_t tlen = (size_t)(eq - colon - 1);
		for (t = V_INT; t <= V_STR; t++)
			if (strlen(types[t]) == tlen &&
			    strncmp(types[t], colon + 1, tlen) == 0)
				break;
		if (t > V_STR)
			return ig_err_set(err, CTL_EUSAGE,
			    "--param %s: type must "
			    "be int, float, bool or str",
			    arg);
	}
	if ((v = typed(t, eq + 1)) == NULL)
		return ig_err_set(err, CTL_EUSAGE, "--param %s: expected %s",
		    arg, vtype_names[t]);
	if ((params = child(spec, "params", err)) == NULL) {
		json_decref(v);
		return err->code;
	}
	return set(params, key, v, err);
}

/* --tag KEY=VALUE: a str, as it is; the daemon checks KEY and VALUE. */
static int
flag_tag(json_t *spec, const char *arg, ig_err *err)
{
	const char *eq = strchr(arg, '=');
	char key[IG_NAME_MAX + 1];
	json_t *tags, *v;

	if (eq == NULL || eq == arg)
		return ig_err_set(
		    err, CTL_EUSAGE, "--tag %s: expected KEY=VALUE", arg);
	if ((size_t)(eq - arg) > IG_NAME_MAX)
		return ig_err_set(err, CTL_EUSAGE,
		    "--tag %s: key longer than %d characters", arg,
		    IG_NAME_MAX);
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	if ((tags = child(spec, "tags", err)) == NULL)
		return err->code;
	if ((v = json_string(eq + 1)) == NULL)
		return ig_err_set(
		    err, CTL_EUSAGE, "--tag %s: the value is not UTF-8", arg);
	return set(tags, key, v, err);
}

/* --slurm KEY=VALUE: placement.slurm's KEY; numbers as numbers but for
 * mem and time, which are Slurm's strings even when digits alone (time=120,
 * mem=4000); extra_args=OPT appends OPT (repeatable); the daemon checks the
 * keys. */
static int
flag_slurm(json_t *spec, const char *arg, ig_err *err)
{
	const char *eq = strchr(arg, '=');
	char key[64];
	json_t *slurm, *v;

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(key))
		return ig_err_set(err, CTL_EUSAGE,
		    "--slurm %s: expected KEY=VALUE (partition=gpu, time=60, "
		    "extra_args=--exclusive)",
		    arg);
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	if ((slurm = child(spec, "placement", err)) == NULL ||
	    (slurm = child(slurm, "slurm", err)) == NULL)
		return err->code;
	if (strcmp(key, "extra_args") == 0) {
		json_t *a = list(slurm, key, err);
		if (a == NULL)
			return err->code;
		if (json_array_append_new(a, json_string(eq + 1)) != 0)
			return ig_err_set(err, CTL_EUSAGE,
			    "--slurm %s: the value is not UTF-8", arg);
		return CTL_OK;
	}
	if ((strcmp(key, "mem") == 0 || strcmp(key, "time") == 0 ||
	        (v = typed(V_INT, eq + 1)) == NULL) &&
	    (v = json_string(eq + 1)) == NULL)
		return ig_err_set(
		    err, CTL_EUSAGE, "--slurm %s: the value is not UTF-8", arg);
	return set(slurm, key, v, err);
}

/*
 * Split s at each sep into a malloc'd copy with NULs; fields[] point into
 * it.  Returns the number of fields, or -1 when there are more than max.
 */
static int
split(const char *s, char sep, char **copy, char **fields, int max)
{
	int n = 0;
	char *p;

	if ((*copy = p = strdup(s)) == NULL)
		return -1;
	for (;;) {
		if (n == max)
			return -1;
		fields[n++] = p;
		if ((p = strchr(p, sep)) == NULL)
			return n;
		*p++ = '\0';
	}
}

/* KEY=VALUE items into o, typed by arg_types; a repeated once makes a
 * list. */
static int
set_args(json_t *o, char **items, int n, const char *flag, const char *arg,
    ig_err *err)
{
	for (int i = 0; i < n; i++) {
		char *eq = strchr(items[i], '=');
		json_t *v, *prev;
		enum vtype t;

		if (eq == NULL || eq == items[i])
			return ig_err_set(err, CTL_EUSAGE,
			    "%s %s: expected "
			    "KEY=VALUE, got \"%s\"",
			    flag, arg, items[i]);
		*eq = '\0';
		t = arg_type(items[i]);
		if ((v = typed(t, eq + 1)) == NULL)
			return ig_err_set(err, CTL_EUSAGE,
			    "%s %s: %s expects %s", flag, arg, items[i],
			    vtype_names[t]);
		prev = json_object_get(o, items[i]);
		if (prev != NULL && strcmp(items[i], "once") == 0) {
			if (json_is_integer(prev)) {
				json_t *a = json_pack("[O]", prev);
				if (set(o, items[i], a, err) != 0) {
					json_decref(v);
					return err->code;
				}
				prev = a;
			}
			if (json_array_append_new(prev, v) != 0)
				return oom(err);
			continue;
		}
		if (set(o, items[i], v, err) != 0)
			return err->code;
	}
	return 0;
}

#define MAX_ITEMS 32

/* --metric NAME=KIND[:FIELD[:TARGET]][,KEY=VALUE]... */
static int
flag_metric(json_t *spec, const char *arg, ig_err *err)
{
	static const char *const slots[] = { "kind", "field", "target" };
	char *copy = NULL, *items[MAX_ITEMS], *parts[4], *eq;
	json_t *m = NULL, *metrics, *old;
	int n, np, rc;
	size_t i;

	if ((n = split(arg, ',', &copy, items, MAX_ITEMS)) < 0 ||
	    (eq = strchr(items[0], '=')) == NULL || eq == items[0] ||
	    eq[1] == '\0') {
		rc = copy == NULL ?
		    oom(err) :
		    ig_err_set(err, CTL_EUSAGE,
		        "--metric %s: expected NAME=KIND[:FIELD[:TARGET]]"
		        "[,KEY=VALUE]...",
		        arg);
		goto out;
	}
	*eq = '\0';
	/* kind:field:target, split in place after the '='. */
	np = 0;
	for (char *p = eq + 1; p != NULL && np < 4; np++) {
		parts[np] = p;
		if ((p = strchr(p, ':')) != NULL)
			*p++ = '\0';
	}
	if (np > 3 || parts[np - 1][0] == '\0') {
		rc = ig_err_set(err, CTL_EUSAGE,
		    "--metric %s: expected at most "
		    "KIND:FIELD:TARGET after the name",
		    arg);
		goto out;
	}
	if ((m = json_pack("{ss}", "name", items[0])) == NULL) {
		rc = oom(err);
		goto out;
	}
	for (int k = 0; k < np; k++)
		if ((rc = set(m, slots[k], json_string(parts[k]), err)) != 0)
			goto out;
	if ((rc = set_args(m, items + 1, n - 1, "--metric", arg, err)) != 0 ||
	    (metrics = list(spec, "metrics", err)) == NULL) {
		rc = err->code;
		goto out;
	}
	json_array_foreach(
	    metrics, i, old) if (json_equal(json_object_get(old, "name"),
	                             json_object_get(m, "name"))) break;
	rc = (i < json_array_size(metrics) ?
	             json_array_set(metrics, i, m) :
	             json_array_append(metrics, m)) != 0 ?
	    oom(err) :
	    0;
out:
	json_decref(m);
	free(copy);
	return rc;
}

/* --handler EVENT[,FILTER=N]...:ACTION[,ARG=VALUE]... */
static int
flag_handler(json_t *spec, const char *arg, ig_err *err)
{
	char *ecopy = NULL, *acopy = NULL, *ev[MAX_ITEMS], *ac[MAX_ITEMS];
	const char *colon = strchr(arg, ':');
	json_t *h = NULL, *handlers;
	int ne, na, rc;
	char *event;

	if (colon == NULL || colon == arg || colon[1] == '\0' ||
	    colon[1] == ',') {
		rc = ig_err_set(err, CTL_EUSAGE,
		    "--handler %s: expected "
		    "EVENT[,FILTER=N]...:ACTION[,ARG=VALUE]...",
		    arg);
		goto out;
	}
	if ((event = strndup(arg, (size_t)(colon - arg))) == NULL) {
		rc = oom(err);
		goto out;
	}
	ne = split(event, ',', &ecopy, ev, MAX_ITEMS);
	free(event);
	na = split(colon + 1, ',', &acopy, ac, MAX_ITEMS);
	if (ne < 0 || na < 0) {
		rc = ecopy == NULL || acopy == NULL ?
		    oom(err) :
		    ig_err_set(err, CTL_EUSAGE,
		        "--handler %s: more than %d "
		        "items",
		        arg, MAX_ITEMS - 1);
		goto out;
	}
	if ((h = json_pack("{ssss}", "event", ev[0], "action", ac[0])) ==
	    NULL) {
		rc = oom(err);
		goto out;
	}
	if ((rc = set_args(h, ev + 1, ne - 1, "--handler", arg, err)) != 0 ||
	    (rc = set_args(h, ac + 1, na - 1, "--handler", arg, err)) != 0)
		goto out;
	if ((handlers = list(spec, "handlers", err)) == NULL) {
		rc = err->code;
		goto out;
	}
	rc = json_array_append(handlers, h) != 0 ? oom(err) : 0;
out:
	json_decref(h);
	free(ecopy);
	free(acopy);
	return rc;
}

/* data as a map, for the data options: "csv:P" -> {kind: csv, path: P}. */
static json_t *
data_map(json_t *spec, const char *flag, ig_err *err)
{
	json_t *data = json_object_get(spec, "data"), *m;
	const char *s, *colon;

	if (json_is_object(data))
		return data;
	if (!json_is_string(data)) {
		ig_err_set(err, CTL_EUSAGE,
		    "--%s needs --data (or data in "
		    "the spec file)",
		    flag);
		return NULL;
	}
	s = json_string_value(data);
	if ((colon = strchr(s, ':')) == NULL)
		m = json_pack("{ss}", "kind", s);
	else if (ig_data_kind_form(ig_data_kind_find(s, (size_t)(colon - s))) ==
	    IG_DATA_FORM_COUNT)
		m = json_pack("{ss#so}", "kind", s, (int)(colon - s), "n",
		    typed(V_GUESS, colon + 1));
	else
		m = json_pack(
		    "{ss#ss}", "kind", s, (int)(colon - s), "path", colon + 1);
	if (set(spec, "data", m, err) != 0)
		return NULL;
	return m;
}

/* How each flag lands in the spec. */
enum fkind {
	F_STR,
	F_INT,
	F_FLOAT,
	F_TRUE,
	F_FALSE,
	F_PARAM,
	F_METRIC,
	F_HANDLER,
	F_TAG,
	F_SLURM
};
static const struct {
	const char *flag;
	const char *parent; /* NULL: the spec; "data": data as a map */
	const char *key;
	enum fkind kind;
} flag_table[] = {
	{ "engine", NULL, "engine", F_STR },
	{ "name", NULL, "name", F_STR },
	{ "data", NULL, "data", F_STR },
	{ "max-epochs", NULL, "max_epochs", F_INT },
	{ "epoch-length", NULL, "epoch_length", F_INT },
	{ "seed", NULL, "seed", F_INT },
	{ "checkpoint-every", "checkpoint", "every", F_INT },
	{ "checkpoint-seconds", "checkpoint", "seconds", F_FLOAT },
	{ "gpus", "resources", "gpus", F_INT },
	{ "cpus", "resources", "cpus", F_INT },
	{ "priority", NULL, "priority", F_INT },
	{ "preemptible", NULL, "preemptible", F_TRUE },
	{ "param", NULL, NULL, F_PARAM },
	{ "metric", NULL, NULL, F_METRIC },
	{ "handler", NULL, NULL, F_HANDLER },
	{ "tag", NULL, NULL, F_TAG },
	{ "slurm", NULL, NULL, F_SLURM },
	/* After all of the above: they turn data into a map. */
	{ "batch-size", "data", "batch_size", F_INT },
	{ "shuffle", "data", "shuffle", F_TRUE },
	{ "no-header", "data", "header", F_FALSE },
	{ "split", "data", "split", F_FLOAT },
	{ "label", "data", "label", F_STR },
};
#define NFLAGS (sizeof flag_table / sizeof flag_table[0])

static int
apply(json_t *spec, size_t t, const char *value, ig_err *err)
{
	json_t *o = spec, *v;
	enum vtype vt;

	switch (flag_table[t].kind) {
	case F_PARAM:
		return flag_param(spec, value, err);
	case F_METRIC:
		return flag_metric(spec, value, err);
	case F_HANDLER:
		return flag_handler(spec, value, err);
	case F_TAG:
		return flag_tag(spec, value, err);
	case F_SLURM:
		return flag_slurm(spec, value, err);
	default:
		break;
	}
	if (flag_table[t].parent != NULL) {
		o = strcmp(flag_table[t].parent, "data") == 0 ?
		    data_map(spec, flag_table[t].flag, err) :
		    child(spec, flag_table[t].parent, err);
		if (o == NULL)
			return err->code;
	}
	switch (flag_table[t].kind) {
	case F_INT:
	case F_FLOAT:
		vt = flag_table[t].kind == F_INT ? V_INT : V_FLOAT;
		if ((v = typed(vt, value)) == NULL)
			return ig_err_set(err, CTL_EUSAGE,
			    "--%s %s: expected %s", flag_table[t].flag, value,
			    vtype_names[vt]);
		break;
	case F_TRUE:
	case F_FALSE:
		v = json_boolean(flag_table[t].kind == F_TRUE);
		break;
	default:
		/* A label is a column index when it is a number. */
		v = strcmp(flag_table[t].key, "label") == 0 ?
		    typed(V_GUESS, value) :
		    json_string(value);
		break;
	}
	return set(o, flag_table[t].key, v, err);
}

int
spec_build(const char *spec_path, const struct spec_flag *flags, size_t nflags,
    const char *state_path, const char *cwd, json_t **out, ig_err *err)
{
	json_t *spec = NULL, *state;
	char *dir = NULL, *slash;
	int rc;

	*out = NULL;
	if (spec_path != NULL) {
		if ((rc = load_object(spec_path, "--spec", &spec, err)) != 0)
			return rc;
		/* A file's relative paths are relative to the file. */
		if ((dir = abs_path(cwd, spec_path)) == NULL) {
			rc = oom(err);
			goto fail;
		}
		slash = strrchr(dir, '/');
		*(slash == dir ? slash + 1 : slash) = '\0';
		if ((rc = abs_paths(spec, dir, err)) != 0)
			goto fail;
	} else if ((spec = json_object()) == NULL) {
		return oom(err);
	}
	/* In table order, so that the data options apply to the final
	 * --data; a later flag of the same name wins. */
	for (size_t t = 0; t < NFLAGS; t++)
		for (size_t i = 0; i < nflags; i++) {
			if (strcmp(flags[i].key, flag_table[t].flag) != 0)
				continue;
			if ((rc = apply(spec, t, flags[i].value, err)) != 0)
				goto fail;
			if (strcmp(flag_table[t].flag, "data") == 0 ||
			    strcmp(flag_table[t].flag, "engine") == 0)
				if ((rc = abs_paths(spec, cwd, err)) != 0)
					goto fail;
		}
	if ((rc = worker_cwd(spec, dir != NULL ? dir : cwd, cwd, err)) != 0)
		goto fail;
	if (state_path != NULL) {
		if ((rc = load_object(
		         state_path, "--from-state", &state, err)) != 0)
			goto fail;
		if ((rc = set(spec, "state_dict", state, err)) != 0)
			goto fail;
	}
	free(dir);
	*out = spec;
	return 0;
fail:
	free(dir);
	json_decref(spec);
	return rc;
}
