/* The child's environment: built from scratch, per the SPEC's table. */
#include <stdio.h>
#include <string.h>

#include "env.h"
#include "http.h"
#include "unit.h"

static struct route route(void)
{
	struct route r;

	memset(&r, 0, sizeof r);
	r.name = "echo";
	return r;
}

static struct conn_info tcp_conn(void)
{
	struct conn_info ci;

	memset(&ci, 0, sizeof ci);
	ci.tcp = 1;
	strcpy(ci.remote_ip, "192.0.2.7");
	ci.remote_port = 51122;
	strcpy(ci.local_ip, "127.0.0.1");
	ci.local_port = 8000;
	ci.id = 42;
	return ci;
}

static struct conn_info ipc_conn(const char *path)
{
	struct conn_info ci;

	memset(&ci, 0, sizeof ci);
	snprintf(ci.ipc_path, sizeof ci.ipc_path, "%s", path);
	ci.have_cred = 1;
	ci.uid = 1000;
	ci.gid = 100;
	ci.pid = 4321;
	ci.id = 7;
	return ci;
}

/* No name twice: getenv and a shell could disagree on which wins. */
static void names_once(const struct strv *out)
{
	ck_assert_ptr_nonnull(out->v);
	ck_assert_ptr_null(out->v[out->n]);
	for (size_t i = 0; i < out->n; i++) {
		size_t n = strcspn(out->v[i], "=");
		ck_assert_msg(out->v[i][n] == '=', "'%s' has no '='", out->v[i]);
		for (size_t j = i + 1; j < out->n; j++)
			ck_assert_msg(strncmp(out->v[i], out->v[j], n + 1) != 0,
			    "'%.*s' appears twice", (int)n, out->v[i]);
	}
}

static struct strv build_tlvs(const struct route *r, const struct conn_info *ci,
    const struct proxy_tlvs *t, char *const *parent)
{
	struct strv out = { 0 };

	ck_assert_int_eq(env_build(r, ci, t, parent, &out), 0);
	names_once(&out);
	return out;
}

static struct strv build(const struct route *r, const struct conn_info *ci,
    char *const *parent)
{
	return build_tlvs(r, ci, NULL, parent);
}

/* Big (its path alone is 16 KiB): one, fresh in each case's process. */
static struct http_request req;

/* A cgi route's environment for the request head `head`, served by a
 * route at "/" (SCRIPT_NAME "", PATH_INFO the path). */
static struct strv build_cgi_tlvs(const struct route *r, const struct conn_info *ci,
    const struct proxy_tlvs *t, const char *head)
{
	struct cgi_request cr = { .req = &req, .script_name = "" };
	struct strv out = { 0 };

	ck_assert_int_eq(http_parse_head(head, strlen(head), &req), (int)strlen(head));
	cr.path_info = req.path;
	ck_assert_int_eq(env_build_cgi(r, ci, t, &cr, NULL, &out), 0);
	names_once(&out);
	return out;
}

static struct strv build_cgi(const struct route *r, const struct conn_info *ci,
    const char *head)
{
	return build_cgi_tlvs(r, ci, NULL, head);
}

/* The value of NAME in env, or NULL. */
static const char *get(const struct strv *env, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < env->n; i++)
		if (strncmp(env->v[i], name, n) == 0 && env->v[i][n] == '=')
			return env->v[i] + n + 1;
	return NULL;
}

#define ASSERT_VAR(env, name, want) do {                                \
	const char *v_ = get(env, name);                                \
	ck_assert_msg(v_ != NULL, "%s missing", name);                  \
	ck_assert_str_eq(v_, want);                                     \
} while (0)

START_TEST(tcp_has_ucspi_and_cgi_names)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	struct strv e = build(&r, &ci, NULL);

	ASSERT_VAR(&e, "PROTO", "TCP");
	ASSERT_VAR(&e, "TCPREMOTEIP", "192.0.2.7");
	ASSERT_VAR(&e, "TCPREMOTEPORT", "51122");
	ASSERT_VAR(&e, "TCPLOCALIP", "127.0.0.1");
	ASSERT_VAR(&e, "TCPLOCALPORT", "8000");
	ASSERT_VAR(&e, "REMOTE_ADDR", "192.0.2.7");
	ASSERT_VAR(&e, "REMOTE_PORT", "51122");
	ASSERT_VAR(&e, "SERVER_ADDR", "127.0.0.1");
	ASSERT_VAR(&e, "SERVER_PORT", "8000");
	ASSERT_VAR(&e, "GATEWAY_ROUTE", "echo");
	ASSERT_VAR(&e, "GATEWAY_CONN", "42");
	strv_free(&e);
}
END_TEST

