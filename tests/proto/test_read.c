/*
 * test_read.c - ig_map_read(): every field type, defaults, required,
 * unknown and duplicate keys, and messages that name the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ignite/protocol.h"
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

/* The fields of an imaginary "metrics" request. */
struct req {
	int64_t from, to, max_points, offset;
	double scale;
	bool follow;
	char *label;
	char name[IG_NAME_MAX + 1];
	ig_strv names;
	int axis;
	ig_run_ref id;
	const msgpack_object *extra, *list, *any;
};

static const char *const axes[] = { "iteration", "epoch", NULL };

static int
read_req(msgpack_zone *z, const char *text, struct req *r, ig_err *err)
{
	msgpack_object o = tu_obj(z, text);
	const ig_fdef defs[] = {
		{ "id", IG_F_RUN, true, NULL, &r->id },
		{ "from", IG_F_UINT, false, NULL, &r->from },
		{ "to", IG_F_INT, false, NULL, &r->to },
		{ "max_points", IG_F_POS, false, NULL, &r->max_points },
		{ "scale", IG_F_DOUBLE, false, NULL, &r->scale },
		{ "follow", IG_F_BOOL, false, NULL, &r->follow },
		{ "label", IG_F_STR, false, NULL, &r->label },
		{ "name", IG_F_NAME, false, NULL, r->name },
		{ "names", IG_F_STRV, false, NULL, &r->names },
		{ "axis", IG_F_ENUM, false, axes, &r->axis },
		{ "extra", IG_F_MAP, false, NULL, &r->extra },
		{ "list", IG_F_ARRAY, false, NULL, &r->list },
		{ "any", IG_F_ANY, false, NULL, &r->any },
	};

	memset(r, 0, sizeof *r);
	r->from = r->to = r->max_points = IG_NONE;
	return ig_map_read(
	    &o, NULL, defs, sizeof defs / sizeof defs[0], 0, err);
}

static void
req_free(struct req *r)
{
	free(r->label);
	ig_strv_free(&r->names);
}

