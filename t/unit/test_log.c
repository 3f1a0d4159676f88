/* Event log: text quoting and escapes, whole lines in both formats, read
 * back from fd 2 and parsed as a consumer would; a pipe on fd 2 that
 * nobody reads for a while. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

/* ---- log_quote ---- */

static char *quote(const char *v, size_t n)
{
	static char out[1024];
	size_t k = log_quote(out, sizeof out, v, n);

	ck_assert_uint_lt(k, sizeof out);
	out[k] = '\0';
	return out;
}

#define Q(s) quote(s, sizeof(s) - 1)

START_TEST(quote_plain_values_bare)
{
	ck_assert_str_eq(Q("tick"), "tick");
	ck_assert_str_eq(Q("127.0.0.1:51122"), "127.0.0.1:51122");
	ck_assert_str_eq(Q("[::1]:80"), "[::1]:80");
	ck_assert_str_eq(Q("/a/b,c;d'e"), "/a/b,c;d'e");
	ck_assert_str_eq(Q("caf\xc3\xa9"), "caf\xc3\xa9");
}
END_TEST

START_TEST(quote_empty)
{
	ck_assert_str_eq(Q(""), "\"\"");
}
END_TEST

START_TEST(quote_blanks)
{
	ck_assert_str_eq(Q("a b"), "\"a b\"");
	ck_assert_str_eq(Q(" "), "\" \"");
	ck_assert_str_eq(Q("a\tb"), "\"a\\x09b\"");
}
END_TEST

START_TEST(quote_quote_equals_backslash)
{
	ck_assert_str_eq(Q("say \"hi\""), "\"say \\\"hi\\\"\"");
	ck_assert_str_eq(Q("\""), "\"\\\"\"");
	ck_assert_str_eq(Q("a=b"), "\"a=b\"");
	ck_assert_str_eq(Q("c:\\x"), "\"c:\\\\x\"");
}
END_TEST

START_TEST(quote_newline_cannot_forge_a_line)
{
	ck_assert_str_eq(Q("x\nts=1 event=fake"), "\"x\\nts=1 event=fake\"");
	ck_assert_str_eq(Q("\r\n"), "\"\\x0d\\n\"");
}
END_TEST

START_TEST(quote_control_bytes_as_hex)
{
	ck_assert_str_eq(Q("\x01"), "\"\\x01\"");
	ck_assert_str_eq(Q("\x1b[31m"), "\"\\x1b[31m\"");
	ck_assert_str_eq(Q("a\x7f"), "\"a\\x7f\"");
}
END_TEST

START_TEST(quote_nul_byte_inside_value)
{
	ck_assert_str_eq(quote("a\0b", 3), "\"a\\x00b\"");
}
END_TEST

START_TEST(quote_cut_value_stays_quoted)
{
	char big[100], out[16];
	size_t k;

	memset(big, '\n', sizeof big);
	k = log_quote(out, sizeof out, big, sizeof big);
	ck_assert_uint_lt(k, sizeof out);
	ck_assert_int_eq(out[0], '"');
	ck_assert_int_eq(out[k - 1], '"');
	/* Only whole escapes: "\n\n...\n" */
	ck_assert_uint_eq((k - 2) % 2, 0);
	for (size_t i = 1; i + 1 < k; i += 2)
		ck_assert(out[i] == '\\' && out[i + 1] == 'n');
}
END_TEST

START_TEST(quote_cut_plain_value)
{
	char out[8];
	size_t k = log_quote(out, sizeof out, "abcdefghijkl", 12);

	ck_assert_uint_eq(k, 7);
	ck_assert_mem_eq(out, "abcdefg", 7);
}
END_TEST

/* ---- whole lines, read back from fd 2 ---- */

