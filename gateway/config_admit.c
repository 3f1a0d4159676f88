/* The keys that say which connections a route admits (config_admit.h):
 * who (allow, deny, proxy_from), how many at once (max_children,
 * max_per_source, on_busy, busy_message) and how often (max_rate,
 * max_rate_per_source). */
#include "config_admit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_key_table.h"
#include "rate.h"

/* ---- how many ---- */

void config_admit_max_children(struct key_line *l)
{
	l->r->max_children = (unsigned)l->number;
}

void config_admit_max_per_source(struct key_line *l)
{
	l->r->max_per_source = (unsigned)l->number;
}

void config_admit_on_busy(struct key_line *l)
{
	l->r->on_busy = (enum on_busy)l->choice;
}

/* busy_message: \r \n \t \\ escapes (and \; like every value). */
void config_admit_busy_message(struct key_line *l)
{
	const char *v = l->text;
	char *out = malloc(strlen(v) + 1);
	size_t n = 0;

	if (!out) {
		key_bad(l, "%s", strerror(ENOMEM));
		return;
	}
	for (; *v; v++) {
		if (*v != '\\') {
			out[n++] = *v;
			continue;
		}
		switch (*++v) {
		case 'r': out[n++] = '\r'; break;
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case '\\': out[n++] = '\\'; break;
		case ';': out[n++] = ';'; break;
		default:
			key_bad(l, "busy_message: unknown escape '\\%.1s'", v);
			free(out);
			return;
		}
	}
	l->r->busy_message = out;
	l->r->busy_len = n;
}

/* ---- who ---- */

/* Blanks or commas separate entries; proxy_from also takes "unix", the
 * route's Unix listeners. */
static void route_acl(struct key_line *l, struct acl *acl, int *unix_word)
{
	struct strv words = { 0 };
	const char *err;
	char *list = strdup(l->text);

	for (char *c = list; c && *c; c++)
		if (*c == ',')
			*c = ' ';
	if (!list || words_split(list, &words, &err) < 0) {
		key_bad(l, "%s: %s", l->name, list ? err : strerror(ENOMEM));
		strv_free(&words);
		free(list);
		return;
	}
	for (size_t i = 0; i < words.n; i++) {
		struct cidr c;
		if (unix_word && strcmp(words.v[i], "unix") == 0) {
			*unix_word = 1;
			continue;
		}
		if (cidr_parse(words.v[i], &c, &err) < 0) {
			key_bad(l, "%s '%s': %s", l->name, words.v[i], err);
			break;
		}
		if (acl_add(acl, &c) < 0) {
			key_bad(l, "%s", strerror(ENOMEM));
			break;
		}
	}
	strv_free(&words);
	free(list);
}

void config_admit_allow(struct key_line *l)
{
	route_acl(l, &l->r->allow, NULL);
}

void config_admit_deny(struct key_line *l)
{
	route_acl(l, &l->r->deny, NULL);
}

void config_admit_proxy_from(struct key_line *l)
{
	route_acl(l, &l->r->proxy_from, &l->r->proxy_from_unix);
}

/* ---- how often ---- */

static void take_rate(struct key_line *l, struct rate *out)
{
	if (rate_parse(l->text, out) < 0)
		key_bad(l, "%s: expected N/s or N/m, N from 1 to %d, not '%s'",
		    l->name, RATE_MAX, l->text);
}

void config_admit_max_rate(struct key_line *l)
{
	take_rate(l, &l->r->max_rate);
}

void config_admit_max_rate_per_source(struct key_line *l)
{
	take_rate(l, &l->r->max_rate_per_source);
}