START_TEST(tcp_has_nothing_else)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	struct strv e = build(&r, &ci, NULL);

	/* The eleven above and PATH. */
	ck_assert_uint_eq(e.n, 12);
	ck_assert_ptr_null(get(&e, "IPCLOCALPATH"));
	ck_assert_ptr_null(get(&e, "IPCREMOTEEUID"));
	strv_free(&e);
}
END_TEST

START_TEST(tcp_v6_addresses_as_given)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	struct strv e;

	strcpy(ci.remote_ip, "2001:db8::1");
	strcpy(ci.local_ip, "::1");
	e = build(&r, &ci, NULL);
	ASSERT_VAR(&e, "TCPREMOTEIP", "2001:db8::1");
	ASSERT_VAR(&e, "REMOTE_ADDR", "2001:db8::1");
	ASSERT_VAR(&e, "TCPLOCALIP", "::1");
	strv_free(&e);
}
END_TEST

START_TEST(ipc_has_path_and_credentials)
{
	struct route r = route();
	struct conn_info ci = ipc_conn("/run/gw.sock");
	struct strv e = build(&r, &ci, NULL);

	ASSERT_VAR(&e, "PROTO", "IPC");
	ASSERT_VAR(&e, "IPCLOCALPATH", "/run/gw.sock");
	ASSERT_VAR(&e, "IPCREMOTEEUID", "1000");
	ASSERT_VAR(&e, "IPCREMOTEEGID", "100");
	ASSERT_VAR(&e, "IPCREMOTEPID", "4321");
	ASSERT_VAR(&e, "GATEWAY_ROUTE", "echo");
	ASSERT_VAR(&e, "GATEWAY_CONN", "7");
	ck_assert_uint_eq(e.n, 8);
	strv_free(&e);
}
END_TEST

START_TEST(ipc_has_no_tcp_names)
{
	struct route r = route();
	struct conn_info ci = ipc_conn("/run/gw.sock");
	struct strv e = build(&r, &ci, NULL);
	const char *tcp[] = { "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP",
	    "TCPLOCALPORT", "REMOTE_ADDR", "REMOTE_PORT", "SERVER_ADDR",
	    "SERVER_PORT" };

	for (size_t i = 0; i < sizeof tcp / sizeof *tcp; i++)
		ck_assert_msg(!get(&e, tcp[i]), "%s set on a unix route", tcp[i]);
	strv_free(&e);
}
END_TEST

START_TEST(ipc_abstract_path_is_at_name)
{
	struct route r = route();
	struct conn_info ci = ipc_conn("@gw-echo");
	struct strv e = build(&r, &ci, NULL);

	ASSERT_VAR(&e, "IPCLOCALPATH", "@gw-echo");
	strv_free(&e);
}
END_TEST

START_TEST(ipc_without_credentials_omits_them)
{
	struct route r = route();
	struct conn_info ci = ipc_conn("/run/gw.sock");
	struct strv e;

	ci.have_cred = 0;
	e = build(&r, &ci, NULL);
	ck_assert_ptr_null(get(&e, "IPCREMOTEEUID"));
	ck_assert_ptr_null(get(&e, "IPCREMOTEEGID"));
	ck_assert_ptr_null(get(&e, "IPCREMOTEPID"));
	ASSERT_VAR(&e, "PROTO", "IPC");
	strv_free(&e);
}
END_TEST

START_TEST(conn_id_full_range)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	struct strv e;

	ci.id = 18446744073709551615ull;
	e = build(&r, &ci, NULL);
	ASSERT_VAR(&e, "GATEWAY_CONN", "18446744073709551615");
	strv_free(&e);
}
END_TEST

START_TEST(path_default)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	char *parent[] = { "PATH=/opt/evil/bin", NULL };
	struct strv e = build(&r, &ci, parent);

	ASSERT_VAR(&e, "PATH", "/usr/local/bin:/usr/bin:/bin");
	strv_free(&e);
}
END_TEST