/* Runs fn with fd 2 on a temporary file and returns what it wrote. */
static char *capture(void (*fn)(void *), void *arg)
{
	char path[] = "/tmp/test_log.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	char *buf = calloc(1, 65536);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	ck_assert_ptr_nonnull(buf);
	unlink(path);
	fflush(stderr);
	ck_assert_int_eq(dup2(fd, 2), 2);
	fn(arg);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	n = pread(fd, buf, 65535, 0);
	ck_assert_int_ge(n, 0);
	close(fd);
	return buf;
}

/* One line's fields, decoded. */
struct field {
	char key[64];
	char val[16384];
	size_t len;
};

struct fields {
	struct field f[16];
	size_t n;
};

static const struct field *field(const struct fields *fs, const char *key)
{
	for (size_t i = 0; i < fs->n; i++)
		if (strcmp(fs->f[i].key, key) == 0)
			return &fs->f[i];
	return NULL;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* key=value pairs separated by one blank, ending with exactly one "\n":
 * a value is bare (no blank, '"', '=', '\' or control byte) or quoted
 * with \n \" \\ \xNN escapes only. */
static void parse_text(const char *line, struct fields *fs)
{
	const char *p = line;

	fs->n = 0;
	ck_assert_ptr_nonnull(strchr(line, '\n'));
	ck_assert_str_eq(strchr(line, '\n'), "\n");
	while (*p != '\n') {
		struct field *f = &fs->f[fs->n++];
		size_t k = strcspn(p, "=");

		ck_assert_uint_lt(fs->n, 17);
		ck_assert_msg(p[k] == '=' && k > 0 && k < sizeof f->key, "no key at '%.200s'", p);
		memcpy(f->key, p, k);
		f->key[k] = '\0';
		p += k + 1;
		f->len = 0;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				unsigned char c = *p;
				ck_assert_msg(c >= ' ' && c != 0x7f, "raw control byte in '%.200s'", line);
				if (c == '\\') {
					p++;
					if (*p == 'n')
						c = '\n';
					else if (*p == '"' || *p == '\\')
						c = *p;
					else {
						ck_assert_msg(*p == 'x' && hexval(p[1]) >= 0 &&
						    hexval(p[2]) >= 0, "bad escape in '%.200s'", line);
						c = (unsigned char)(hexval(p[1]) * 16 + hexval(p[2]));
						p += 2;
					}
				}
				f->val[f->len++] = (char)c;
			}
			p++;
		} else {
			for (; *p != ' ' && *p != '\n'; p++) {
				unsigned char c = *p;
				ck_assert_msg(c > ' ' && c != 0x7f && c != '"' &&
				    c != '=' && c != '\\', "bad bare value in '%.200s'", line);
				f->val[f->len++] = (char)c;
			}
			ck_assert_msg(f->len > 0, "empty bare value in '%.200s'", line);
		}
		f->val[f->len] = '\0';
		if (*p == ' ')
			p++;
		else
			ck_assert_int_eq(*p, '\n');
	}
	ck_assert_str_eq(p, "\n");
}

