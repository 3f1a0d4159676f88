/* args splitting: the SPEC's quoting rules, no expansion of any kind. */
#include <string.h>

#include "unit.h"
#include "words.h"

static struct strv split_ok(const char *line)
{
	struct strv s = { 0 };
	const char *err;

	ck_assert_msg(words_split(line, &s, &err) == 0, "split '%s': %s", line, err);
	return s;
}

static void expect(const char *line, const char *const *words, size_t n)
{
	struct strv s = split_ok(line);

	ck_assert_uint_eq(s.n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(s.v[i], words[i]);
	ck_assert_ptr_null(s.v ? s.v[n] : NULL);
	strv_free(&s);
}

#define EXPECT(line, ...) do {                                          \
	const char *const w_[] = { __VA_ARGS__ };                       \
	expect(line, w_, sizeof w_ / sizeof *w_);                       \
} while (0)

START_TEST(blanks_separate)
{
	EXPECT("--count 10", "--count", "10");
	EXPECT("  a\t\tb  ", "a", "b");
}
END_TEST

START_TEST(empty_line_has_no_words)
{
	struct strv s = split_ok("   ");

	ck_assert_uint_eq(s.n, 0);
	strv_free(&s);
}
END_TEST

START_TEST(single_quotes_are_literal)
{
	EXPECT("'a b' '$HOME' 'x\\y'", "a b", "$HOME", "x\\y");
	EXPECT("''", "");
}
END_TEST

START_TEST(double_quotes_honour_two_escapes)
{
	EXPECT("\"a \\\"b\\\" \\\\ \\n\"", "a \"b\" \\ \\n");
}
END_TEST

START_TEST(backslash_outside_quotes)
{
	EXPECT("a\\ b c\\'d \\$x", "a b", "c'd", "$x");
}
END_TEST

START_TEST(escaped_semicolon_everywhere)
{
	EXPECT("a\\;b '\\;' \"\\;\"", "a;b", ";", ";");
}
END_TEST

START_TEST(adjacent_parts_join)
{
	EXPECT("pre'mid dle'\"post\"", "premid dlepost");
}
END_TEST

START_TEST(no_expansion)
{
	EXPECT("$PATH * ~ `x` $(y)", "$PATH", "*", "~", "`x`", "$(y)");
}
END_TEST

START_TEST(unterminated_quotes_are_errors)
{
	struct strv s = { 0 };
	const char *err;

	ck_assert_int_eq(words_split("a 'b", &s, &err), -1);
	ck_assert_str_eq(err, "unterminated single quote");
	ck_assert_int_eq(words_split("\"b", &s, &err), -1);
	ck_assert_str_eq(err, "unterminated double quote");
	ck_assert_int_eq(words_split("b\\", &s, &err), -1);
	ck_assert_str_eq(err, "backslash at end of line");
	strv_free(&s);
}
END_TEST

START_TEST(lines_append)
{
	struct strv s = split_ok("a b");
	const char *err;

	ck_assert_int_eq(words_split("c", &s, &err), 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.v[2], "c");
	strv_free(&s);
}
END_TEST

START_TEST(failed_line_appends_nothing)
{
	struct strv s = split_ok("keep");
	const char *err;

	ck_assert_int_eq(words_split("a b 'c", &s, &err), -1);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0], "keep");
	ck_assert_ptr_null(s.v[1]);
	strv_free(&s);
}
END_TEST

START_TEST(unescape_semicolon_only)
{
	char *s = words_unescape("a\\;b\\n 'c'");

	ck_assert_str_eq(s, "a;b\\n 'c'");
	free(s);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("words");
	TCase *tc = tcase_create("split");

	tcase_add_test(tc, blanks_separate);
	tcase_add_test(tc, empty_line_has_no_words);
	tcase_add_test(tc, single_quotes_are_literal);
	tcase_add_test(tc, double_quotes_honour_two_escapes);
	tcase_add_test(tc, backslash_outside_quotes);
	tcase_add_test(tc, escaped_semicolon_everywhere);
	tcase_add_test(tc, adjacent_parts_join);
	tcase_add_test(tc, no_expansion);
	tcase_add_test(tc, unterminated_quotes_are_errors);
	tcase_add_test(tc, lines_append);
	tcase_add_test(tc, failed_line_appends_nothing);
	tcase_add_test(tc, unescape_semicolon_only);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
