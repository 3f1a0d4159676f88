#include "words.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int strv_push(struct strv *s, char *str)
{
	if (!str)
		return -ENOMEM;
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		char **v = realloc(s->v, cap * sizeof *v);
		if (!v) {
			free(str);
			return -ENOMEM;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

int strv_pushdup(struct strv *s, const char *str)
{
	return strv_push(s, strdup(str));
}

void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int words_split(const char *line, struct strv *out, const char **err)
{
	size_t len = strlen(line);
	const char *p = line;
	char *word, *w;
	size_t had = out->n;

	*err = NULL;
	for (;;) {

		while (is_blank(*p))
			p++;
		if (!*p)
			return 0;
		/* A word is never longer than what is left of the line. */
		word = w = malloc(len + 1);
		if (!word) {
			*err = strerror(ENOMEM);
			return -1;
		}
		while (*p && !is_blank(*p)) {
			if (*p == '\'') {
				for (p++; *p && *p != '\''; p++) {
					if (p[0] == '\\' && p[1] == ';')
						p++;
					*w++ = *p;
				}
				if (!*p) {
					*err = "unterminated single quote";
					goto fail;
				}
				p++;
			} else if (*p == '"') {
				for (p++; *p && *p != '"'; p++) {
					if (p[0] == '\\' && (p[1] == '"' ||
					    p[1] == '\\' || p[1] == ';'))
						p++;
					*w++ = *p;
				}
				if (!*p) {
					*err = "unterminated double quote";
					goto fail;
				}
				p++;
			} else if (*p == '\\') {
				if (!p[1]) {
					*err = "backslash at end of line";
					goto fail;
				}
				*w++ = p[1];
				p += 2;
			} else {
				*w++ = *p++;
			}
		}
		*w = '\0';
		if (strv_push(out, word) < 0) {
			*err = strerror(ENOMEM);
			return -1;
		}
	}
fail:
	free(word);
	/* All or nothing: the words of this line already appended go. */
	while (out->n > had)
		free(out->v[--out->n]);
	if (out->v)
		out->v[out->n] = NULL;
	return -1;
}

char *words_unescape(const char *value)
{
	char *s = malloc(strlen(value) + 1), *w = s;

	if (!s)
		return NULL;
	for (const char *p = value; *p; p++) {
		if (p[0] == '\\' && p[1] == ';')
			p++;
		*w++ = *p;
	}
	*w = '\0';
	return s;
}
