/*
 * test_spec.c - the run spec reader: a full spec, the short forms, the
 * canonical form, and one rejection per wrong field, naming its path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ignite/spec.h"
#include "testutil.h"

static int
setup(void **state)
{
	*state = msgpack_zone_new(4096);
	return *state == NULL;
}

static int
teardown(void **state)
{
	msgpack_zone_free(*state);
	return 0;
}

static const char full[] =
    "{'engine': 'exec:python3  -u\tworker.py', 'name': 'mnist-1',"
    " 'params': {'lr': 0.1, 'layers': 3, 'opt': 'sgd', 'nesterov': true},"
    " 'data': {'kind': 'csv', 'path': '/data/digits.csv', 'batch_size': 32,"
    "   'shuffle': true, 'columns': ['a', 2], 'label': 'target',"
    "   'header': false, 'split': 0.2, 'scale': 16},"
    " 'max_epochs': 10, 'epoch_length': 100, 'seed': 0,"
    " 'metrics': [{'name': 'loss', 'kind': 'loss', 'field': 'loss'},"
    "   {'name': 'acc', 'kind': 'accuracy', 'split': 'val', 'threshold': 0.5},"
    "   {'name': 'ra', 'kind': 'running_average', 'field': 'loss', 'alpha': 0.9}],"
    " 'handlers': [{'event': 'EPOCH_COMPLETED', 'every': 2, 'action': 'log',"
    "     'message': 'epoch done'},"
    "   {'event': 'ITERATION_COMPLETED', 'once': [5, 10], 'action': 'checkpoint'},"
    "   {'event': 'EPOCH_COMPLETED', 'action': 'early_stopping', 'metric': 'acc',"
    "     'patience': 3, 'mode': 'max', 'min_delta': 0.01},"
    "   {'event': 'ITERATION_COMPLETED', 'action': 'terminate_on_nan', 'field': 'loss'},"
    "   {'event': 'EPOCH_COMPLETED', 'after': 0, 'before': 9, 'action': 'evaluate'},"
    "   {'event': 'TERMINATE', 'action': 'terminate'}],"
    " 'checkpoint': {'every': 1000, 'seconds': 30, 'epoch_completed': false,"
    "   'n_saved': 3, 'best': {'metric': 'acc', 'mode': 'min', 'n': 2},"
    "   'dir': '/srv/ckpt'},"
    " 'state_dict': {'iteration': 200, 'epoch_length': 100, 'max_epochs': 10},"
    " 'worker': {'timeout_ms': 5000, 'max_restarts': 0,"
    "   'env': {'PYTHONPATH': '/opt/x', 'A': ''}, 'cwd': '/tmp',"
    "   'rlimits': {'nofile': 64, 'as': 1073741824, 'core': 0, 'cpu': null}}}";

static ig_spec *
read_ok(msgpack_zone *z, const char *text)
{
	msgpack_object o = tu_obj(z, text);
	ig_err err = { 0 };
	ig_spec *s;

	if (ig_spec_read(&o, &s, &err) != 0)
		fail_msg("%s: %s", text, err.message);
	return s;
}

static void
test_full(void **state)
{
	ig_spec *s = read_ok(*state, full);

	assert_int_equal(s->engine.kind, IG_ENGINE_EXEC);
	assert_int_equal(s->engine.argv.n, 3);
	assert_string_equal(s->engine.argv.v[0], "python3");
	assert_string_equal(s->engine.argv.v[1], "-u");
	assert_string_equal(s->engine.argv.v[2], "worker.py");
	assert_null(s->engine.argv.v[3]);
	assert_string_equal(s->name, "mnist-1");

	assert_int_equal(s->nparams, 4);
	assert_string_equal(s->params[0].key, "lr");
	assert_int_equal(s->params[0].type, IG_PARAM_DOUBLE);
	assert_true(s->params[0].v.d == 0.1);
	assert_int_equal(s->params[1].type, IG_PARAM_INT);
	assert_int_equal(s->params[1].v.i, 3);
	assert_int_equal(s->params[2].type, IG_PARAM_STR);
	assert_string_equal(s->params[2].v.s, "sgd");
	assert_int_equal(s->params[3].type, IG_PARAM_BOOL);
	assert_true(s->params[3].v.b);

	assert_int_equal(s->data.kind, IG_DATA_CSV);
	assert_string_equal(ig_data_kind_name(s->data.kind), "csv");
	assert_string_equal(s->data.path, "/data/digits.csv");
	assert_int_equal(s->data.batch_size, 32);
	assert_true(s->data.shuffle);
	assert_int_equal(s->data.ncolumns, 2);
	assert_string_equal(s->data.columns[0].name, "a");
	assert_null(s->data.columns[1].name);
	assert_int_equal(s->data.columns[1].index, 2);
	assert_string_equal(s->data.label.name, "target");
	assert_false(s->data.header);
	assert_true(s->data.split == 0.2);
	assert_true(s->data.scale == 16);
	assert_false(s->data.scale_standard);

	assert_int_equal(s->max_epochs, 10);
	assert_int_equal(s->epoch_length, 100);
	assert_int_equal(s->seed, 0);

	assert_int_equal(s->nmetrics, 3);
	assert_string_equal(s->metrics[0].name, "loss");
	assert_int_equal(s->metrics[0].kind, IG_METRIC_LOSS);
	assert_null(s->metrics[0].target);
	assert_int_equal(s->metrics[1].kind, IG_METRIC_ACCURACY);
	assert_string_equal(s->metrics[1].field, "y_pred");
	assert_string_equal(s->metrics[1].target, "y");
	assert_true(s->metrics[1].threshold == 0.5);
	assert_int_equal(s->metrics[1].split, IG_SPLIT_VAL);
	assert_true(s->metrics[2].alpha == 0.9);
	assert_string_equal(
	    ig_metric_kind_name(s->metrics[2].kind), "running_average");

	assert_int_equal(s->nhandlers, 6);
	assert_string_equal(s->handlers[0].event, "EPOCH_COMPLETED");
	assert_int_equal(s->handlers[0].every, 2);
	assert_string_equal(s->handlers[0].message, "epoch done");
	assert_int_equal(s->handlers[1].nonce, 2);
	assert_int_equal(s->handlers[1].once[1], 10);
	assert_int_equal(s->handlers[2].action, IG_ACTION_EARLY_STOPPING);
	assert_string_equal(s->handlers[2].metric, "acc");
	assert_int_equal(s->handlers[2].patience, 3);
	assert_int_equal(s->handlers[2].mode, IG_MODE_MAX);
	assert_true(s->handlers[2].min_delta == 0.01);
	assert_string_equal(s->handlers[3].field, "loss");
	assert_int_equal(s->handlers[4].before, 9);
	assert_int_equal(s->handlers[4].after, 0);
	assert_string_equal(ig_action_name(s->handlers[5].action), "terminate");

	assert_int_equal(s->checkpoint.every, 1000);
	assert_true(s->checkpoint.seconds == 30);
	assert_false(s->checkpoint.epoch_completed);
	assert_int_equal(s->checkpoint.n_saved, 3);
	assert_string_equal(s->checkpoint.best_metric, "acc");
	assert_int_equal(s->checkpoint.best_mode, IG_MODE_MIN);
	assert_int_equal(s->checkpoint.best_n, 2);
	assert_string_equal(s->checkpoint.dir, "/srv/ckpt");
	assert_non_null(s->state_dict);
	assert_int_equal(((const unsigned char *)s->state_dict)[0], 0x83);

	assert_int_equal(s->worker.timeout_ms, 5000);
	assert_int_equal(s->worker.max_restarts, 0);
	assert_int_equal(s->worker.env.n, 2);
	assert_string_equal(s->worker.env.v[0], "PYTHONPATH=/opt/x");
	assert_string_equal(s->worker.env.v[1], "A=");
	assert_string_equal(s->worker.cwd, "/tmp");
	assert_int_equal(s->worker.rlimits[IG_RLIMIT_NOFILE], 64);
	assert_int_equal(s->worker.rlimits[IG_RLIMIT_AS], 1073741824);
	assert_int_equal(s->worker.rlimits[IG_RLIMIT_CORE], 0);
	assert_int_equal(s->worker.rlimits[IG_RLIMIT_CPU], IG_NONE);
	assert_int_equal(s->worker.rlimits[IG_RLIMIT_NPROC], IG_NONE);
	assert_int_equal(s->worker.rlimits[IG_RLIMIT_FSIZE], IG_NONE);
	ig_spec_free(s);
}

static void
test_minimal_defaults(void **state)
{
	ig_spec *s = read_ok(*state, "{'engine': 'builtin:noop'}");

	assert_int_equal(s->engine.kind, IG_ENGINE_BUILTIN);
	assert_string_equal(s->engine.target, "noop");
	assert_string_equal(s->name, "");
	assert_int_equal(s->nparams, 0);
	assert_int_equal(s->data.kind, IG_DATA_NONE);
	assert_int_equal(s->max_epochs, IG_NONE);
	assert_int_equal(s->epoch_length, IG_NONE);
	assert_int_equal(s->seed, IG_NONE);
	assert_int_equal(s->checkpoint.every, IG_NONE);
	assert_true(s->checkpoint.seconds == 0);
	assert_true(s->checkpoint.epoch_completed);
	assert_int_equal(s->checkpoint.n_saved, 2);
	assert_string_equal(s->checkpoint.best_metric, "");
	assert_null(s->checkpoint.dir);
	assert_null(s->state_dict);
	assert_int_equal(s->worker.timeout_ms, IG_NONE);
	for (int r = 0; r < IG_RLIMIT_COUNT; r++)
		assert_int_equal(s->worker.rlimits[r], IG_NONE);
	ig_spec_free(s);
}

static void
test_short_forms(void **state)
{
	ig_spec *s;

	s = read_ok(*state,
	    "{'engine': 'plugin:/usr/lib/ignite/model.so', 'data': 'range:1000'}");
	assert_int_equal(s->engine.kind, IG_ENGINE_PLUGIN);
	assert_string_equal(s->engine.target, "/usr/lib/ignite/model.so");
	assert_int_equal(s->data.kind, IG_DATA_RANGE);
	assert_int_equal(s->data.n, 1000);
	ig_spec_free(s);

	s = read_ok(*state,
	    "{'engine': ['python3', 'my worker.py', ''], 'data': 'worker'}");
	assert_int_equal(s->engine.kind, IG_ENGINE_EXEC);
	assert_int_equal(s->engine.argv.n, 3);
	assert_string_equal(s->engine.argv.v[1], "my worker.py");
	assert_int_equal(s->data.kind, IG_DATA_WORKER);
	ig_spec_free(s);

	s = read_ok(
	    *state, "{'engine': 'builtin:meanstd', 'data': 'csv:iris.csv'}");
	assert_int_equal(s->data.kind, IG_DATA_CSV);
	assert_string_equal(s->data.path, "iris.csv");
	assert_true(s->data.header);
	assert_int_equal(s->data.label.index, IG_NONE);
	assert_true(s->data.scale == 0 && !s->data.scale_standard);
	ig_spec_free(s);

	s = read_ok(
	    *state, "{'engine': 'builtin:noop', 'data': 'msgpack:items.mp'}");
	assert_int_equal(s->data.kind, IG_DATA_MSGPACK);
	ig_spec_free(s);

	s = read_ok(*state,
	    "{'engine': 'builtin:noop', 'data': {'kind': 'range', "
	    "'n': 10, 'shuffle': true}, 'handlers': [{'event': 'COMPLETED', 'once': 1, "
	    "'action': 'log'}], 'name': null}");
	assert_int_equal(s->data.n, 10);
	assert_true(s->data.shuffle);
	assert_int_equal(s->handlers[0].nonce, 1);
	assert_int_equal(s->handlers[0].once[0], 1);
	assert_null(s->handlers[0].message);
	ig_spec_free(s);
}

/* pack(read(x)) reads back to a spec that packs to the same bytes. */
static void
check_canonical(msgpack_zone *z, const char *text)
{
	msgpack_sbuffer a, b;
	msgpack_packer pk;
	msgpack_object o;
	ig_spec *s1 = read_ok(z, text), *s2;
	ig_err err = { 0 };
	size_t off = 0;

	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	msgpack_packer_init(&pk, &a, msgpack_sbuffer_write);
	ig_spec_pack(&pk, s1);
	assert_int_equal(msgpack_unpack(a.data, a.size, &off, z, &o),
	    MSGPACK_UNPACK_SUCCESS);
	if (ig_spec_read(&o, &s2, &err) != 0)
		fail_msg("canonical form of %s refused: %s", text, err.message);
	msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
	ig_spec_pack(&pk, s2);
	assert_int_equal(a.size, b.size);
	assert_memory_equal(a.data, b.data, a.size);
	ig_spec_free(s1);
	ig_spec_free(s2);
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
}

