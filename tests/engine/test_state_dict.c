/*
 * test_state_dict.c - state_dict, load_state_dict and their msgpack form
 * (rules 20, 21).
 */
#include "trace.h"

#include <msgpack.h>
#include <string.h>

static ig_state_dict
sd_make(
    int64_t iteration, int64_t epoch, int64_t epoch_length, int64_t max_epochs)
{
	ig_state_dict sd = { iteration, epoch, epoch_length, max_epochs, NULL,
		0 };
	return sd;
}

/* Rule 20: a fresh engine gives unknown, unknown, 0, and no epoch. */
static void
test_rule20_fresh_engine_state_dict(void **state)
{
	fixture *f = *state;
	ig_state_dict sd;
	assert_int_equal(ig_engine_state_dict(f->e, &sd), 0);
	assert_int_equal(sd.epoch_length, IG_NONE);
	assert_int_equal(sd.max_epochs, IG_NONE);
	assert_int_equal(sd.iteration, 0);
	assert_int_equal(sd.epoch, IG_NONE);
	assert_int_equal(sd.nuser, 0);
	ig_state_dict_clear(&sd);
}

/* Rule 20: after a run: epoch_length, max_epochs, iteration, user keys. */
static int
set_alpha(ig_engine *e, int event, void *ud)
{
	(void)event, (void)ud;
	ig_value v = { .type = IG_VALUE_DOUBLE, .u.d = 0.25 };
	return ig_engine_set_user(e, "alpha", &v);
}

static void
test_rule20_state_dict_after_run_with_user_key(void **state)
{
	fixture *f = *state;
	assert_int_equal(ig_engine_declare_user_key(f->e, "alpha"), 0);
	assert_true(ig_engine_on(f->e, E_ST, NULL, set_alpha, NULL) != 0);
	f->d = ig_data_range(3);
	ig_run_args a = run_args(2, IG_NONE, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	ig_state_dict sd;
	assert_int_equal(ig_engine_state_dict(f->e, &sd), 0);
	assert_int_equal(sd.epoch_length, 3);
	assert_int_equal(sd.max_epochs, 2);
	assert_int_equal(sd.iteration, 6);
	assert_int_equal(sd.epoch, IG_NONE);
	assert_int_equal(sd.nuser, 1);
	assert_string_equal(sd.user[0].key, "alpha");
	assert_int_equal(sd.user[0].value.type, IG_VALUE_DOUBLE);
	assert_true(sd.user[0].value.u.d == 0.25);
	ig_state_dict_clear(&sd);
}

/* Rule 21: iteration=k gives epoch k / epoch_length; epoch=e gives
 * iteration e * epoch_length. */
static void
test_rule21_load_values(void **state)
{
	fixture *f = *state;
	static const struct {
		int64_t it, ep, el, max, want_it, want_ep;
	} cases[] = {
		{ 7, IG_NONE, 3, 5, 7, 2 },
		{ 6, IG_NONE, 3, 5, 6, 2 },
		{ 0, IG_NONE, 3, 5, 0, 0 },
		{ IG_NONE, 2, 4, 5, 8, 2 },
		{ IG_NONE, 5, 4, 5, 20, 5 },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		ig_state_dict sd = sd_make(
		    cases[c].it, cases[c].ep, cases[c].el, cases[c].max);
		assert_int_equal(ig_engine_load_state_dict(f->e, &sd), 0);
		const ig_state *s = ig_engine_state(f->e);
		assert_int_equal(s->iteration, cases[c].want_it);
		assert_int_equal(s->epoch, cases[c].want_ep);
		assert_int_equal(s->epoch_length, cases[c].el);
		assert_int_equal(s->max_epochs, cases[c].max);
	}
}

/* Rule 21: validation errors, and nothing changes on error. */
static void
test_rule21_validation_errors(void **state)
{
	fixture *f = *state;
	assert_int_equal(ig_engine_declare_user_key(f->e, "beta"), 0);
	ig_state_dict good = sd_make(4, IG_NONE, 3, 3);
	ig_user_entry beta = { "beta", { .type = IG_VALUE_INT, .u.i = 7 } };
	good.user = &beta;
	good.nuser = 1;
	assert_int_equal(ig_engine_load_state_dict(f->e, &good), 0);
	assert_int_equal(ig_engine_user(f->e, "beta")->u.i, 7);

	ig_user_entry wrong_key = { "gamma",
		{ .type = IG_VALUE_INT, .u.i = 1 } };
	const ig_state_dict bad[] = {
		sd_make(5, 1, 3, 3), /* both iteration and epoch */
		sd_make(IG_NONE, IG_NONE, 3, 3), /* neither */
		sd_make(IG_NONE, 1, IG_NONE,
		    3), /* epoch with unknown epoch_length */
		sd_make(IG_NONE, 4, 3, 3), /* epoch > max_epochs */
		{ 2, IG_NONE, 3, 3, NULL, 0 }, /* declared user key missing */
		{ 2, IG_NONE, 3, 3, &wrong_key, 1 }, /* ... still missing */
	};
	for (size_t c = 0; c < sizeof(bad) / sizeof(bad[0]); c++) {
		ig_state_dict sd = bad[c];
		if (c < 4) {
			sd.user = &beta;
			sd.nuser = 1;
		}
		int rc = ig_engine_load_state_dict(f->e, &sd);
		if (rc == 0)
			fail_msg("bad state_dict %zu accepted", c);
		assert_int_equal(rc, IG_EINVAL);
		assert_string_not_equal(ig_engine_error(f->e), "");
		const ig_state *s = ig_engine_state(f->e);
		assert_int_equal(s->iteration, 4);
		assert_int_equal(s->epoch, 1);
		assert_int_equal(s->epoch_length, 3);
		assert_int_equal(s->max_epochs, 3);
		assert_int_equal(ig_engine_user(f->e, "beta")->u.i, 7);
	}
}

/* Rules 20, 21: msgpack round trip, keys and errors. */
static void
test_rule20_21_msgpack_round_trip(void **state)
{
	fixture *f = *state;
	assert_int_equal(ig_engine_declare_user_key(f->e, "alpha"), 0);
	assert_true(ig_engine_on(f->e, E_ST, NULL, set_alpha, NULL) != 0);
	f->d = ig_data_range(3);
	ig_run_args a = run_args(2, IG_NONE, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	ig_state_dict sd;
	assert_int_equal(ig_engine_state_dict(f->e, &sd), 0);

	msgpack_sbuffer buf;
	msgpack_sbuffer_init(&buf);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
	assert_int_equal(ig_state_dict_pack(&sd, &pk), 0);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, NULL),
	    MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
	/* Ignite's keys, no epoch. */
	bool have_it = false, have_el = false, have_max = false,
	     have_epoch = false;
	for (uint32_t i = 0; i < u.data.via.map.size; i++) {
		const msgpack_object *k = &u.data.via.map.ptr[i].key;
		assert_int_equal(k->type, MSGPACK_OBJECT_STR);
		have_it |= k->via.str.size == 9 &&
		    !memcmp(k->via.str.ptr, "iteration", 9);
		have_el |= k->via.str.size == 12 &&
		    !memcmp(k->via.str.ptr, "epoch_length", 12);
		have_max |= k->via.str.size == 10 &&
		    !memcmp(k->via.str.ptr, "max_epochs", 10);
		have_epoch |=
		    k->via.str.size == 5 && !memcmp(k->via.str.ptr, "epoch", 5);
	}
	assert_true(have_it && have_el && have_max && !have_epoch);

	ig_state_dict back;
	char err[128] = "";
	assert_int_equal(
	    ig_state_dict_unpack(&u.data, &back, err, sizeof(err)), 0);
	assert_int_equal(back.iteration, 6);
	assert_int_equal(back.epoch, IG_NONE);
	assert_int_equal(back.epoch_length, 3);
	assert_int_equal(back.max_epochs, 2);
	assert_int_equal(back.nuser, 1);
	assert_string_equal(back.user[0].key, "alpha");
	assert_true(back.user[0].value.u.d == 0.25);

	proc_rec rec2;
	ig_engine *e2 = new_engine(&rec2);
	assert_int_equal(ig_engine_declare_user_key(e2, "alpha"), 0);
	assert_int_equal(ig_engine_load_state_dict(e2, &back), 0);
	assert_int_equal(ig_engine_state(e2)->iteration, 6);
	assert_int_equal(ig_engine_state(e2)->epoch, 2);
	ig_engine_free(e2);

	ig_state_dict_clear(&back);
	ig_state_dict_clear(&sd);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&buf);
}

