/* spawn: what the clone path's child calls to change its ids. */
#include <string.h>
#include <sys/syscall.h>

#include "spawn.h"
#include "unit.h"

#ifndef GATEWAY_SPAWN_UV
/* Where an architecture has the *32 calls (32-bit x86 and ARM), the plain
 * ones take 16-bit ids: a uid above 65535 must go through the *32 one. */
START_TEST(id_calls_take_32_bit_ids)
{
	long groups, gid, uid;

	spawn_id_calls(&groups, &gid, &uid);
#ifdef SYS_setgroups32
	ck_assert_int_eq(groups, SYS_setgroups32);
#else
	ck_assert_int_eq(groups, SYS_setgroups);
#endif
#ifdef SYS_setresgid32
	ck_assert_int_eq(gid, SYS_setresgid32);
#else
	ck_assert_int_eq(gid, SYS_setresgid);
#endif
#ifdef SYS_setresuid32
	ck_assert_int_eq(uid, SYS_setresuid32);
#else
	ck_assert_int_eq(uid, SYS_setresuid);
#endif
}
END_TEST
#else
/* The portable path sets ids in the setup step, through glibc. */
START_TEST(path_is_uv_spawn)
{
	ck_assert_str_eq(spawn_path, "uv_spawn");
}
END_TEST
#endif

static Suite *suite(void)
{
	Suite *s = suite_create("spawn");
	TCase *tc = tcase_create("ids");

#ifndef GATEWAY_SPAWN_UV
	tcase_add_test(tc, id_calls_take_32_bit_ids);
#else
	tcase_add_test(tc, path_is_uv_spawn);
#endif
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
