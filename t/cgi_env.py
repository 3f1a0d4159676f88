"""What a cgi or nph program learns of its request beyond the basic
CGI/1.1 variables: repeated Cookie headers joined with "; ", REMOTE_HOST
(the client's address), SERVER_NAME from a Host header that must be a
host (400 before any program starts otherwise), HTTPS=on and the TLS
details a PROXY v2 header carries. Driven with raw sockets, as a
browser, curl or HAProxy would send the bytes, and with HAProxy itself
ending TLS in front of the gateway."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
import haproxy  # noqa: E402
import http_helpers as hh  # noqa: E402
from limits_helpers import stop_ok  # noqa: E402

CONFIG = """
[cgi]
listen = 127.0.0.1:0
protocol = cgi
exec = envcgi

[nph]
listen = 127.0.0.1:0
protocol = nph
exec = envnph

[v6]
listen = [::1]:0
protocol = cgi
exec = envcgi

[ux]
listen = unix:{dir}/web.sock
protocol = cgi
exec = envcgi

[tls]
listen = 127.0.0.1:0
protocol = cgi
exec = envcgi
proxy_protocol = v2
proxy_from = 127.0.0.1

[tlsnph]
listen = 127.0.0.1:0
protocol = nph
exec = envnph
proxy_protocol = v2
proxy_from = 127.0.0.1
"""

ENVCGI = b"""#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
exec /usr/bin/env
"""

ENVNPH = b"""#!/bin/sh
printf 'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nConnection: close\\r\\n\\r\\n'
exec /usr/bin/env
"""

FILES = {"envcgi": (ENVCGI, 0o755), "envnph": (ENVNPH, 0o755)}


def start():
    return gw.Gateway(CONFIG, files=FILES)


def env_for(addr, head):
    """Sends a request head as it is, returns the program's environment
    and our own address."""
    s = gw.connect(addr, 30)
    try:
        me = s.getsockname() if not isinstance(addr, str) else None
        s.sendall(head)
        r = hh.Response(hh.recv_all(s))
    finally:
        s.close()
    return hh.cgi_env(r), me


def test_repeated_cookie_headers_joined_with_semicolon():
    with start() as g:
        e, _ = env_for(g.addr("cgi"),
                       b"GET / HTTP/1.1\r\nHost: shop.example\r\n"
                       b"Cookie: session=abc\r\n"
                       b"Accept: text/html\r\n"
                       b"Cookie: theme=dark; lang=en\r\n"
                       b"Accept: text/plain\r\n"
                       b"\r\n")
        assert e["HTTP_COOKIE"] == "session=abc; theme=dark; lang=en", e
        # Every other header keeps RFC 3875's ", ".
        assert e["HTTP_ACCEPT"] == "text/html, text/plain", e
        # A program splitting on ';' finds each cookie whole.
        cookies = dict(c.strip().split("=", 1) for c in e["HTTP_COOKIE"].split(";"))
        assert cookies == {"session": "abc", "theme": "dark", "lang": "en"}, cookies
        stop_ok(g)


def test_remote_host_is_the_client_address():
    with start() as g:
        e, me = env_for(g.addr("cgi"), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert e["REMOTE_HOST"] == me[0] == "127.0.0.1", e
        assert e["REMOTE_ADDR"] == me[0], e
        e, me = env_for(g.addr("nph"), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert e["REMOTE_HOST"] == "127.0.0.1", e
        e, me = env_for(g.addr("v6"), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert e["REMOTE_HOST"] == me[0] == "::1", e
        # A Unix socket's client has no address, so no REMOTE_HOST
        # either, as no REMOTE_ADDR.
        e, _ = env_for(g.addr("ux"), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert "REMOTE_HOST" not in e and "REMOTE_ADDR" not in e, e
        stop_ok(g)


def test_host_that_is_not_a_host_is_400():
    with start() as g:
        addr = g.addr("cgi")
        for host in (b"evil.example/../admin", b"a b", b"<script>x</script>",
                     b"example.org:80:80", b"[::1", b"user@example.org",
                     b"example.org, other.example"):
            r = hh.Response(hh.refused_talk(
                addr, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"))
            assert r.status == 400, (host, r)
        errs = g.wait_event("http_error", count=7, route="cgi")
        assert [e["status"] for e in errs] == ["400"] * 7, errs
        assert not g.events("spawn"), g.log()
        # A name or an address literal with a port is served, the port
        # cut from SERVER_NAME.
        for host, name in ((b"Shop.Example:8443", "Shop.Example"),
                           (b"[2001:db8::1]:443", "[2001:db8::1]"),
                           (b"192.0.2.1", "192.0.2.1")):
            e, _ = env_for(addr, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
            assert e["SERVER_NAME"] == name and e["HTTP_HOST"] == host.decode(), (host, e)
        stop_ok(g)


# What HAProxy's send-proxy-v2-ssl sends for a client of its TLS
# listener: PP2_TYPE_SSL (PP2_CLIENT_SSL set, a TLSv1.3 version
# sub-TLV), the SNI as PP2_TYPE_AUTHORITY, the ALPN, a unique id.
TLS_TLVS = (hh.ssl_tlv(0x01, 0, hh.tlv(0x21, b"TLSv1.3")) +
            hh.tlv(0x02, b"shop.example") + hh.tlv(0x01, b"http/1.1") +
            hh.tlv(0x05, b"req-4F7B0A69"))


def tls_request(tlvs, sport=40000):
    return (hh.v2("198.51.100.20", "198.51.100.1", sport, 443, tlvs=tlvs) +
            b"GET /pay HTTP/1.1\r\nHost: shop.example\r\n\r\n")


def check_tls_env(e):
    assert e["HTTPS"] == "on", e
    assert e["SSL_TLS_SNI"] == "shop.example", e
    assert e["SSL_ALPN_PROTOCOL"] == "http/1.1", e
    assert e["UNIQUE_ID"] == "req-4F7B0A69", e
    assert e["REMOTE_ADDR"] == e["REMOTE_HOST"] == "198.51.100.20", e
    assert e["SERVER_PORT"] == "443", e


def test_https_when_the_proxy_says_tls():
    with start() as g:
        e, _ = env_for(g.addr("tls"), tls_request(TLS_TLVS))
        check_tls_env(e)
        e, _ = env_for(g.addr("tlsnph"), tls_request(TLS_TLVS, 40001))
        check_tls_env(e)
        # The SSL TLV without PP2_CLIENT_SSL (the client came in clear
        # text), or none at all: no HTTPS.
        e, _ = env_for(g.addr("tls"), tls_request(hh.ssl_tlv(0x00) +
                                                  hh.tlv(0x02, b"shop.example"), 40002))
        assert "HTTPS" not in e and e["SSL_TLS_SNI"] == "shop.example", e
        e, _ = env_for(g.addr("tls"), tls_request(b"", 40003))
        assert not [k for k in e if k == "HTTPS" or k.startswith("SSL_")], e
        assert "UNIQUE_ID" not in e, e
        stop_ok(g)


def test_https_with_workers():
    # The main process reads the header; a worker starts the program:
    # what the header said goes with the connection.
    with gw.Gateway("[gateway]\nworkers = 2\n" + CONFIG, files=FILES) as g:
        g.wait_event("worker", count=2)
        for i in range(4):
            e, _ = env_for(g.addr("tls"), tls_request(TLS_TLVS, 41000 + i))
            check_tls_env(e)
        stop_ok(g)


def test_haproxy_ending_tls_in_front():
    # curl speaks TLS to haproxy, which sends the gateway a v2 header
    # with the SSL TLV, the SNI, the ALPN and its unique id.
    gw.need_program("haproxy", "/usr/sbin/haproxy")
    openssl = gw.need_program("openssl")
    gw.need_program("curl")
    with start() as g:
        key, crt, pem = (os.path.join(g.dir, n) for n in ("key.pem", "crt.pem", "site.pem"))
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", crt, "-days", "2",
                        "-subj", "/CN=shop.example"], check=True, capture_output=True)
        with open(pem, "wb") as f:
            for part in (crt, key):
                with open(part, "rb") as src:
                    f.write(src.read())
        server = haproxy.Server("s", "127.0.0.1", g.addr("tls")[1],
                                options="send-proxy-v2-ssl proxy-v2-options authority,unique-id")
        with haproxy.HAProxy([server], bind="ssl crt %s alpn http/1.1" % pem,
                             frontend="unique-id-format gw-%{+X}o%ci:%cp") as h:
            port = h.port
            p = hh.curl("-k", "--http1.1", "--resolve", "shop.example:%d:127.0.0.1" % port,
                        "https://shop.example:%d/pay" % port)
        assert p.returncode == 0, (p, g.log())
        e = {}
        for line in p.stdout.decode().splitlines():
            k, _, v = line.partition("=")
            e[k] = v
        assert e["HTTPS"] == "on", e
        assert e["SSL_TLS_SNI"] == "shop.example", e
        assert e["SSL_ALPN_PROTOCOL"] == "http/1.1", e
        assert e["UNIQUE_ID"] == "gw-7F000001:%04X" % int(e["REMOTE_PORT"]), e
        assert e["REMOTE_ADDR"] == e["REMOTE_HOST"] == "127.0.0.1", e
        assert e["SERVER_PORT"] == str(port) and e["SERVER_NAME"] == "shop.example", e
        stop_ok(g)


if __name__ == "__main__":
    gw.main(globals())