/* Rule 21 / the msgpack form: unknown is nil; a wrong type is an error
 * naming the key. */
static void
unpack_map(const char *const *keys, const int *kinds, size_t n, int want_rc,
    const char *want_in_err, ig_state_dict *out)
{
	msgpack_sbuffer buf;
	msgpack_sbuffer_init(&buf);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, n);
	for (size_t i = 0; i < n; i++) {
		msgpack_pack_str(&pk, strlen(keys[i]));
		msgpack_pack_str_body(&pk, keys[i], strlen(keys[i]));
		if (kinds[i] == 0)
			msgpack_pack_nil(&pk);
		else if (kinds[i] == 1)
			msgpack_pack_int64(&pk, 4);
		else
			msgpack_pack_str_with_body(&pk, "x", 1);
	}
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, NULL),
	    MSGPACK_UNPACK_SUCCESS);
	char err[128] = "";
	int rc = ig_state_dict_unpack(&u.data, out, err, sizeof(err));
	if (want_rc == 0) {
		assert_int_equal(rc, 0);
	} else {
		assert_true(rc < 0);
		assert_non_null(strstr(err, want_in_err));
	}
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&buf);
}

static void
test_rule21_msgpack_unpack_types(void **state)
{
	(void)state;
	static const char *const keys[] = { "iteration", "epoch_length",
		"max_epochs" };
	ig_state_dict sd;
	unpack_map(keys, (const int[]){ 1, 0, 1 }, 3, 0, NULL, &sd);
	assert_int_equal(sd.iteration, 4);
	assert_int_equal(sd.epoch_length, IG_NONE);
	assert_int_equal(sd.max_epochs, 4);
	ig_state_dict_clear(&sd);
	unpack_map(keys, (const int[]){ 2, 1, 1 }, 3, -1, "iteration", &sd);
	unpack_map(keys, (const int[]){ 1, 2, 1 }, 3, -1, "epoch_length", &sd);
	unpack_map(keys, (const int[]){ 1, 1, 2 }, 3, -1, "max_epochs", &sd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST_BARE(test_rule20_fresh_engine_state_dict),
		FX_TEST_BARE(test_rule20_state_dict_after_run_with_user_key),
		FX_TEST_BARE(test_rule21_load_values),
		FX_TEST_BARE(test_rule21_validation_errors),
		FX_TEST_BARE(test_rule20_21_msgpack_round_trip),
		cmocka_unit_test(test_rule21_msgpack_unpack_types),
	};
	return cmocka_run_group_tests_name(
	    "engine_state_dict (rules 20, 21)", tests, NULL, NULL);
}