static void
test_canonical(void **state)
{
	check_canonical(*state, full);
	check_canonical(*state, "{'engine': 'builtin:noop'}");
	check_canonical(*state,
	    "{'engine': 'plugin:x.so', 'data': 'range:5', "
	    "'metrics': [{'name': 'o', 'kind': 'output', 'field': 'x'}, "
	    "{'name': 'acc', 'kind': 'accuracy'}], 'handlers': [{'event': "
	    "'STARTED', 'action': 'terminate_on_nan'}, {'event': 'COMPLETED', "
	    "'action': 'log'}]}");
	check_canonical(
	    *state, "{'engine': ['w'], 'data': 'worker', 'seed': 7}");
	check_canonical(*state,
	    "{'engine': ['w'], 'worker': {'rlimits': {'fsize': 0, "
	    "'nproc': 10, 'cpu': 5}}}");
	check_canonical(*state,
	    "{'engine': 'builtin:x', 'data': {'kind': 'msgpack', "
	    "'path': 'p'}}");
	check_canonical(*state,
	    "{'engine': 'builtin:x', 'data': {'kind': 'csv', "
	    "'path': 'p', 'scale': 'standard'}}");
	check_canonical(*state,
	    "{'engine': 'builtin:x', 'tags': {'team': 'vision', 'lr': '', "
	    "'note': 'a b, c'}}");
	check_canonical(*state,
	    "{'engine': ['w'], 'placement': {'slurm': {'partition': 'gpu', "
	    "'gres': 'gpu:2', 'nodes': 2, 'ntasks_per_node': 2, "
	    "'cpus_per_task': 8, 'mem': '64G', 'time': '1-00:00:00', "
	    "'account': 'a', 'qos': 'q', 'constraint': 'a100', "
	    "'extra_args': ['--exclusive', '--signal=USR1@60']}}}");
	check_canonical(
	    *state, "{'engine': ['w'], 'placement': {'slurm': {}}}");
}