/* Length of one valid UTF-8 sequence at s (RFC 3629), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 :
	    s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

static void put_utf8(struct field *f, unsigned cp)
{
	ck_assert_msg(cp < 0xd800 || cp > 0xdfff, "surrogate \\u%04x", cp);
	if (cp < 0x80) {
		f->val[f->len++] = (char)cp;
	} else if (cp < 0x800) {
		f->val[f->len++] = (char)(0xc0 | cp >> 6);
		f->val[f->len++] = (char)(0x80 | (cp & 0x3f));
	} else {
		f->val[f->len++] = (char)(0xe0 | cp >> 12);
		f->val[f->len++] = (char)(0x80 | (cp >> 6 & 0x3f));
		f->val[f->len++] = (char)(0x80 | (cp & 0x3f));
	}
}

static const char *json_string(const char *p, struct field *f, const char *line)
{
	ck_assert_msg(*p == '"', "expected a string at '%.200s'", p);
	f->len = 0;
	for (p++; *p != '"';) {
		unsigned char c = *p;
		size_t k;
		ck_assert_msg(c >= ' ', "raw control byte in '%.200s'", line);
		if (c != '\\') {
			k = utf8_len((const unsigned char *)p);
			ck_assert_msg(k > 0, "invalid UTF-8 in '%.200s'", line);
			memcpy(f->val + f->len, p, k);
			f->len += k;
			p += k;
			continue;
		}
		p++;
		switch (*p) {
		case '"': case '\\': case '/': f->val[f->len++] = *p; break;
		case 'b': f->val[f->len++] = '\b'; break;
		case 'f': f->val[f->len++] = '\f'; break;
		case 'n': f->val[f->len++] = '\n'; break;
		case 'r': f->val[f->len++] = '\r'; break;
		case 't': f->val[f->len++] = '\t'; break;
		case 'u': {
			unsigned cp = 0;
			for (int i = 1; i <= 4; i++) {
				ck_assert_msg(hexval(p[i]) >= 0, "bad \\u in '%.200s'", line);
				cp = cp * 16 + (unsigned)hexval(p[i]);
			}
			put_utf8(f, cp);
			p += 4;
			break;
		}
		default:
			ck_abort_msg("bad escape in '%.200s'", line);
		}
		p++;
	}
	f->val[f->len] = '\0';
	return p + 1;
}

/* One flat JSON object of strings and numbers, then exactly one "\n". */
static void parse_json(const char *line, struct fields *fs)
{
	const char *p = line;

	fs->n = 0;
	ck_assert_msg(*p == '{', "not an object: '%.200s'", line);
	p++;
	for (;;) {
		struct field *f = &fs->f[fs->n++];
		struct field key;

		ck_assert_uint_lt(fs->n, 17);
		p = json_string(p, &key, line);
		ck_assert_uint_lt(key.len, sizeof f->key);
		memcpy(f->key, key.val, key.len + 1);
		ck_assert_msg(*p == ':', "no ':' at '%.200s'", p);
		p++;
		if (*p == '"') {
			p = json_string(p, f, line);
		} else {
			char *end;
			strtod(p, &end);
			ck_assert_msg(end > p && (isdigit((unsigned char)*p) || *p == '-'),
			    "bad value at '%.200s'", p);
			f->len = (size_t)(end - p);
			memcpy(f->val, p, f->len);
			f->val[f->len] = '\0';
			p = end;
		}
		if (*p == '}')
			break;
		ck_assert_msg(*p == ',', "expected ',' at '%.200s'", p);
		p++;
	}
	ck_assert_str_eq(p, "}\n");
}

/* The timestamp: 2026-11-24T14:00:00.123Z */
static void assert_ts(const char *ts)
{
	const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";

	ck_assert_uint_eq(strlen(ts), strlen(shape));
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd')
			ck_assert_msg(isdigit((unsigned char)ts[i]), "ts '%s'", ts);
		else
			ck_assert_int_eq(ts[i], shape[i]);
}

#define ASSERT_FIELD(fs, key, want) do {                                \
	const struct field *f_ = field(fs, key);                        \
	ck_assert_msg(f_ != NULL, "no %s", key);                        \
	ck_assert_uint_eq(f_->len, sizeof(want) - 1);                   \
	ck_assert_mem_eq(f_->val, want, sizeof(want) - 1);              \
} while (0)

static void spawn_line(void *arg)
{
	struct logline l;

	(void)arg;
	log_begin(&l, "spawn");
	log_str(&l, "route", "tick");
	log_uint(&l, "conn", 42);
	log_int(&l, "pid", 1234);
	log_str(&l, "peer", "127.0.0.1:51122");
	log_int(&l, "delta", -7);
	log_seconds(&l, "duration", 10.008);
	log_end(&l);
}

START_TEST(text_line_fields_in_order)
{
	char *out;
	struct fields fs;
	const char *rest;

	log_set_format(LOG_TEXT);
	out = capture(spawn_line, NULL);
	parse_text(out, &fs);
	ck_assert_uint_eq(fs.n, 8);
	ck_assert_str_eq(fs.f[0].key, "ts");
	assert_ts(fs.f[0].val);
	rest = strstr(out, " event=");
	ck_assert_str_eq(rest, " event=spawn route=tick conn=42 pid=1234 "
	    "peer=127.0.0.1:51122 delta=-7 duration=10.008\n");
	free(out);
}
END_TEST

