/* Splitting config values into words (args), and value unescaping. */
#ifndef GATEWAY_WORDS_H
#define GATEWAY_WORDS_H

#include <stddef.h>

/* A growable NULL-terminated vector of malloc'd strings. */
struct strv {
	char **v;
	size_t n, cap;
};

int strv_push(struct strv *s, char *str); /* takes str; -ENOMEM */
int strv_pushdup(struct strv *s, const char *str);
void strv_free(struct strv *s);

/* Appends the words of `line` to `out`, split on blanks as a POSIX shell
 * does but with no expansion: '...' is literal, "..." honours \" and \\,
 * a backslash outside quotes makes the next character literal, and \;
 * is ; everywhere (inih ends a value at a blank followed by ;). Returns 0,
 * or -1 with *err naming the problem and nothing appended. */
int words_split(const char *line, struct strv *out, const char **err);

/* A copy of `value` with every \; turned into ;. NULL on ENOMEM. */
char *words_unescape(const char *value);

#endif