static void
test_all_types(void **state)
{
	struct req r;
	ig_err err = { 0 };

	assert_int_equal(
	    read_req(*state,
	        "{'id': 7, 'from': 0, 'to': -5, "
	        "'max_points': 100, 'scale': 2, 'follow': true, 'label': 'h\\u00e9', "
	        "'name': 'run-1.a', 'names': ['loss', 'acc'], 'axis': 'epoch', "
	        "'extra': {}, 'list': [1], 'any': null}",
	        &r, &err),
	    0);
	assert_int_equal(r.id.id, 7);
	assert_string_equal(r.id.name, "");
	assert_int_equal(r.from, 0);
	assert_int_equal(r.to, -5);
	assert_int_equal(r.max_points, 100);
	assert_true(r.scale == 2.0);
	assert_true(r.follow);
	assert_string_equal(r.label, "h\xc3\xa9");
	assert_string_equal(r.name, "run-1.a");
	assert_int_equal(r.names.n, 2);
	assert_string_equal(r.names.v[1], "acc");
	assert_null(r.names.v[2]);
	assert_int_equal(r.axis, 1);
	assert_int_equal(r.extra->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(r.list->type, MSGPACK_OBJECT_ARRAY);
	assert_null(r.any); /* nil is absent */
	req_free(&r);
}

static void
test_defaults_and_nil(void **state)
{
	struct req r;
	ig_err err = { 0 };

	assert_int_equal(read_req(*state,
	                     "{'id': 'my_run', 'from': null, "
	                     "'label': null}",
	                     &r, &err),
	    0);
	assert_int_equal(r.id.id, 0);
	assert_string_equal(r.id.name, "my_run");
	assert_int_equal(r.from, IG_NONE);
	assert_null(r.label);
	req_free(&r);
}

/* Each wrong input gives INVALID_PARAMS and this exact message. */
static const struct {
	const char *input;
	const char *message;
} wrong[] = {
	{ "[]", "params: expected a map, got an array" },
	{ "{}", "id: required" },
	{ "{'id': null}", "id: required" },
	{ "{'id': 0}",
	    "id: expected a run id (a positive integer) or name, got an integer" },
	{ "{'id': 1.5}",
	    "id: expected a run id (a positive integer) or name, got a float" },
	{ "{'id': '42'}", "id: a name cannot be all digits (run ids are)" },
	{ "{'id': '-x'}",
	    "id: a name holds letters, digits, '_', '-' and '.', and starts with a letter, digit or '_'" },
	{ "{'id': 'a b'}",
	    "id: a name holds letters, digits, '_', '-' and '.', and starts with a letter, digit or '_'" },
	{ "{'id': ''}", "id: a name has 1 to 64 characters, got 0" },
	{ "{'id': 1, 'from': -1}",
	    "from: expected a non-negative integer, got -1" },
	{ "{'id': 1, 'from': 'x'}",
	    "from: expected a non-negative integer, got a str" },
	{ "{'id': 1, 'to': 18446744073709551615}",
	    "to: 18446744073709551615 is out of range" },
	{ "{'id': 1, 'max_points': 0}",
	    "max_points: expected a positive integer, got 0" },
	{ "{'id': 1, 'scale': 'big'}", "scale: expected a number, got a str" },
	{ "{'id': 1, 'scale': nan}", "scale: expected a finite number" },
	{ "{'id': 1, 'follow': 1}",
	    "follow: expected true or false, got an integer" },
	{ "{'id': 1, 'label': 5}", "label: expected a str, got an integer" },
	{ "{'id': 1, 'label': 'a\\x00b'}", "label: must not hold a NUL byte" },
	{ "{'id': 1, 'names': 'loss'}",
	    "names: expected an array of str, got a str" },
	{ "{'id': 1, 'names': ['a', 2]}",
	    "names[1]: expected a str, got an integer" },
	{ "{'id': 1, 'axis': 'time'}",
	    "axis: expected one of iteration, epoch; got \"time\"" },
	{ "{'id': 1, 'axis': 3}",
	    "axis: expected one of iteration, epoch; got an integer" },
	{ "{'id': 1, 'extra': []}", "extra: expected a map, got an array" },
	{ "{'id': 1, 'list': {}}", "list: expected an array, got a map" },
	{ "{'id': 1, 'bogus': 1}", "unknown key \"bogus\"" },
	{ "{'id': 1, 'id': 2}", "id: duplicate key" },
	{ "{'id': 1, 5: 2}", "params: keys must be str, got an integer" },
	{ "{'id': 1, 'a\\nb': 2}", "unknown key \"a?b\"" },
	/* msgpack-c gives an empty str a NULL pointer: the first str of
	 * these has no bytes at all. */
	{ "{'': 2}", "unknown key \"\"" },
	{ "{'id': ''}", "id: a name has 1 to 64 characters, got 0" },
	{ "{'id': 1, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': 2}",
	    "unknown key \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"" },
};

static void
test_wrong(void **state)
{
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		struct req r;
		ig_err err = { 0 };
		int rc = read_req(*state, wrong[i].input, &r, &err);

		if (rc != IG_PROTO_INVALID_PARAMS ||
		    strcmp(err.message, wrong[i].message) != 0)
			fail_msg("%s: got %d \"%s\", want \"%s\"",
			    wrong[i].input, rc, err.message, wrong[i].message);
		/* Nothing left allocated, outs back to their defaults. */
		assert_null(r.label);
		assert_null(r.names.v);
	}
}

/* A failure after a string was read frees that string (ASan checks). */
static void
test_error_releases(void **state)
{
	struct req r;
	ig_err err = { 0 };

	assert_int_equal(read_req(*state,
	                     "{'label': 'x', 'names': ['a'], "
	                     "'id': 1, 'axis': 'nope'}",
	                     &r, &err),
	    IG_PROTO_INVALID_PARAMS);
	assert_null(r.label);
	assert_null(r.names.v);
	assert_int_equal(read_req(*state, "{'label': 'x'}", &r, &err),
	    IG_PROTO_INVALID_PARAMS);
	assert_string_equal(err.message, "id: required");
	assert_null(r.label);
}

static void
test_where_and_unknown(void **state)
{
	msgpack_object o = tu_obj(*state, "{'every': 0, 'new': 1}");
	int64_t every = 0;
	const ig_fdef defs[] = { { "every", IG_F_POS, false, NULL, &every } };
	ig_err err = { 0 };
	ig_fdef many[65];

	assert_int_equal(ig_map_read(&o, "handlers[2]", defs, 1, 0, &err),
	    IG_PROTO_INVALID_PARAMS);
	assert_string_equal(err.message,
	    "handlers[2].every: expected a positive integer, got 0");
	o = tu_obj(*state, "{'new': 1, 'every': 3}");
	assert_int_equal(ig_map_read(&o, "handlers[2]", defs, 1, 0, &err),
	    IG_PROTO_INVALID_PARAMS);
	assert_string_equal(err.message, "handlers[2]: unknown key \"new\"");
	assert_int_equal(
	    ig_map_read(&o, "x", defs, 1, IG_READ_ALLOW_UNKNOWN, &err), 0);
	assert_int_equal(every, 3);

	memset(many, 0, sizeof many);
	assert_int_equal(
	    ig_map_read(&o, NULL, many, 65, 0, &err), IG_PROTO_INTERNAL);

	/* a path longer than PROTO_PATH_MAX (160) is cut at a character
	 * and marked: 200 bytes of "é" keep 78 of them */
	char where[201], want[IG_ERR_MAX];
	for (int i = 0; i < 100; i++)
		memcpy(where + 2 * i, "\xc3\xa9", 2);
	where[200] = '\0';
	snprintf(want, sizeof want,
	    "%.156s...: expected a positive integer, got 0", where);
	o = tu_obj(*state, "{'every': 0}");
	assert_int_equal(
	    ig_map_read(&o, where, defs, 1, 0, &err), IG_PROTO_INVALID_PARAMS);
	assert_string_equal(err.message, want);
}

static void
test_map_get(void **state)
{
	msgpack_object o = tu_obj(*state, "{1: 'int key', 'a': 1, 'b': 2}");
	msgpack_object a = tu_obj(*state, "['a']");

	assert_int_equal(ig_map_get(&o, "b")->via.u64, 2);
	assert_null(ig_map_get(&o, "c"));
	assert_null(ig_map_get(&a, "a"));
	assert_null(ig_map_get(NULL, "a"));
}

static void
test_name_check(void **state)
{
	ig_err err = { 0 };
	char long_name[IG_NAME_MAX + 2];

	(void)state;
	assert_int_equal(ig_name_check("mnist_1", 7, NULL, &err), 0);
	assert_int_equal(ig_name_check("1st", 3, NULL, &err), 0);
	assert_int_equal(ig_name_check("_", 1, NULL, &err), 0);
	assert_int_equal(ig_name_check("a.b-c", 5, NULL, &err), 0);
	assert_int_equal(
	    ig_name_check("007", 3, "name", &err), IG_PROTO_INVALID_PARAMS);
	assert_string_equal(
	    err.message, "name: a name cannot be all digits (run ids are)");
	assert_int_equal(
	    ig_name_check(".x", 2, NULL, &err), IG_PROTO_INVALID_PARAMS);
	assert_int_equal(
	    ig_name_check("a/b", 3, NULL, &err), IG_PROTO_INVALID_PARAMS);
	assert_int_equal(
	    ig_name_check("\xc3\xa9", 2, NULL, &err), IG_PROTO_INVALID_PARAMS);
	memset(long_name, 'a', sizeof long_name);
	assert_int_equal(ig_name_check(long_name, IG_NAME_MAX, NULL, &err), 0);
	assert_int_equal(ig_name_check(long_name, IG_NAME_MAX + 1, NULL, &err),
	    IG_PROTO_INVALID_PARAMS);
}

/* Bytes a worker wrote as a valid UTF-8 str: control characters kept (they
 * are data), what is not UTF-8 and NUL as U+FFFD. */
static void
test_utf8_repair(void **state)
{
	static const char in[] =
	    "ok \x1b[2J \xc3\xa9 \xff \xe2\x82 \xed\xa0\x80 \0!";
	char *s = ig_utf8_repair(in, sizeof in - 1);

	(void)state;
	assert_non_null(s);
	assert_string_equal(s,
	    "ok \x1b[2J \xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd!");
	free(s);
	assert_int_equal(
	    ig_utf8_seq((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	assert_int_equal(
	    ig_utf8_seq((const unsigned char *)"\xf0\x9f\x98", 3), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_all_types, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_defaults_and_nil, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_error_releases, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_where_and_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_get, setup, teardown),
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_utf8_repair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