START_TEST(path_from_env)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	struct strv e;

	strv_pushdup(&r.env, "PATH=/opt/app/bin");
	e = build(&r, &ci, NULL);
	ASSERT_VAR(&e, "PATH", "/opt/app/bin");
	strv_free(&e);
	strv_free(&r.env);
}
END_TEST

START_TEST(path_from_pass_env)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	char *parent[] = { "HOME=/root", "PATH=/gw/bin:/bin", NULL };
	struct strv e;

	strv_pushdup(&r.pass_env, "PATH");
	e = build(&r, &ci, parent);
	ASSERT_VAR(&e, "PATH", "/gw/bin:/bin");
	ck_assert_ptr_null(get(&e, "HOME"));
	strv_free(&e);
	strv_free(&r.pass_env);
}
END_TEST

START_TEST(path_pass_env_absent_keeps_default)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	char *parent[] = { "HOME=/root", NULL };
	struct strv e;

	/* pass_env only sets PATH when the gateway has one. */
	strv_pushdup(&r.pass_env, "PATH");
	e = build(&r, &ci, parent);
	ASSERT_VAR(&e, "PATH", "/usr/local/bin:/usr/bin:/bin");
	strv_free(&e);
	strv_free(&r.pass_env);
}
END_TEST

START_TEST(pass_env_copies_present_names_only)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	char *parent[] = { "LANG=C.UTF-8", "TZ=UTC", "SECRET=x", "EMPTY=", NULL };
	struct strv e;

	strv_pushdup(&r.pass_env, "LANG");
	strv_pushdup(&r.pass_env, "MISSING");
	strv_pushdup(&r.pass_env, "EMPTY");
	e = build(&r, &ci, parent);
	ASSERT_VAR(&e, "LANG", "C.UTF-8");
	ASSERT_VAR(&e, "EMPTY", "");
	ck_assert_ptr_null(get(&e, "MISSING"));
	ck_assert_ptr_null(get(&e, "TZ"));
	ck_assert_ptr_null(get(&e, "SECRET"));
	ck_assert_uint_eq(e.n, 12 + 2);
	strv_free(&e);
	strv_free(&r.pass_env);
}
END_TEST

START_TEST(pass_env_matches_whole_names)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	char *parent[] = { "FOOBAR=1", "FO=2", "FOO_=3", NULL };
	struct strv e;

	strv_pushdup(&r.pass_env, "FOO");
	e = build(&r, &ci, parent);
	ck_assert_ptr_null(get(&e, "FOO"));
	ck_assert_ptr_null(get(&e, "FOOBAR"));
	ck_assert_uint_eq(e.n, 12);
	strv_free(&e);
	strv_free(&r.pass_env);
}
END_TEST

START_TEST(pass_env_value_with_equals)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	char *parent[] = { "OPTS=a=b c=d", NULL };
	struct strv e;

	strv_pushdup(&r.pass_env, "OPTS");
	e = build(&r, &ci, parent);
	ASSERT_VAR(&e, "OPTS", "a=b c=d");
	strv_free(&e);
	strv_free(&r.pass_env);
}
END_TEST

START_TEST(pass_env_named_twice_once_in_env)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	char *parent[] = { "LANG=C", NULL };
	struct strv e;

	strv_pushdup(&r.pass_env, "LANG");
	strv_pushdup(&r.pass_env, "LANG");
	e = build(&r, &ci, parent);     /* build() refuses duplicates */
	ASSERT_VAR(&e, "LANG", "C");
	strv_free(&e);
	strv_free(&r.pass_env);
}
END_TEST

START_TEST(env_entries_verbatim)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	struct strv e;

	strv_pushdup(&r.env, "GREETING=hello world");
	strv_pushdup(&r.env, "EQ=a=b");
	strv_pushdup(&r.env, "EMPTY=");
	strv_pushdup(&r.env, "SERVER_NAME=example.org");
	e = build(&r, &ci, NULL);
	ASSERT_VAR(&e, "GREETING", "hello world");
	ASSERT_VAR(&e, "EQ", "a=b");
	ASSERT_VAR(&e, "EMPTY", "");
	ASSERT_VAR(&e, "SERVER_NAME", "example.org");
	ck_assert_uint_eq(e.n, 12 + 4);
	strv_free(&e);
	strv_free(&r.env);
}
END_TEST