/* placement.slurm: what is given, Slurm's defaults for the rest. */
static void
test_placement(void **state)
{
	ig_spec *s = read_ok(*state,
	    "{'engine': ['w'], 'placement': {'slurm': {'partition': 'gpu', "
	    "'nodes': 2, 'extra_args': ['--exclusive']}}}");

	assert_true(s->slurm.set);
	assert_string_equal(s->slurm.partition, "gpu");
	assert_int_equal(s->slurm.nodes, 2);
	assert_int_equal(s->slurm.cpus_per_task, IG_NONE);
	assert_null(s->slurm.gres);
	assert_int_equal(s->slurm.extra_args.n, 1);
	assert_string_equal(s->slurm.extra_args.v[0], "--exclusive");
	ig_spec_free(s);
	s = read_ok(*state, "{'engine': ['w']}");
	assert_false(s->slurm.set);
	ig_spec_free(s);
}

/* Tags: names to strs, kept in their order. */
static void
test_tags(void **state)
{
	ig_spec *s = read_ok(*state,
	    "{'engine': 'builtin:noop', 'tags': {'team': 'vision', "
	    "'sweep': 'lr=0.1'}}");

	assert_int_equal(s->ntags, 2);
	assert_string_equal(s->tags[0].key, "team");
	assert_string_equal(s->tags[0].value, "vision");
	assert_string_equal(s->tags[1].key, "sweep");
	assert_string_equal(s->tags[1].value, "lr=0.1");
	ig_spec_free(s);
	s = read_ok(*state, "{'engine': 'builtin:noop'}");
	assert_int_equal(s->ntags, 0);
	ig_spec_free(s);
}