static void value_line(void *arg)
{
	const char *const *v = arg;
	struct logline l;

	log_begin(&l, "stderr");
	log_str(&l, "route", "echo");
	log_mem(&l, "line", v[0], (size_t)(v[1] - v[0]));
	log_end(&l);
}

static char *line_with(const char *v, size_t n)
{
	const char *arg[2] = { v, v + n };

	return capture(value_line, arg);
}

START_TEST(text_value_cannot_forge_fields_or_lines)
{
	const char v[] = "x route=evil\nts=0 event=fake";
	char *out;
	struct fields fs;

	log_set_format(LOG_TEXT);
	out = line_with(v, sizeof v - 1);
	parse_text(out, &fs);
	ck_assert_uint_eq(fs.n, 4);
	ASSERT_FIELD(&fs, "route", "echo");
	ASSERT_FIELD(&fs, "line", "x route=evil\nts=0 event=fake");
	free(out);
}
END_TEST

START_TEST(text_every_byte_round_trips)
{
	char v[255], *out;
	struct fields fs;

	for (int i = 0; i < 255; i++)
		v[i] = (char)(i + 1);
	log_set_format(LOG_TEXT);
	out = line_with(v, sizeof v);
	parse_text(out, &fs);
	ck_assert_uint_eq(field(&fs, "line")->len, sizeof v);
	ck_assert_mem_eq(field(&fs, "line")->val, v, sizeof v);
	free(out);
}
END_TEST

START_TEST(text_empty_value_quoted)
{
	char *out;
	struct fields fs;

	log_set_format(LOG_TEXT);
	out = line_with("", 0);
	ck_assert_ptr_nonnull(strstr(out, " line=\"\"\n"));
	parse_text(out, &fs);
	ASSERT_FIELD(&fs, "line", "");
	free(out);
}
END_TEST

START_TEST(json_line_is_one_object)
{
	char *out;
	struct fields fs;

	log_set_format(LOG_JSON);
	out = capture(spawn_line, NULL);
	parse_json(out, &fs);
	ck_assert_uint_eq(fs.n, 8);
	ck_assert_str_eq(fs.f[0].key, "ts");
	assert_ts(fs.f[0].val);
	ck_assert_str_eq(fs.f[1].key, "event");
	ASSERT_FIELD(&fs, "event", "spawn");
	ASSERT_FIELD(&fs, "route", "tick");
	ASSERT_FIELD(&fs, "conn", "42");
	ASSERT_FIELD(&fs, "pid", "1234");
	ASSERT_FIELD(&fs, "peer", "127.0.0.1:51122");
	ASSERT_FIELD(&fs, "delta", "-7");
	ASSERT_FIELD(&fs, "duration", "10.008");
	/* Numbers are numbers, strings strings. */
	ck_assert_ptr_nonnull(strstr(out, "\"conn\":42,"));
	ck_assert_ptr_nonnull(strstr(out, "\"route\":\"tick\""));
	free(out);
}
END_TEST

START_TEST(json_escapes_quotes_and_controls)
{
	const char v[] = "a\"b\\c\nd\x01\x1f\x7f\te";
	char *out;
	struct fields fs;

	log_set_format(LOG_JSON);
	out = line_with(v, sizeof v - 1);
	parse_json(out, &fs);
	ck_assert_uint_eq(fs.n, 4);
	ASSERT_FIELD(&fs, "line", "a\"b\\c\nd\x01\x1f\x7f\te");
	free(out);
}
END_TEST