START_TEST(parent_never_leaks)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	char *parent[] = { "HOME=/root", "LD_PRELOAD=/x.so", "PROTO=FAKE",
	    "GATEWAY_ROUTE=fake", NULL };
	struct strv e = build(&r, &ci, parent);

	ck_assert_ptr_null(get(&e, "HOME"));
	ck_assert_ptr_null(get(&e, "LD_PRELOAD"));
	ASSERT_VAR(&e, "PROTO", "TCP");
	ASSERT_VAR(&e, "GATEWAY_ROUTE", "echo");
	ck_assert_uint_eq(e.n, 12);
	strv_free(&e);
}
END_TEST

START_TEST(route_name_is_route_name)
{
	struct route r = route();
	struct conn_info ci = ipc_conn("/x");
	struct strv e;

	r.name = "my.route-1";
	e = build(&r, &ci, NULL);
	ASSERT_VAR(&e, "GATEWAY_ROUTE", "my.route-1");
	strv_free(&e);
}
END_TEST

/* ---- cgi and nph routes ---- */

/* A header sent twice is one variable, its values joined with ", "
 * (RFC 3875 4.1.18); Cookie's with "; " (RFC 6265 5.4), or a program
 * splitting HTTP_COOKIE on ';' would read "a=1, b=2" as one cookie. */
START_TEST(cgi_repeated_headers_joined)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	struct strv e = build_cgi(&r, &ci, "GET / HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: a=1\r\nX-Rep: one\r\ncookie: b=2; c=3\r\nX-Rep: two\r\n"
	    "COOKIE: d=4\r\n\r\n");

	ASSERT_VAR(&e, "HTTP_COOKIE", "a=1; b=2; c=3; d=4");
	ASSERT_VAR(&e, "HTTP_X_REP", "one, two");
	strv_free(&e);
	e = build_cgi(&r, &ci, "GET / HTTP/1.1\r\nCookie: only=1\r\n\r\n");
	ASSERT_VAR(&e, "HTTP_COOKIE", "only=1");
	strv_free(&e);
	/* Only the name Cookie: Cookie2 and Set-Cookie are other headers. */
	e = build_cgi(&r, &ci, "GET / HTTP/1.1\r\nSet-Cookie: a\r\n"
	    "Set-Cookie: b\r\nCookie2: c\r\nCookie2: d\r\n\r\n");
	ASSERT_VAR(&e, "HTTP_SET_COOKIE", "a, b");
	ASSERT_VAR(&e, "HTTP_COOKIE2", "c, d");
	ck_assert_ptr_null(get(&e, "HTTP_COOKIE"));
	strv_free(&e);
}
END_TEST

/* REMOTE_HOST: the gateway looks up no names, so it is the address
 * (RFC 3875 4.1.9 allows that), on TCP, where there is one. */