/* One wrong thing per spec, and the message it must give. */
static const struct {
	const char *spec;
	const char *says;
} wrong[] = {
	{ "[]", "spec: expected a map, got an array" },
	{ "{}", "engine: required" },
	{ "{'engine': 'builtin:noop', 'epochs': 3}", "unknown key \"epochs\"" },
	{ "{'engine': 'builtin:noop', 'tags': {'1': 'a'}}",
	    "tags: key: a name cannot be all digits (run ids are)" },
	{ "{'engine': 'builtin:noop', 'tags': {'a': 1}}",
	    "tags.a: expected a str without NUL, got an integer" },
	{ "{'engine': 'builtin:noop', 'tags': {'a': 'x', 'a': 'y'}}",
	    "tags.a: duplicate key" },
	{ "{'engine': 'builtin:noop', 'tags': ['a']}",
	    "tags: expected a map, got an array" },
	{ "{'engine': 'builtin:noop', 'placement': {'slurm': {}}}",
	    "placement: only for exec engines (the worker is what is placed)" },
	{ "{'engine': ['w'], 'placement': {}}", "placement.slurm: required" },
	{ "{'engine': ['w'], 'placement': {'k8s': {}}}",
	    "placement: unknown key \"k8s\"" },
	{ "{'engine': ['w'], 'placement': {'slurm': {'nodes': 0}}}",
	    "placement.slurm.nodes: expected a positive integer, got 0" },
	{ "{'engine': ['w'], 'placement': {'slurm': {'qos': ''}}}",
	    "placement.slurm: a value must not be empty; leave the key out "
	    "for Slurm's default" },
	{ "{'engine': ['w'], 'placement': {'slurm': {'extra_args': ['x']}}}",
	    "placement.slurm.extra_args[0]: \"x\" is not an sbatch option; "
	    "each starts with - (\"--exclusive\", \"--signal=USR1@60\")" },
	{ "{'engine': ''}",
	    "engine: expected builtin:NAME, plugin:PATH or exec:COMMAND, got \"\"" },
	{ "{'engine': 'builtin:noop', 'data': ''}",
	    "data: expected range:N, csv:PATH, msgpack:PATH, worker or a map, got \"\"" },
	{ "{'': 1}", "unknown key \"\"" },
	{ "{'engine': 5}",
	    "engine: expected a str or an exec argv array, got an integer" },
	{ "{'engine': 'python'}",
	    "engine: expected builtin:NAME, plugin:PATH or exec:COMMAND, got \"python\"" },
	{ "{'engine': 'builtin:'}",
	    "engine: builtin: a name has 1 to 64 characters, got 0" },
	{ "{'engine': 'builtin:no op'}",
	    "engine: builtin: a name holds letters, digits, '_', '-' and '.', and starts with a letter, digit or '_'" },
	{ "{'engine': 'plugin:'}", "engine: plugin: needs a path" },
	{ "{'engine': 'exec: \t '}", "engine: exec: needs a command" },
	{ "{'engine': []}", "engine: an exec argv needs a command" },
	{ "{'engine': ['']}", "engine[0]: the command is empty" },
	{ "{'engine': ['a', 1]}", "engine[1]: expected a str, got an integer" },
	{ "{'engine': 'exec:a\\x00b'}", "engine: must not hold a NUL byte" },
	{ "{'engine': 'builtin:noop', 'name': '123'}",
	    "name: a name cannot be all digits (run ids are)" },
	{ "{'engine': 'builtin:noop', 'name': 'a/b'}",
	    "name: a name holds letters, digits, '_', '-' and '.', and starts with a letter, digit or '_'" },
	{ "{'engine': 'builtin:noop', 'name': 5}",
	    "name: expected a name (a str), got an integer" },
	{ "{'engine': 'builtin:noop', 'params': []}",
	    "params: expected a map, got an array" },
	{ "{'engine': 'builtin:noop', 'metrics': [{'name': 'l', 'kind': 'loss', 'field': 'a\\x1bb'}]}",
	    "metrics[0].field: a name holds letters, digits, '_', '-' and '.', and starts with a letter, digit or '_'" },
	{ "{'engine': 'builtin:noop', 'metrics': [{'name': 'a', 'kind': 'accuracy', 'target': '1'}]}",
	    "metrics[0].target: a name cannot be all digits (run ids are)" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'COMPLETED', 'action': 'early_stopping', 'metric': '', 'patience': 1}]}",
	    "handlers[0].metric: a name has 1 to 64 characters, got 0" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'COMPLETED', 'action': 'terminate_on_nan', 'field': 'x y'}]}",
	    "handlers[0].field: a name holds letters, digits, '_', '-' and '.', and starts with a letter, digit or '_'" },
	{ "{'engine': 'builtin:noop', 'state_dict': {'iteration': 0, '\\x1b[2J': 1}}",
	    "state_dict: user key: a name holds letters, digits, '_', '-' and '.', and starts with a letter, digit or '_'" },
	{ "{'engine': 'builtin:noop', 'state_dict': {7: 1}}",
	    "state_dict: keys must be str, got an integer" },
	{ "{'engine': 'builtin:noop', 'params': {'lr': [1]}}",
	    "params.lr: expected an integer, a float, a boolean or a str, got an array" },
	{ "{'engine': 'builtin:noop', 'params': {'lr': null}}",
	    "params.lr: expected an integer, a float, a boolean or a str, got nil" },
	{ "{'engine': 'builtin:noop', 'params': {'lr': inf}}",
	    "params.lr: expected a finite number" },
	{ "{'engine': 'builtin:noop', 'params': {'a': 1, 'a': 2}}",
	    "params.a: duplicate key" },
	{ "{'engine': 'builtin:noop', 'params': {'': 1}}",
	    "params: key: a name has 1 to 64 characters, got 0" },
	{ "{'engine': 'builtin:noop', 'params': {1: 1}}",
	    "params: keys must be str, got an integer" },
	{ "{'engine': 'builtin:noop', 'params': {'s': 'a\\x00'}}",
	    "params.s: must not hold a NUL byte" },
	{ "{'engine': 'builtin:noop', 'params': {'n': 18446744073709551615}}",
	    "params.n: 18446744073709551615 is out of range" },
	{ "{'engine': 'builtin:noop', 'data': 'range:0'}",
	    "data: range: N must be a positive integer" },
	{ "{'engine': 'builtin:noop', 'data': 'range:1x'}",
	    "data: range: N must be a positive integer" },
	{ "{'engine': 'builtin:noop', 'data': 'range:99999999999999999999'}",
	    "data: range: N must be a positive integer" },
	{ "{'engine': 'builtin:noop', 'data': 'range:'}",
	    "data: range: needs a count" },
	{ "{'engine': 'builtin:noop', 'data': 'csv:'}", "data: needs a path" },
	{ "{'engine': 'builtin:noop', 'data': 'parquet:x'}",
	    "data: expected range:N, csv:PATH, msgpack:PATH, worker or a map, got \"parquet:x\"" },
	{ "{'engine': 'builtin:noop', 'data': 'range'}",
	    "data: expected range:N, csv:PATH, msgpack:PATH, worker or a map, got \"range\"" },
	{ "{'engine': 'builtin:noop', 'data': 3}",
	    "data: expected a str or a map, got an integer" },
	{ "{'engine': 'builtin:noop', 'data': {'n': 3}}",
	    "data.kind: required" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'sql'}}",
	    "data.kind: expected one of none, range, csv, msgpack, worker; got \"sql\"" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'range'}}",
	    "data.n: required for kind range" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'csv'}}",
	    "data.path: required for kind csv" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'range', 'n': 5, 'path': 'x'}}",
	    "data.path: not used by kind range" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'msgpack', 'path': 'x', 'columns': []}}",
	    "data.columns: not used by kind msgpack" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'msgpack', 'path': 'x', 'scale': 2}}",
	    "data.scale: not used by kind msgpack" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'csv', 'path': 'x', 'scale': 0}}",
	    "data.scale: cannot divide by 0; leave scale out for none" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'csv', 'path': 'x', 'scale': 'std'}}",
	    "data.scale: expected a number or \"standard\", got a str" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'csv', 'path': 'x', 'scale': true}}",
	    "data.scale: expected a number or \"standard\", got a boolean" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'csv', 'path': 'x', 'batch_size': 0}}",
	    "data.batch_size: expected a positive integer, got 0" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'csv', 'path': 'x', 'shuffle': 'yes'}}",
	    "data.shuffle: expected true or false, got a str" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'csv', 'path': 'x', 'columns': 'a'}}",
	    "data.columns: expected an array, got a str" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'csv', 'path': 'x', 'columns': ['a', -1]}}",
	    "data.columns[1]: expected a column name or 0-based index, got an integer" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'csv', 'path': 'x', 'columns': ['']}}",
	    "data.columns[0]: a column name cannot be empty" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'csv', 'path': 'x', 'label': 1.5}}",
	    "data.label: expected a column name or 0-based index, got a float" },
	{ "{'engine': 'builtin:noop', 'data': {'kind': 'csv', 'path': 'x', 'split': 1}}",
	    "data.split: a validation fraction, 0 <= split < 1" },
	{ "{'engine': 'builtin:noop', 'data': 'worker'}",
	    "data: kind worker needs an exec engine" },
	{ "{'engine': 'builtin:noop', 'max_epochs': 0}",
	    "max_epochs: expected a positive integer, got 0" },
	{ "{'engine': 'builtin:noop', 'max_epochs': -3}",
	    "max_epochs: expected a positive integer, got -3" },
	{ "{'engine': 'builtin:noop', 'max_epochs': 2.0}",
	    "max_epochs: expected a positive integer, got a float" },
	{ "{'engine': 'builtin:noop', 'epoch_length': 0}",
	    "epoch_length: expected a positive integer, got 0" },
	{ "{'engine': 'builtin:noop', 'seed': -1}",
	    "seed: expected a non-negative integer, got -1" },
	{ "{'engine': 'builtin:noop', 'metrics': {}}",
	    "metrics: expected an array, got a map" },
	{ "{'engine': 'builtin:noop', 'metrics': [5]}",
	    "metrics[0]: expected a map, got an integer" },
	{ "{'engine': 'builtin:noop', 'metrics': [{'kind': 'loss', 'field': 'l'}]}",
	    "metrics[0].name: required" },
	{ "{'engine': 'builtin:noop', 'metrics': [{'name': 'l', 'kind': 'f1'}]}",
	    "metrics[0].kind: expected one of average, loss, accuracy, running_average, output; got \"f1\"" },
	{ "{'engine': 'builtin:noop', 'metrics': [{'name': 'l', 'kind': 'loss'}]}",
	    "metrics[0].field: required for kind loss" },
	{ "{'engine': 'builtin:noop', 'metrics': [{'name': 'l', 'kind': 'loss', 'field': 'l', 'alpha': 0.5}]}",
	    "metrics[0].alpha: not used by kind loss" },
	{ "{'engine': 'builtin:noop', 'metrics': [{'name': 'l', 'kind': 'running_average', 'field': 'l', 'alpha': 1}]}",
	    "metrics[0].alpha: must be between 0 and 1 (exclusive)" },
	{ "{'engine': 'builtin:noop', 'metrics': [{'name': 'a', 'kind': 'accuracy', 'threshold': -0.5}]}",
	    "metrics[0].threshold: must be >= 0" },
	{ "{'engine': 'builtin:noop', 'metrics': [{'name': 'a', 'kind': 'accuracy', 'split': 'test'}]}",
	    "metrics[0].split: expected one of train, val; got \"test\"" },
	{ "{'engine': 'builtin:noop', 'metrics': [{'name': 'a', 'kind': 'accuracy'}, {'name': 'a', 'kind': 'output', 'field': 'x'}]}",
	    "metrics[1].name: duplicate metric name \"a\"" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'action': 'log'}]}",
	    "handlers[0].event: required" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_DONE', 'action': 'log'}]}",
	    "handlers[0].event: unknown event \"EPOCH_DONE\" (expected a core event such as EPOCH_COMPLETED)" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 3, 'action': 'log'}]}",
	    "handlers[0].event: expected an event name, got an integer" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'STARTED'}]}",
	    "handlers[0].action: required" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'STARTED', 'action': 'save'}]}",
	    "handlers[0].action: expected one of log, checkpoint, terminate, terminate_epoch, early_stopping, terminate_on_nan, evaluate; got \"save\"" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'STARTED', 'action': 'log'}, {'event': 'COMPLETED', 'action': 'log'}, {'event': 'EPOCH_COMPLETED', 'every': 0, 'action': 'log'}]}",
	    "handlers[2].every: expected a positive integer, got 0" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_COMPLETED', 'every': 2, 'once': 4, 'action': 'log'}]}",
	    "handlers[0]: once cannot be combined with every, before or after" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_COMPLETED', 'once': [1, 0], 'action': 'log'}]}",
	    "handlers[0].once[1]: expected a positive integer, got 0" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_COMPLETED', 'once': 'x', 'action': 'log'}]}",
	    "handlers[0].once: expected a positive integer, got a str" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_COMPLETED', 'once': [], 'action': 'log'}]}",
	    "handlers[0].once: an empty list matches nothing" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_COMPLETED', 'before': 0, 'action': 'log'}]}",
	    "handlers[0].before: expected a positive integer, got 0" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_COMPLETED', 'after': -1, 'action': 'log'}]}",
	    "handlers[0].after: expected a non-negative integer, got -1" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'TERMINATE', 'every': 2, 'action': 'log'}]}",
	    "handlers[0].every: TERMINATE has no counter to filter on" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EXCEPTION_RAISED', 'once': 1, 'action': 'log'}]}",
	    "handlers[0].once: EXCEPTION_RAISED has no counter to filter on" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_COMPLETED', 'action': 'early_stopping', 'patience': 2}]}",
	    "handlers[0].metric: required for action early_stopping" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_COMPLETED', 'action': 'early_stopping', 'metric': 'acc'}]}",
	    "handlers[0].patience: required for action early_stopping" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_COMPLETED', 'action': 'early_stopping', 'metric': 'acc', 'patience': 2, 'mode': 'up'}]}",
	    "handlers[0].mode: expected one of min, max; got \"up\"" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_COMPLETED', 'action': 'early_stopping', 'metric': 'acc', 'patience': 2, 'min_delta': -1}]}",
	    "handlers[0].min_delta: must be >= 0" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_COMPLETED', 'action': 'log', 'patience': 2}]}",
	    "handlers[0].patience: not used by action log" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_COMPLETED', 'action': 'terminate', 'message': 'bye'}]}",
	    "handlers[0].message: not used by action terminate" },
	{ "{'engine': 'builtin:noop', 'handlers': [{'event': 'EPOCH_COMPLETED', 'action': 'log', 'colour': 'red'}]}",
	    "handlers[0]: unknown key \"colour\"" },
	{ "{'engine': 'builtin:noop', 'checkpoint': {'every': 0}}",
	    "checkpoint.every: expected a positive integer, got 0" },
	{ "{'engine': 'builtin:noop', 'checkpoint': {'seconds': 0}}",
	    "checkpoint.seconds: must be > 0" },
	{ "{'engine': 'builtin:noop', 'checkpoint': {'epoch_completed': 1}}",
	    "checkpoint.epoch_completed: expected true or false, got an integer" },
	{ "{'engine': 'builtin:noop', 'checkpoint': {'n_saved': 0}}",
	    "checkpoint.n_saved: expected a positive integer, got 0" },
	{ "{'engine': 'builtin:noop', 'checkpoint': {'best': {'mode': 'min'}}}",
	    "checkpoint.best.metric: required" },
	{ "{'engine': 'builtin:noop', 'checkpoint': {'best': {'metric': 'acc', 'mode': 'up'}}}",
	    "checkpoint.best.mode: expected one of min, max; got \"up\"" },
	{ "{'engine': 'builtin:noop', 'checkpoint': {'best': {'metric': 'acc', 'n': 0}}}",
	    "checkpoint.best.n: expected a positive integer, got 0" },
	{ "{'engine': 'builtin:noop', 'checkpoint': {'dir': 'ckpt'}}",
	    "checkpoint.dir: must be an absolute path (shared storage the run's owner can write)" },
	{ "{'engine': 'builtin:noop', 'checkpoint': {'on_exit': true}}",
	    "checkpoint: unknown key \"on_exit\"" },
	{ "{'engine': 'builtin:noop', 'state_dict': [1]}",
	    "state_dict: expected a map, got an array" },
	{ "{'engine': 'builtin:noop', 'worker': {}}",
	    "worker: only for exec engines" },
	{ "{'engine': 'exec:w', 'worker': {'timeout_ms': 0}}",
	    "worker.timeout_ms: expected a positive integer, got 0" },
	{ "{'engine': 'exec:w', 'worker': {'max_restarts': -1}}",
	    "worker.max_restarts: expected a non-negative integer, got -1" },
	{ "{'engine': 'exec:w', 'worker': {'env': {'A=B': 'x'}}}",
	    "worker.env: keys must be non-empty str without '=' or NUL" },
	{ "{'engine': 'exec:w', 'worker': {'env': {'A': 1}}}",
	    "worker.env: values must be str without NUL, got an integer" },
	{ "{'engine': 'exec:w', 'worker': {'cwd': ''}}",
	    "worker.cwd: must not be empty" },
	{ "{'engine': 'exec:w', 'worker': {'user': 'root'}}",
	    "worker: unknown key \"user\"" },
	{ "{'engine': 'exec:w', 'worker': {'rlimits': [1]}}",
	    "worker.rlimits: expected a map, got an array" },
	{ "{'engine': 'exec:w', 'worker': {'rlimits': {'nofiles': 8}}}",
	    "worker.rlimits.nofiles: unknown limit; expected cpu, as, nofile, nproc, core or fsize" },
	{ "{'engine': 'exec:w', 'worker': {'rlimits': {'stack\\n': 8}}}",
	    "worker.rlimits.stack?: unknown limit; expected cpu, as, nofile, nproc, core or fsize" },
	{ "{'engine': 'exec:w', 'worker': {'rlimits': {1: 8}}}",
	    "worker.rlimits: keys must be str, got an integer" },
	{ "{'engine': 'exec:w', 'worker': {'rlimits': {'nofile': -1}}}",
	    "worker.rlimits.nofile: expected a non-negative integer, got -1" },
	{ "{'engine': 'exec:w', 'worker': {'rlimits': {'cpu': 1.5}}}",
	    "worker.rlimits.cpu: expected a non-negative integer, got a float" },
	{ "{'engine': 'exec:w', 'worker': {'rlimits': {'as': 1, 'as': 2}}}",
	    "worker.rlimits.as: duplicate key" },
	{ "{'engine': 'builtin:x', 'notify': {}}",
	    "notify: expected an array, got a map" },
	{ "{'engine': 'builtin:x', 'notify': [{'exec': ['true']}]}",
	    "notify[0].on: required" },
	{ "{'engine': 'builtin:x', 'notify': [{'on': ['failed']}]}",
	    "notify[0].exec: required" },
	{ "{'engine': 'builtin:x', 'notify': [{'on': 'failed', 'exec': ['true']}]}",
	    "notify[0].on: expected an array of events (completed, failed, "
	    "terminated, paused, nan), got a str" },
	{ "{'engine': 'builtin:x', 'notify': [{'on': [], 'exec': ['true']}]}",
	    "notify[0].on: an empty list fires on nothing" },
	{ "{'engine': 'builtin:x', 'notify': [{'on': ['done'], 'exec': ['true']}]}",
	    "notify[0].on[0]: expected one of completed, failed, terminated, "
	    "paused, nan; got \"done\"" },
	{ "{'engine': 'builtin:x', 'notify': [{'on': ['nan', 'nan'], 'exec': ['true']}]}",
	    "notify[0].on[1]: nan is given twice" },
	{ "{'engine': 'builtin:x', 'notify': [{'on': ['nan'], 'exec': []}]}",
	    "notify[0].exec: a command of 1 to 64 strings, got 0" },
	{ "{'engine': 'builtin:x', 'notify': [{'on': ['nan'], 'exec': ['']}]}",
	    "notify[0].exec[0]: the command is empty" },
	{ "{'engine': 'builtin:x', 'notify': [{'on': ['nan'], 'exec': 'curl x'}]}",
	    "notify[0].exec: expected an array of str, got a str" },
	{ "{'engine': 'builtin:x', 'notify': [{'on': ['nan'], 'exec': ['a', 'b\\x00']}]}",
	    "notify[0].exec[1]: must not hold a NUL byte" },
	{ "{'engine': 'builtin:x', 'notify': [{'on': ['nan'], 'exec': ['a'], 'timeout_ms': 0}]}",
	    "notify[0].timeout_ms: expected a positive integer, got 0" },
	{ "{'engine': 'builtin:x', 'notify': [{'on': ['nan'], 'exec': ['a'], 'timeout_ms': 600001}]}",
	    "notify[0].timeout_ms: at most 600000 (ten minutes)" },
	{ "{'engine': 'builtin:x', 'notify': [{'on': ['nan'], 'exec': ['a'], 'cwd': '/'}]}",
	    "notify[0]: unknown key \"cwd\"" },
};