START_TEST(json_keeps_valid_utf8)
{
	const char v[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
	char *out;
	struct fields fs;

	log_set_format(LOG_JSON);
	out = line_with(v, sizeof v - 1);
	parse_json(out, &fs);
	ASSERT_FIELD(&fs, "line", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	free(out);
}
END_TEST

#define FFFD "\xef\xbf\xbd"

START_TEST(json_invalid_utf8_becomes_fffd)
{
	const char v[] = "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82";
	char *out;
	struct fields fs;

	log_set_format(LOG_JSON);
	out = line_with(v, sizeof v - 1);
	parse_json(out, &fs);
	/* Each invalid byte is one U+FFFD: a lone byte, an overlong form,
	 * a surrogate, a sequence cut at the end. */
	ASSERT_FIELD(&fs, "line", "a" FFFD "b" FFFD FFFD "c" FFFD FFFD FFFD
	    "d" FFFD FFFD);
	free(out);
}
END_TEST

START_TEST(json_every_byte_is_valid)
{
	char v[255], *out;
	struct fields fs;

	for (int i = 0; i < 255; i++)
		v[i] = (char)(i + 1);
	log_set_format(LOG_JSON);
	out = line_with(v, sizeof v);
	parse_json(out, &fs);
	/* ASCII survives as is; the 128 bytes above it are invalid alone. */
	ck_assert_uint_eq(field(&fs, "line")->len, 127 + 128 * 3);
	ck_assert_mem_eq(field(&fs, "line")->val, v, 127);
	free(out);
}
END_TEST

static void long_value_line(void *arg)
{
	size_t n = 12000;
	char *v = malloc(n);
	struct logline l;

	memset(v, *(const char *)arg, n);
	log_begin(&l, "stderr");
	log_str(&l, "route", "echo");
	log_mem(&l, "line", v, n);
	log_int(&l, "pid", 99);
	log_end(&l);
	free(v);
}

START_TEST(text_cut_line_stays_well_formed)
{
	char *out;
	struct fields fs;

	log_set_format(LOG_TEXT);
	out = capture(long_value_line, "\n");
	ck_assert_uint_le(strlen(out), sizeof(((struct logline *)0)->buf));
	parse_text(out, &fs);
	ASSERT_FIELD(&fs, "route", "echo");
	ck_assert_uint_gt(field(&fs, "line")->len, 1000);
	free(out);
}
END_TEST

START_TEST(json_cut_line_stays_valid)
{
	char *out;
	struct fields fs;

	log_set_format(LOG_JSON);
	out = capture(long_value_line, "\x01");
	ck_assert_uint_le(strlen(out), sizeof(((struct logline *)0)->buf));
	parse_json(out, &fs);
	ASSERT_FIELD(&fs, "route", "echo");
	ck_assert_uint_gt(field(&fs, "line")->len, 1000);
	free(out);
}
END_TEST

START_TEST(json_cut_line_of_multibyte_stays_valid)
{
	char *out;
	struct fields fs;

	log_set_format(LOG_JSON);
	out = capture(long_value_line, "\xff");
	parse_json(out, &fs);
	ck_assert_uint_gt(field(&fs, "line")->len, 1000);
	ck_assert_uint_eq(field(&fs, "line")->len % 3, 0);
	free(out);
}
END_TEST

static void huge_seconds_line(void *arg)
{
	struct logline l;

	(void)arg;
	log_begin(&l, "exit");
	log_seconds(&l, "duration", 1e300);
	log_str(&l, "route", "echo");
	log_end(&l);
}

START_TEST(seconds_out_of_range_stay_in_bounds)
{
	char *out;
	struct fields fs;

	log_set_format(LOG_TEXT);
	out = capture(huge_seconds_line, NULL);
	parse_text(out, &fs);
	ASSERT_FIELD(&fs, "route", "echo");
	ck_assert_ptr_nonnull(field(&fs, "duration"));
	free(out);
}
END_TEST

static void warning_line(void *arg)
{
	(void)arg;
	log_warnx("route [%s] runs as uid %d", "tick", 0);
}

static void warn_errno_line(void *arg)
{
	(void)arg;
	errno = ENOENT;
	log_warn("open %s", "x.sock");
}

START_TEST(warn_adds_the_system_words)
{
	char *out;
	struct fields fs;

	log_set_format(LOG_TEXT);
	out = capture(warn_errno_line, NULL);
	parse_text(out, &fs);
	ASSERT_FIELD(&fs, "event", "warning");
	ASSERT_FIELD(&fs, "msg", "open x.sock: No such file or directory");
	free(out);
}
END_TEST

START_TEST(warning_carries_msg)
{
	char *out;
	struct fields fs;

	log_set_format(LOG_TEXT);
	out = capture(warning_line, NULL);
	parse_text(out, &fs);
	ASSERT_FIELD(&fs, "event", "warning");
	ASSERT_FIELD(&fs, "msg", "route [tick] runs as uid 0");
	free(out);
	log_set_format(LOG_JSON);
	out = capture(warning_line, NULL);
	parse_json(out, &fs);
	ASSERT_FIELD(&fs, "event", "warning");
	ASSERT_FIELD(&fs, "msg", "route [tick] runs as uid 0");
	free(out);
}
END_TEST

/* fatalx in a child of the test: its line, and its exit status. */
static void fatal_line(void *arg)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (arg) {
			errno = EACCES;
			fatal("%s", "bind run/x.sock");
		}
		fatalx("%s", "out of \"memory\"");
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

START_TEST(fatal_carries_msg_and_exits)
{
	char *out;
	struct fields fs;

	log_set_format(LOG_TEXT);
	out = capture(fatal_line, NULL);
	parse_text(out, &fs);
	ASSERT_FIELD(&fs, "event", "fatal");
	ASSERT_FIELD(&fs, "msg", "out of \"memory\"");
	free(out);
	out = capture(fatal_line, "errno");
	parse_text(out, &fs);
	ASSERT_FIELD(&fs, "msg", "bind run/x.sock: Permission denied");
	free(out);
}
END_TEST


/* ---- a pipe nobody reads for a while ---- */

#define STALL_LINES 20000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads what is in the pipe now, running the loop between reads, until
 * nothing came for quiet seconds. */
static void drain(uv_loop_t *loop, int fd, char **buf, size_t *len,
    size_t *cap, double quiet)
{
	double last = now_s();
	ssize_t n;

	while (now_s() - last < quiet) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uv_run(loop, UV_RUN_NOWAIT);
		poll(&p, 1, 5);
		if (*cap - *len < 65536) {
			*cap *= 2;
			*buf = realloc(*buf, *cap);
			ck_assert_ptr_nonnull(*buf);
		}
		while ((n = read(fd, *buf + *len, *cap - *len - 1)) > 0) {
			*len += (size_t)n;
			last = now_s();
		}
		ck_assert(n < 0 && errno == EAGAIN);
	}
	(*buf)[*len] = '\0';
}

static void on_alive(uv_timer_t *t)
{
	(void)t;
}

START_TEST(stalled_pipe_drops_whole_lines_and_says_so)
{
	int p[2], saved = dup(2);
	uv_loop_t loop;
	uv_timer_t alive;
	size_t len = 0, cap = 1 << 20, got = 0, dropped = 0, reports = 0;
	char *buf = malloc(cap), *line, *nl, *v = malloc(6000);
	struct fields *fs = malloc(sizeof *fs);

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(fs);
	memset(v, '\x01', 6000); /* escaped: a line over PIPE_BUF */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(dup2(p[1], 2), 2);
	close(p[1]);
	log_set_format(LOG_TEXT);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	/* The log's handle does not keep a loop alive: this one does, as a
	 * gateway's listeners do. */
	uv_timer_init(&loop, &alive);
	uv_timer_start(&alive, on_alive, 60000, 0);
	log_attach(&loop);
	/* Some 2 MB, nobody reading: this returns (or the test times out). */
	for (int i = 0; i < STALL_LINES; i++) {
		struct logline l;
		log_begin(&l, "spawn");
		log_str(&l, "route", "tick");
		log_int(&l, "conn", i);
		if (i % 7 == 0)
			log_mem(&l, "line", v, 6000);
		log_end(&l);
	}
	ck_assert_int_eq(fcntl(2, F_GETFL) & O_NONBLOCK, 0);
	/* The reader catches up: the loop writes the rest. */
	drain(&loop, p[0], &buf, &len, &cap, 0.3);
	for (line = buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		char save = nl[1];
		nl[1] = '\0';
		parse_text(line, fs);
		nl[1] = save;
		if (strcmp(fs->f[1].key, "event") == 0 &&
		    strcmp(fs->f[1].val, "log_dropped") == 0) {
			ck_assert_uint_eq(fs->n, 3);
			ck_assert_str_eq(fs->f[2].key, "lines");
			dropped += strtoul(fs->f[2].val, NULL, 10);
			reports++;
		} else {
			ASSERT_FIELD(fs, "event", "spawn");
			ASSERT_FIELD(fs, "route", "tick");
			ck_assert_str_eq(fs->f[3].key, "conn");
			ck_assert_uint_eq(fs->n == 5,
			    strtoul(fs->f[3].val, NULL, 10) % 7 == 0);
			got++;
		}
	}
	ck_assert_str_eq(line, ""); /* no half line at the end */
	ck_assert_uint_gt(reports, 0);
	ck_assert_uint_gt(dropped, 0);
	ck_assert_uint_eq(got + dropped, STALL_LINES);
	/* Caught up: a new line goes out at once. */
	log_warnx("after");
	len = 0;
	drain(&loop, p[0], &buf, &len, &cap, 0.05);
	ck_assert_ptr_nonnull(strstr(buf, "event=warning msg=after\n"));
	log_detach();
	uv_close((uv_handle_t *)&alive, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	dup2(saved, 2);
	close(saved);
	close(p[0]);
	free(fs);
	free(v);
	free(buf);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("log");
	TCase *q = tcase_create("quote");
	TCase *t = tcase_create("text");
	TCase *j = tcase_create("json");
	TCase *o = tcase_create("output");

	tcase_add_test(q, quote_plain_values_bare);
	tcase_add_test(q, quote_empty);
	tcase_add_test(q, quote_blanks);
	tcase_add_test(q, quote_quote_equals_backslash);
	tcase_add_test(q, quote_newline_cannot_forge_a_line);
	tcase_add_test(q, quote_control_bytes_as_hex);
	tcase_add_test(q, quote_nul_byte_inside_value);
	tcase_add_test(q, quote_cut_value_stays_quoted);
	tcase_add_test(q, quote_cut_plain_value);
	suite_add_tcase(s, q);

	tcase_add_test(t, text_line_fields_in_order);
	tcase_add_test(t, text_value_cannot_forge_fields_or_lines);
	tcase_add_test(t, text_every_byte_round_trips);
	tcase_add_test(t, text_empty_value_quoted);
	tcase_add_test(t, text_cut_line_stays_well_formed);
	tcase_add_test(t, seconds_out_of_range_stay_in_bounds);
	tcase_add_test(t, warning_carries_msg);
	tcase_add_test(t, warn_adds_the_system_words);
	tcase_add_test(t, fatal_carries_msg_and_exits);
	suite_add_tcase(s, t);

	tcase_add_test(j, json_line_is_one_object);
	tcase_add_test(j, json_escapes_quotes_and_controls);
	tcase_add_test(j, json_keeps_valid_utf8);
	tcase_add_test(j, json_invalid_utf8_becomes_fffd);
	tcase_add_test(j, json_every_byte_is_valid);
	tcase_add_test(j, json_cut_line_stays_valid);
	tcase_add_test(j, json_cut_line_of_multibyte_stays_valid);
	suite_add_tcase(s, j);

	tcase_add_test(o, stalled_pipe_drops_whole_lines_and_says_so);
	tcase_set_timeout(o, 20);
	suite_add_tcase(s, o);
	return s;
}

UNIT_MAIN(suite)