START_TEST(cgi_remote_host_is_the_address)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	struct strv e = build_cgi(&r, &ci, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");

	ASSERT_VAR(&e, "REMOTE_HOST", "192.0.2.7");
	ASSERT_VAR(&e, "REMOTE_ADDR", "192.0.2.7");
	strv_free(&e);
	strcpy(ci.remote_ip, "2001:db8::7");
	e = build_cgi(&r, &ci, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	ASSERT_VAR(&e, "REMOTE_HOST", "2001:db8::7");
	strv_free(&e);
	/* A Unix socket's client has no address: neither variable. */
	ci = ipc_conn("/run/web.sock");
	e = build_cgi(&r, &ci, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	ck_assert_ptr_null(get(&e, "REMOTE_HOST"));
	ck_assert_ptr_null(get(&e, "REMOTE_ADDR"));
	strv_free(&e);
	/* Nor is it a raw route's: tcpserver's TCPREMOTEHOST is a name. */
	ci = tcp_conn();
	e = build(&r, &ci, NULL);
	ck_assert_ptr_null(get(&e, "REMOTE_HOST"));
	strv_free(&e);
}
END_TEST

/* What a PROXY v2 header's TLVs said, kept by the connection. */
static struct proxy_tlvs tls_sent(void)
{
	struct proxy_tlvs t = { .ssl = 1 };

	strcpy(t.authority, "shop.example");
	strcpy(t.alpn, "h2");
	strcpy(t.unique_id, "4F7B0A69-0003");
	return t;
}

/* Every route gets the TLS details a proxy sent, under mod_ssl's names
 * (and mod_unique_id's); HTTPS is HTTP's, on cgi and nph routes. */
START_TEST(proxy_tlvs_on_every_route)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	struct proxy_tlvs t = tls_sent();
	struct strv e = build_tlvs(&r, &ci, &t, NULL);

	ASSERT_VAR(&e, "SSL_TLS_SNI", "shop.example");
	ASSERT_VAR(&e, "SSL_ALPN_PROTOCOL", "h2");
	ASSERT_VAR(&e, "UNIQUE_ID", "4F7B0A69-0003");
	ck_assert_ptr_null(get(&e, "HTTPS"));
	ck_assert_uint_eq(e.n, 12 + 3);
	strv_free(&e);
	e = build_cgi_tlvs(&r, &ci, &t, "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n");
	ASSERT_VAR(&e, "HTTPS", "on");
	ASSERT_VAR(&e, "SSL_TLS_SNI", "shop.example");
	ASSERT_VAR(&e, "SSL_ALPN_PROTOCOL", "h2");
	ASSERT_VAR(&e, "UNIQUE_ID", "4F7B0A69-0003");
	strv_free(&e);
}
END_TEST

/* Only what was sent: each on its own, none without a header. */
START_TEST(proxy_tlvs_only_what_was_sent)
{
	struct route r = route();
	struct conn_info ci = tcp_conn();
	struct proxy_tlvs t = tls_sent();
	struct strv e;

	t.ssl = 0;
	t.alpn[0] = '\0';
	e = build_cgi_tlvs(&r, &ci, &t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	ck_assert_ptr_null(get(&e, "HTTPS"));
	ck_assert_ptr_null(get(&e, "SSL_ALPN_PROTOCOL"));
	ASSERT_VAR(&e, "SSL_TLS_SNI", "shop.example");
	strv_free(&e);
	e = build_cgi(&r, &ci, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	ck_assert_ptr_null(get(&e, "HTTPS"));
	ck_assert_ptr_null(get(&e, "SSL_TLS_SNI"));
	ck_assert_ptr_null(get(&e, "SSL_ALPN_PROTOCOL"));
	ck_assert_ptr_null(get(&e, "UNIQUE_ID"));
	strv_free(&e);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("env");
	TCase *c = tcase_create("conn");
	TCase *p = tcase_create("path");
	TCase *r = tcase_create("route");
	TCase *g = tcase_create("cgi");

	tcase_add_test(c, tcp_has_ucspi_and_cgi_names);
	tcase_add_test(c, tcp_has_nothing_else);
	tcase_add_test(c, tcp_v6_addresses_as_given);
	tcase_add_test(c, ipc_has_path_and_credentials);
	tcase_add_test(c, ipc_has_no_tcp_names);
	tcase_add_test(c, ipc_abstract_path_is_at_name);
	tcase_add_test(c, ipc_without_credentials_omits_them);
	tcase_add_test(c, conn_id_full_range);
	suite_add_tcase(s, c);

	tcase_add_test(p, path_default);
	tcase_add_test(p, path_from_env);
	tcase_add_test(p, path_from_pass_env);
	tcase_add_test(p, path_pass_env_absent_keeps_default);
	suite_add_tcase(s, p);

	tcase_add_test(r, pass_env_copies_present_names_only);
	tcase_add_test(r, pass_env_matches_whole_names);
	tcase_add_test(r, pass_env_value_with_equals);
	tcase_add_test(r, pass_env_named_twice_once_in_env);
	tcase_add_test(r, env_entries_verbatim);
	tcase_add_test(r, parent_never_leaks);
	tcase_add_test(r, route_name_is_route_name);
	suite_add_tcase(s, r);

	tcase_add_test(g, cgi_repeated_headers_joined);
	tcase_add_test(g, cgi_remote_host_is_the_address);
	tcase_add_test(g, proxy_tlvs_on_every_route);
	tcase_add_test(g, proxy_tlvs_only_what_was_sent);
	suite_add_tcase(s, g);
	return s;
}

UNIT_MAIN(suite)