static void
test_wrong(void **state)
{
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		msgpack_object o = tu_obj(*state, wrong[i].spec);
		ig_err err = { 0 };
		ig_spec *s = (ig_spec *)&err; /* must come back NULL */
		int rc = ig_spec_read(&o, &s, &err);

		if (rc != IG_PROTO_INVALID_PARAMS ||
		    strcmp(err.message, wrong[i].says) != 0)
			fail_msg("%s\n  got  %d \"%s\"\n  want \"%s\"",
			    wrong[i].spec, rc, err.message, wrong[i].says);
		assert_null(s);
	}
}

/* Entry limits hold for every list a spec has. */
static void
test_limits(void **state)
{
	size_t n = IG_SPEC_MAX_ITEMS + 1, cap = n * 16 + 256;
	char *text = malloc(cap);
	size_t len =
	    (size_t)snprintf(text, cap, "{'engine': 'builtin:x', 'params': {");
	msgpack_object o;
	ig_err err = { 0 };
	ig_spec *s;

	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(
		    text + len, cap - len, "%s'p%zu': 1", i ? ", " : "", i);
	snprintf(text + len, cap - len, "}}");
	o = tu_obj(*state, text);
	assert_int_equal(ig_spec_read(&o, &s, &err), IG_PROTO_INVALID_PARAMS);
	assert_string_equal(
	    err.message, "params: at most 1024 entries, got 1025");
	free(text);
}

