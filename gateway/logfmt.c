/* Building one event line: key=value pairs, or one JSON object, with a
 * timestamp and an event name first; every value escaped so that nothing
 * a child or a client sends can forge a line or a field. log.c writes
 * the finished lines. */
#include "logfmt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Atomic: the writer thread reads it too (a log_dropped line). */
static _Atomic int log_format = LOG_TEXT;

void log_set_format(enum log_format f)
{
	log_format = f;
}

/* What a field may still take: "}\n" always fits after it. */
static size_t room(const struct logline *l)
{
	return sizeof l->buf - 2 - l->len;
}

static void put(struct logline *l, const char *s, size_t n)
{
	if (n > room(l))
		n = room(l);
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void puts_(struct logline *l, const char *s)
{
	put(l, s, strlen(s));
}

static int needs_quote(const char *v, size_t n)
{
	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = v[i];
		if (c <= ' ' || c == 0x7f || c == '"' || c == '=' || c == '\\')
			return 1;
	}
	return 0;
}

/* Escapes shared by both formats: \n \" \\ and \xNN (JSON: \u00NN) for
 * other control bytes, so no value can forge a line or a field. */
static size_t escape(char *dst, size_t cap, const char *v, size_t n, int json)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 6 < cap; i++) {
		unsigned char c = v[i];
		if (c == '\n') {
			dst[o++] = '\\';
			dst[o++] = 'n';
		} else if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = c;
		} else if (c < ' ' || c == 0x7f) {
			o += snprintf(dst + o, cap - o, json ? "\\u%04x" : "\\x%02x", c);
		} else {
			dst[o++] = c;
		}
	}
	return o;
}

size_t log_quote(char *dst, size_t cap, const char *v, size_t n)
{
	size_t o;

	if (cap < 8)
		return 0;
	if (!needs_quote(v, n)) {
		o = n < cap ? n : cap - 1;
		memcpy(dst, v, o);
		return o;
	}
	dst[0] = '"';
	o = 1 + escape(dst + 1, cap - 2, v, n, 0);
	dst[o++] = '"';
	return o;
}

/* JSON strings must be valid UTF-8: each invalid byte becomes U+FFFD. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
	size_t need;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

static void put_json_string(struct logline *l, const char *v, size_t n)
{
	char tmp[16];
	const unsigned char *s = (const unsigned char *)v;

	put(l, "\"", 1);
	for (size_t i = 0; i < n;) {
		size_t k = utf8_valid_len(s + i, n - i);
		const char *piece = v + i;
		size_t len = k;
		if (k == 0) {
			piece = "\xef\xbf\xbd";
			len = 3;
			k = 1;
		} else if (k == 1) {
			piece = tmp;
			len = escape(tmp, sizeof tmp, v + i, 1, 1);
		}
		/* A cut value ends on a whole character or escape, and
		 * keeps its closing quote: the line stays valid JSON. */
		if (len + 1 > room(l))
			break;
		put(l, piece, len);
		i += k;
	}
	put(l, "\"", 1);
}

/* A field goes in whole or not at all: its key only with room for a
 * number or a cut string after it. */
#define FIELD_MIN 32

static int put_key(struct logline *l, const char *key)
{
	if (strlen(key) + 4 + FIELD_MIN > room(l))
		return -1;
	if (l->json) {
		put(l, ",\"", 2);
		puts_(l, key);
		put(l, "\":", 2);
	} else {
		put(l, " ", 1);
		puts_(l, key);
		put(l, "=", 1);
	}
	return 0;
}

void log_begin(struct logline *l, const char *event)
{
	struct timespec ts;
	struct tm tm;
	char stamp[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000));
	l->len = 0;
	l->json = log_format == LOG_JSON;
	if (l->json) {
		puts_(l, "{\"ts\":\"");
		puts_(l, stamp);
		puts_(l, "\",\"event\":");
		put_json_string(l, event, strlen(event));
	} else {
		puts_(l, "ts=");
		puts_(l, stamp);
		puts_(l, " event=");
		puts_(l, event);
	}
}

void log_mem(struct logline *l, const char *key, const char *value, size_t n)
{
	char tmp[sizeof l->buf];

	if (put_key(l, key) < 0)
		return;
	if (l->json)
		put_json_string(l, value, n);
	else
		put(l, tmp, log_quote(tmp, room(l) + 1, value, n));
}

void log_str(struct logline *l, const char *key, const char *value)
{
	log_mem(l, key, value, strlen(value));
}

void log_int(struct logline *l, const char *key, long long value)
{
	char tmp[32];

	if (put_key(l, key) < 0)
		return;
	put(l, tmp, snprintf(tmp, sizeof tmp, "%lld", value));
}

void log_uint(struct logline *l, const char *key, unsigned long long value)
{
	char tmp[32];

	if (put_key(l, key) < 0)
		return;
	put(l, tmp, snprintf(tmp, sizeof tmp, "%llu", value));
}

void log_seconds(struct logline *l, const char *key, double secs)
{
	char tmp[48];
	int n;

	if (put_key(l, key) < 0)
		return;
	/* snprintf counts what it would have written: a huge value must
	 * not be copied from past tmp. */
	n = snprintf(tmp, sizeof tmp, "%.3f", secs);
	if (n < 0 || (size_t)n >= sizeof tmp)
		n = snprintf(tmp, sizeof tmp, "%.3e", secs);
	put(l, tmp, (size_t)n);
}

void logline_finish(struct logline *l)
{
	if (l->json)
		l->buf[l->len++] = '}';
	l->buf[l->len++] = '\n';
}