/* {engine: builtin:x, notify: [{on: [failed], exec: [x, arg]}]}, packed
 * here: testutil's strings are shorter than an argument may be. */
static msgpack_object
notify_arg(msgpack_zone *z, const char *arg)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_object o;
	size_t off = 0, len;
	char *copy;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	ig_pack_str(&pk, "engine");
	ig_pack_str(&pk, "builtin:x");
	ig_pack_str(&pk, "notify");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	ig_pack_str(&pk, "on");
	msgpack_pack_array(&pk, 1);
	ig_pack_str(&pk, "failed");
	ig_pack_str(&pk, "exec");
	msgpack_pack_array(&pk, 2);
	ig_pack_str(&pk, "x");
	ig_pack_str(&pk, arg);
	/* the object points into the bytes: they live in the zone */
	len = sb.size;
	copy = msgpack_zone_malloc(z, len);
	memcpy(copy, sb.data, len);
	msgpack_sbuffer_destroy(&sb);
	assert_int_equal(
	    msgpack_unpack(copy, len, &off, z, &o), MSGPACK_UNPACK_SUCCESS);
	return o;
}

/* notify: every event, a timeout, the canonical form; and its bounds: 16
 * entries, 64 strings of 4096 bytes. */
static void
test_notify(void **state)
{
	static const char spec[] =
	    "{'engine': 'builtin:x', 'notify': [{'on': ['nan', 'completed'], "
	    "'exec': ['curl', '-d', '@-']}, {'on': ['failed', 'terminated', "
	    "'paused'], 'exec': ['sh'], 'timeout_ms': 5000}]}";
	size_t cap = 64 * 1024;
	char *text = malloc(cap), arg[IG_NOTIFY_ARG_MAX + 2];
	msgpack_object o;
	ig_err err = { 0 };
	ig_spec *s = read_ok(*state, spec);
	size_t len;

	assert_int_equal(s->nnotify, 2);
	assert_int_equal(
	    s->notify[0].on, 1u << IG_NOTIFY_NAN | 1u << IG_NOTIFY_COMPLETED);
	assert_int_equal(s->notify[0].exec.n, 3);
	assert_string_equal(s->notify[0].exec.v[2], "@-");
	assert_int_equal(s->notify[0].timeout_ms, IG_NONE);
	assert_int_equal(s->notify[1].on,
	    1u << IG_NOTIFY_FAILED | 1u << IG_NOTIFY_TERMINATED |
	        1u << IG_NOTIFY_PAUSED);
	assert_int_equal(s->notify[1].timeout_ms, 5000);
	ig_spec_free(s);
	check_canonical(*state, spec);
	assert_string_equal(ig_notify_on_name(IG_NOTIFY_NAN), "nan");
	assert_null(ig_notify_on_name(IG_NOTIFY_COUNT));

	len =
	    (size_t)snprintf(text, cap, "{'engine': 'builtin:x', 'notify': [");
	for (int i = 0; i <= IG_NOTIFY_MAX; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "%s{'on': ['failed'], 'exec': ['x']}", i ? ", " : "");
	snprintf(text + len, cap - len, "]}");
	o = tu_obj(*state, text);
	assert_int_equal(ig_spec_read(&o, &s, &err), IG_PROTO_INVALID_PARAMS);
	assert_string_equal(err.message, "notify: at most 16 entries, got 17");

	len = (size_t)snprintf(text, cap,
	    "{'engine': 'builtin:x', 'notify': [{'on': ['failed'], 'exec': [");
	for (int i = 0; i <= IG_NOTIFY_ARGV_MAX; i++)
		len += (size_t)snprintf(
		    text + len, cap - len, "%s'a'", i ? ", " : "");
	snprintf(text + len, cap - len, "]}]}");
	o = tu_obj(*state, text);
	assert_int_equal(ig_spec_read(&o, &s, &err), IG_PROTO_INVALID_PARAMS);
	assert_string_equal(err.message,
	    "notify[0].exec: a command of 1 to 64 strings, got 65");

	memset(arg, 'a', IG_NOTIFY_ARG_MAX + 1);
	arg[IG_NOTIFY_ARG_MAX + 1] = '\0';
	o = notify_arg(*state, arg);
	assert_int_equal(ig_spec_read(&o, &s, &err), IG_PROTO_INVALID_PARAMS);
	assert_string_equal(
	    err.message, "notify[0].exec[1]: at most 4096 bytes, got 4097");
	arg[IG_NOTIFY_ARG_MAX] = '\0';
	o = notify_arg(*state, arg);
	assert_int_equal(ig_spec_read(&o, &s, &err), 0);
	assert_int_equal(strlen(s->notify[0].exec.v[1]), IG_NOTIFY_ARG_MAX);
	ig_spec_free(s);
	free(text);
}

static void
test_enum_names(void **state)
{
	(void)state;
	assert_string_equal(ig_engine_kind_name(IG_ENGINE_EXEC), "exec");
	assert_string_equal(ig_data_kind_name(IG_DATA_WORKER), "worker");
	assert_string_equal(ig_data_kind_name(IG_DATA_NONE), "none");
	assert_string_equal(ig_metric_kind_name(IG_METRIC_OUTPUT), "output");
	assert_string_equal(ig_action_name(IG_ACTION_EVALUATE), "evaluate");
	assert_string_equal(ig_rlimit_name(IG_RLIMIT_FSIZE), "fsize");
	assert_null(ig_rlimit_name(IG_RLIMIT_COUNT));
	assert_null(ig_action_name(IG_ACTION_EVALUATE + 1));
	assert_null(ig_data_kind_name(-1));
	assert_null(ig_engine_kind_name(3));
	assert_null(ig_metric_kind_name(5));
}

/* The table of data kinds answers by name; ignitectl reads a short form's
 * meaning from it. */
static void
test_data_kinds(void **state)
{
	(void)state;
	assert_int_equal(ig_data_kind_find("csv", 3), IG_DATA_CSV);
	assert_int_equal(ig_data_kind_find("csvx", 3), IG_DATA_CSV);
	assert_int_equal(ig_data_kind_find("cs", 2), -1);
	assert_int_equal(ig_data_kind_find("", 0), -1);
	assert_int_equal(ig_data_kind_form(IG_DATA_RANGE), IG_DATA_FORM_COUNT);
	assert_int_equal(ig_data_kind_form(IG_DATA_MSGPACK), IG_DATA_FORM_PATH);
	assert_int_equal(ig_data_kind_form(IG_DATA_WORKER), IG_DATA_FORM_WORD);
	assert_int_equal(ig_data_kind_form(IG_DATA_NONE), IG_DATA_FORM_NONE);
	assert_int_equal(ig_data_kind_form(-1), IG_DATA_FORM_NONE);
	for (int k = 0; ig_data_kind_name(k) != NULL; k++) {
		const char *name = ig_data_kind_name(k);

		assert_int_equal(ig_data_kind_find(name, strlen(name)), k);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_minimal_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_short_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_canonical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_placement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test(test_enum_names),
		cmocka_unit_test(test_data_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
