"""The HAProxy PROXY protocol (proxy_protocol = v1|v2|any, proxy_from): the
gateway consumes exactly the header, the child sees the header's addresses
(LOCAL/UNKNOWN keep the socket's own) and the v2 header's TLS TLVs
(authority, ALPN, unique id), and reads the client's bytes from the
first byte after it; a bad, missing or late header, or one from outside
proxy_from, is refused without a child; allow/deny and max_per_source judge
the header's source; a Unix listener with proxy_from = unix becomes
PROTO=TCP; haproxy itself in front of the gateway, with send-proxy and
send-proxy-v2."""
import os
import shutil
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
import haproxy  # noqa: E402
import http_helpers as hh  # noqa: E402
from limits_helpers import connect_from, recv_all, recv_until, stop_ok  # noqa: E402

CONFIG = """
[p1]
listen = 127.0.0.1:0
exec = /usr/bin/env
proxy_protocol = v1
proxy_from = 127.0.0.1

[p2]
listen = 127.0.0.1:0
exec = /usr/bin/env
proxy_protocol = v2
proxy_from = 127.0.0.0/8 ::1

[pany]
listen = 127.0.0.1:0
exec = /usr/bin/env
proxy_protocol = any
proxy_from = 127.0.0.1

[cat]
listen = 127.0.0.1:0
exec = /bin/cat
proxy_protocol = any
proxy_from = 127.0.0.1

[strict]
listen = 127.0.0.1:0
exec = /usr/bin/env
proxy_protocol = any
proxy_from = 127.0.0.2

[mapped]
listen = 127.0.0.1:0
exec = /usr/bin/env
proxy_protocol = any
proxy_from = ::ffff:127.0.0.2

[acl]
listen = 127.0.0.1:0
exec = /bin/echo
args = served
proxy_protocol = any
proxy_from = 127.0.0.1
allow = 10.0.0.0/8 2001:db8::/32
deny = 10.9.9.9 2001:db8::bad

[persrc]
listen = 127.0.0.1:0
exec = /bin/cat
proxy_protocol = any
proxy_from = 127.0.0.1
max_per_source = 1
busy_message = busy\\n

[flags]
listen = 127.0.0.1:0
exec = /usr/bin/python3
args = -c "import fcntl, os\; print(fcntl.fcntl(0, fcntl.F_GETFL) & os.O_NONBLOCK, fcntl.fcntl(1, fcntl.F_GETFL) & os.O_NONBLOCK)"
proxy_protocol = any
proxy_from = 127.0.0.1

[ux]
listen = unix:{dir}/p.sock
exec = /usr/bin/env
proxy_protocol = any
proxy_from = unix

[web]
listen = 127.0.0.1:0
exec = envcgi
protocol = cgi
proxy_protocol = v1
proxy_from = 127.0.0.1
deny = 10.9.9.9
"""

ENVCGI = b"""#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
exec /usr/bin/env
"""

FILES = {"envcgi": (ENVCGI, 0o755)}


def start():
    return gw.Gateway(CONFIG, files=FILES)


def env_of(out):
    return dict(line.split("=", 1) for line in out.decode().splitlines() if "=" in line)


def send_env(g, route, data, source="127.0.0.1"):
    """Sends data (a header) on a fresh connection, half-closes, returns
    (the child's environment, our own (ip, port))."""
    s = connect_from(g.addr(route), source, 30)
    try:
        me = s.getsockname()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = recv_all(s)
    finally:
        s.close()
    return env_of(out), me


def assert_refused_proxy(g, route, data, before_spawns, count):
    ref = g.wait_event("refuse", count=count, route=route, timeout=30)[-1]
    assert ref["reason"] == "proxy", ref
    assert len(g.events("spawn", route=route)) == before_spawns, g.log()


def test_v1_tcp4():
    with start() as g:
        host, port = g.addr("p1")
        e, me = send_env(g, "p1", hh.v1("192.0.2.1", "198.51.100.7", 5555, 8443))
        assert e["PROTO"] == "TCP", e
        assert e["TCPREMOTEIP"] == "192.0.2.1" and e["REMOTE_ADDR"] == "192.0.2.1", e
        assert e["TCPREMOTEPORT"] == "5555" and e["REMOTE_PORT"] == "5555", e
        assert e["TCPLOCALIP"] == "198.51.100.7" and e["SERVER_ADDR"] == "198.51.100.7", e
        assert e["TCPLOCALPORT"] == "8443" and e["SERVER_PORT"] == "8443", e
        sp = g.wait_event("spawn", route="p1")[0]
        assert sp["peer"] == "192.0.2.1:5555", sp
        assert sp["via"] == "127.0.0.1:%d" % me[1], (sp, me)
        g.wait_event("exit", route="p1")
        stop_ok(g)


def test_v1_tcp6():
    with start() as g:
        e, _ = send_env(g, "p1", hh.v1("2001:db8::1", "2001:db8::2", 1234, 443))
        assert e["TCPREMOTEIP"] == "2001:db8::1" and e["TCPREMOTEPORT"] == "1234", e
        assert e["TCPLOCALIP"] == "2001:db8::2" and e["TCPLOCALPORT"] == "443", e
        sp = g.wait_event("spawn", route="p1")[0]
        assert sp["peer"] == "[2001:db8::1]:1234", sp
        stop_ok(g)


def test_v1_unknown_keeps_socket_addresses():
    with start() as g:
        host, port = g.addr("p1")
        for hdr in (b"PROXY UNKNOWN\r\n", b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"):
            e, me = send_env(g, "p1", hdr)
            assert e["TCPREMOTEIP"] == "127.0.0.1", e
            assert e["TCPREMOTEPORT"] == str(me[1]), (e, me)
            assert e["TCPLOCALIP"] == "127.0.0.1" and e["TCPLOCALPORT"] == str(port), e
        stop_ok(g)


def test_v2_inet():
    with start() as g:
        e, me = send_env(g, "p2", hh.v2("203.0.113.9", "203.0.113.10", 40000, 80))
        assert e["TCPREMOTEIP"] == "203.0.113.9" and e["TCPREMOTEPORT"] == "40000", e
        assert e["TCPLOCALIP"] == "203.0.113.10" and e["TCPLOCALPORT"] == "80", e
        assert e["REMOTE_ADDR"] == "203.0.113.9", e
        sp = g.wait_event("spawn", route="p2")[0]
        assert sp["peer"] == "203.0.113.9:40000", sp
        assert sp["via"] == "127.0.0.1:%d" % me[1], (sp, me)
        stop_ok(g)


def test_v2_inet6():
    with start() as g:
        e, _ = send_env(g, "p2", hh.v2("2001:db8:1::5", "2001:db8:2::6", 65535, 1))
        assert e["TCPREMOTEIP"] == "2001:db8:1::5" and e["TCPREMOTEPORT"] == "65535", e
        assert e["TCPLOCALIP"] == "2001:db8:2::6" and e["TCPLOCALPORT"] == "1", e
        stop_ok(g)


def test_v2_v4_mapped_is_dotted():
    # SPEC: addresses in inet_ntop form, v4-mapped v6 as dotted v4.
    with start() as g:
        e, _ = send_env(g, "p2", hh.v2("::ffff:192.0.2.33", "::ffff:192.0.2.34", 7, 8))
        assert e["TCPREMOTEIP"] == "192.0.2.33", e
        assert e["TCPLOCALIP"] == "192.0.2.34", e
        stop_ok(g)


def test_v2_with_tlvs():
    tlvs = (hh.tlv(0x01, b"h2") + hh.tlv(0x02, b"example.org") +
            hh.tlv(0x04, b"\0" * 100) + hh.tlv(0xE0, os.urandom(300)))
    with start() as g:
        e, _ = send_env(g, "p2", hh.v2("192.0.2.50", "192.0.2.51", 1000, 2000, tlvs=tlvs))
        assert e["TCPREMOTEIP"] == "192.0.2.50" and e["TCPREMOTEPORT"] == "1000", e
        # With the TLVs consumed, the child reads exactly what follows.
        payload = b"after the tlvs\n" + os.urandom(1000)
        out = gw.talk(g.addr("cat"), hh.v2("192.0.2.50", "192.0.2.51", 1000, 2000,
                                            tlvs=tlvs) + payload, timeout=30)
        assert out == payload, (len(out), out[:100])
        stop_ok(g)


# What a v2 header's TLVs give the child.
TLV_NAMES = ("HTTPS", "SSL_TLS_SNI", "SSL_ALPN_PROTOCOL", "UNIQUE_ID")


def test_v2_tls_tlvs_reach_the_child():
    # What HAProxy's send-proxy-v2-ssl sends for a client of its TLS
    # listener: the SSL TLV (client bits, verify, version and cipher
    # sub-TLVs), the SNI as the authority, the ALPN, a unique id.
    tlvs = (hh.ssl_tlv(0x05, 0, hh.tlv(0x21, b"TLSv1.3") +
                       hh.tlv(0x23, b"TLS_AES_128_GCM_SHA256")) +
            hh.tlv(0x02, b"shop.example") + hh.tlv(0x01, b"http/1.1") +
            hh.tlv(0x05, b"7F000001:8296_7F00001E:1F90_4F7B0A69_0003:790A") +
            hh.tlv(0x04, b"\0" * 3))
    with start() as g:
        e, _ = send_env(g, "p2", hh.v2("192.0.2.60", "192.0.2.61", 1000, 443, tlvs=tlvs))
        assert e["TCPREMOTEIP"] == "192.0.2.60", e
        assert e["SSL_TLS_SNI"] == "shop.example", e
        assert e["SSL_ALPN_PROTOCOL"] == "http/1.1", e
        assert e["UNIQUE_ID"] == "7F000001:8296_7F00001E:1F90_4F7B0A69_0003:790A", e
        # HTTPS is HTTP's: a raw route is not told.
        assert "HTTPS" not in e, e
        # Each connection its own: the next header has none, nor has v1.
        e, _ = send_env(g, "p2", hh.v2("192.0.2.60", "192.0.2.61", 1001, 443))
        assert not [k for k in TLV_NAMES if k in e], e
        e, _ = send_env(g, "pany", hh.v1("192.0.2.60", "192.0.2.61", 1002, 443))
        assert not [k for k in TLV_NAMES if k in e], e
        stop_ok(g)


def test_v2_tlvs_the_child_cannot_take_are_left_out():
    cases = [
        # Over the bounds: a unique id of 129 bytes, an authority of 256.
        (hh.tlv(0x05, b"u" * 129), {}),
        (hh.tlv(0x02, (b"a" * 63 + b".") * 4), {}),
        # Not a host name; an ALPN with a control byte; an empty one.
        (hh.tlv(0x02, b"evil.example/../admin"), {}),
        (hh.tlv(0x01, b"h2\nX=1"), {}),
        (hh.tlv(0x01, b""), {}),
        # The most each may hold.
        (hh.tlv(0x05, b"u" * 128) + hh.tlv(0x02, (b"a" * 63 + b".") * 3 + b"a" * 61),
         {"UNIQUE_ID": "u" * 128, "SSL_TLS_SNI": ("a" * 63 + ".") * 3 + "a" * 61}),
        # The first of a kind counts; one cut short by the header's
        # length ends the list, what came before it stands.
        (hh.tlv(0x01, b"h2") + hh.tlv(0x01, b"http/1.1") +
         bytes([0x02, 0x00, 0x40]) + b"cut.example",
         {"SSL_ALPN_PROTOCOL": "h2"}),
    ]
    with start() as g:
        for i, (tlvs, want) in enumerate(cases):
            e, _ = send_env(g, "p2", hh.v2("192.0.2.70", "192.0.2.71", 2000 + i, 443,
                                           tlvs=tlvs))
            # The header is believed all the same.
            assert e["TCPREMOTEIP"] == "192.0.2.70", (i, e)
            got = {k: e[k] for k in TLV_NAMES if k in e}
            assert got == want, (i, got, want)
        assert not g.events("refuse"), g.log()
        stop_ok(g)


def test_v2_local_and_unspec_keep_socket_addresses():
    with start() as g:
        host, port = g.addr("p2")
        for hdr in (hh.v2(command=0),                       # LOCAL
                    hh.v2("192.0.2.1", "192.0.2.2", 1, 2, command=0),  # LOCAL, block ignored
                    hh.v2(command=1)):                      # PROXY, UNSPEC
            e, me = send_env(g, "p2", hdr)
            assert e["TCPREMOTEIP"] == "127.0.0.1", (hdr, e)
            assert e["TCPREMOTEPORT"] == str(me[1]), (hdr, e, me)
            assert e["TCPLOCALPORT"] == str(port), (hdr, e)
        for sp in g.wait_event("spawn", count=3, route="p2"):
            assert sp["peer"].startswith("127.0.0.1:"), sp
            assert "via" not in sp, sp
        stop_ok(g)


def test_any_takes_both():
    with start() as g:
        e, _ = send_env(g, "pany", hh.v1("192.0.2.7", "192.0.2.8", 11, 12))
        assert e["TCPREMOTEIP"] == "192.0.2.7", e
        e, _ = send_env(g, "pany", hh.v2("192.0.2.9", "192.0.2.8", 13, 12))
        assert e["TCPREMOTEIP"] == "192.0.2.9", e
        stop_ok(g)


def test_payload_starts_right_after_header():
    # Header and payload in one write: the gateway must not swallow any
    # of the client's bytes (nor leave any of the header).
    payload = b"PROXY is not a header here\r\n" + os.urandom(200000) + b"end\n"
    with start() as g:
        for hdr in (hh.v1("192.0.2.1", "192.0.2.2", 1, 2),
                    hh.v2("192.0.2.1", "192.0.2.2", 1, 2),
                    hh.v2("2001:db8::1", "2001:db8::2", 1, 2),
                    b"PROXY UNKNOWN\r\n", hh.v2(command=0)):
            out = gw.talk(g.addr("cat"), hdr + payload, timeout=60)
            assert out == payload, (hdr, len(out), out[:64])
        stop_ok(g)


def test_header_in_small_pieces():
    payload = b"hello after a slow header\n"
    with start() as g:
        for hdr in (hh.v1("192.0.2.99", "192.0.2.2", 4321, 2),
                    hh.v2("192.0.2.99", "192.0.2.2", 4321, 2, tlvs=hh.tlv(4, b"xyz"))):
            s = gw.connect(g.addr("cat"), 30)
            try:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                # Pieces of 1..3 bytes, about 1.5 s in all: within the 5 s.
                i, k = 0, 0
                while i < len(hdr):
                    n = 1 + k % 3
                    s.sendall(hdr[i:i + n])
                    i += n
                    k += 1
                    time.sleep(1.5 / len(hdr) * n)
                try:
                    s.sendall(payload)
                    s.shutdown(socket.SHUT_WR)
                    out = recv_all(s)
                except OSError as e:
                    out = e
            finally:
                s.close()
            assert out == payload, (hdr, out, g.log())
        sps = g.wait_event("spawn", count=2, route="cat")
        assert all(sp["peer"] == "192.0.2.99:4321" for sp in sps), sps
        assert not g.events("refuse"), g.log()
        stop_ok(g)


def test_child_stdio_is_blocking():
    # SPEC: fd 0 and 1 are the connection in blocking mode, whatever the
    # gateway did with the socket while it read the header.
    with start() as g:
        for hdr in (hh.v1("192.0.2.1", "192.0.2.2", 1, 2), hh.v2(command=0)):
            out = gw.talk(g.addr("flags"), hdr, timeout=30)
            assert out == b"0 0\n", (hdr, out, g.log())
        stop_ok(g)


def test_client_bytes_after_spawn():
    # The client sends only after its child has started: the child's
    # read(0) must wait for them, not fail.
    with start() as g:
        s = gw.connect(g.addr("cat"), 30)
        try:
            s.sendall(hh.v1("192.0.2.1", "192.0.2.2", 1, 2))
            pid = int(g.wait_event("spawn", route="cat", timeout=30)[0]["pid"])
            # Until cat waits in its read(0), or has given up.
            gw.wait_for(lambda: hh.blocked_in(pid, b"cat"), 30, "cat to read")
            s.sendall(b"late bytes\n")
            got = b""
            while not got.endswith(b"\n"):
                b = s.recv(100)
                assert b, (got, g.log())
                got += b
            assert got == b"late bytes\n", got
            s.shutdown(socket.SHUT_WR)
            assert recv_all(s) == b""
        finally:
            s.close()
        ex = g.wait_event("exit", route="cat", timeout=30)[0]
        assert ex.get("status") == "0", (ex, g.log())
        stop_ok(g)


BAD_HEADERS = [
    b"GET / HTTP/1.0\r\n\r\n",
    b"PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n",            # bare LF
    b"PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n",            # a field missing
    b"PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n",         # two spaces
    b"PROXY TCP4 2001:db8::1 192.0.2.2 1 2\r\n",        # v6 in TCP4
    b"PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n",      # port too big
    b"PROXY TCP5 192.0.2.1 192.0.2.2 1 2\r\n",
    b"PROXY " + b"A" * 120 + b"\r\n",                   # too long
    hh.V2_SIG + b"\x31\x11\x00\x0c" + b"\0" * 12,       # version 3
    hh.V2_SIG + b"\x22\x11\x00\x0c" + b"\0" * 12,       # command 2
    hh.V2_SIG + b"\x21\x12\x00\x0c" + b"\0" * 12,       # UDP
    hh.V2_SIG + b"\x21\x11\x00\x04" + b"\0" * 4,        # shorter than INET needs
    b"\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x0c" + b"\0" * 12,
]


def test_bad_header_refused():
    with start() as g:
        for i, hdr in enumerate(BAD_HEADERS):
            s = gw.connect(g.addr("pany"), 30)
            try:
                s.sendall(hdr + b"payload\n")
                try:
                    s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                out = recv_all(s)
            finally:
                s.close()
            assert out == b"", (hdr, out)
            assert_refused_proxy(g, "pany", hdr, 0, i + 1)
        assert not g.events("spawn"), g.log()
        assert not g.children(), g.children()
        stop_ok(g)


def test_wrong_version_refused():
    with start() as g:
        # v2 on a v1-only route, v1 on a v2-only route.
        out = hh.refused_talk(g.addr("p1"), hh.v2("192.0.2.1", "192.0.2.2", 1, 2))
        assert out == b"", out
        assert_refused_proxy(g, "p1", None, 0, 1)
        out = hh.refused_talk(g.addr("p2"), hh.v1("192.0.2.1", "192.0.2.2", 1, 2))
        assert out == b"", out
        assert_refused_proxy(g, "p2", None, 0, 1)
        stop_ok(g)


def test_eof_before_header_refused():
    with start() as g:
        out = hh.refused_talk(g.addr("pany"), b"PROXY TCP4 192.0.2")
        assert out == b"", out
        assert_refused_proxy(g, "pany", None, 0, 1)
        stop_ok(g)


def test_header_from_outside_proxy_from():
    with start() as g:
        s = gw.connect(g.addr("strict"), 30)        # from 127.0.0.1
        try:
            s.sendall(hh.v1("192.0.2.1", "192.0.2.2", 1, 2))
            out = recv_all(s)
        finally:
            s.close()
        assert out == b"", out
        ref = g.wait_event("refuse", route="strict", timeout=30)[0]
        assert ref["reason"] == "proxy", ref
        # The header was never read: the peer logged is the real one.
        assert ref["peer"].startswith("127.0.0.1:"), ref
        assert not g.events("spawn"), g.log()
        # From 127.0.0.2 the same header is believed.
        e, me = send_env(g, "strict", hh.v1("192.0.2.1", "192.0.2.2", 1, 2),
                         source="127.0.0.2")
        assert e["TCPREMOTEIP"] == "192.0.2.1", e
        sp = g.wait_event("spawn", route="strict")[0]
        assert sp["via"] == "127.0.0.2:%d" % me[1], (sp, me)
        stop_ok(g)


def test_v4_mapped_proxy_from_is_its_v4_address():
    # proxy_from = ::ffff:127.0.0.2 names the v4 proxy 127.0.0.2.
    with start() as g:
        e, me = send_env(g, "mapped", hh.v1("192.0.2.1", "192.0.2.2", 1, 2),
                         source="127.0.0.2")
        assert e.get("TCPREMOTEIP") == "192.0.2.1", (e, g.log())
        sp = g.wait_event("spawn", route="mapped")[0]
        assert sp["via"] == "127.0.0.2:%d" % me[1], (sp, me)
        # From 127.0.0.1 the connection is closed before a byte is read.
        s = gw.connect(g.addr("mapped"), 30)
        try:
            out = recv_all(s)
        finally:
            s.close()
        assert out == b"", out
        ref = g.wait_event("refuse", route="mapped", timeout=30)[0]
        assert ref["reason"] == "proxy", ref
        assert ref["peer"].startswith("127.0.0.1:"), ref
        stop_ok(g)


def test_no_header_within_5s():
    with start() as g:
        s = gw.connect(g.addr("pany"), 60)
        try:
            t0 = time.monotonic()
            out = recv_all(s)       # the gateway closes it
            waited = time.monotonic() - t0
        finally:
            s.close()
        assert out == b"", out
        ref = g.wait_event("refuse", route="pany", timeout=30)[0]
        assert ref["reason"] == "proxy", ref
        assert waited >= 4, waited  # not before the bound (a lower bound only)
        assert not g.events("spawn"), g.log()
        # A partial header is not enough either.
        s = gw.connect(g.addr("pany"), 60)
        try:
            s.sendall(b"PROXY TCP4 192.0.2.1 ")
            out = recv_all(s)
        finally:
            s.close()
        assert out == b"", out
        g.wait_event("refuse", count=2, route="pany", reason="proxy", timeout=30)
        assert not g.events("spawn"), g.log()
        stop_ok(g)


def test_allow_deny_judge_header_source():
    with start() as g:
        def one(hdr):
            return hh.refused_talk(g.addr("acl"), hdr)
        # The real peer (127.0.0.1) is outside allow: the header's source counts.
        assert one(hh.v1("10.1.2.3", "10.0.0.1", 1000, 80)) == b"served\n"
        assert one(hh.v2("2001:db8::7", "2001:db8::1", 1000, 80)) == b"served\n"
        assert one(hh.v1("10.9.9.9", "10.0.0.1", 1001, 80)) == b""
        ref = g.wait_event("refuse", route="acl")[0]
        assert ref["reason"] == "deny" and ref["peer"] == "10.9.9.9:1001", ref
        assert ref["via"].startswith("127.0.0.1:"), ref
        assert one(hh.v2("2001:db8::bad", "2001:db8::1", 1002, 80)) == b""
        assert one(hh.v1("192.0.2.1", "10.0.0.1", 1003, 80)) == b""
        refs = g.wait_event("refuse", count=3, route="acl")
        assert [r["reason"] for r in refs] == ["deny"] * 3, refs
        # LOCAL keeps the real address, which allow does not list.
        assert one(hh.v2(command=0)) == b""
        g.wait_event("refuse", count=4, route="acl")
        assert len(g.events("spawn", route="acl")) == 2, g.log()
        stop_ok(g)


def test_max_per_source_counts_header_source():
    with start() as g:
        a = gw.connect(g.addr("persrc"), 30)
        c = None
        try:
            a.sendall(hh.v1("10.0.0.5", "10.0.0.1", 1, 2) + b"a\n")
            assert a.recv(10) == b"a\n"
            # Same claimed source, over the limit: refused at once.
            out = hh.refused_talk(g.addr("persrc"),
                                  hh.v1("10.0.0.5", "10.0.0.1", 3, 2) + b"b\n")
            assert out == b"busy\n", out
            ref = g.wait_event("refuse", route="persrc")[0]
            assert ref["reason"] == "per_source" and ref["peer"] == "10.0.0.5:3", ref
            # Another claimed source from the same real peer: served.
            c = gw.connect(g.addr("persrc"), 30)
            c.sendall(hh.v2("10.0.0.6", "10.0.0.1", 4, 2) + b"c\n")
            assert c.recv(10) == b"c\n"
        finally:
            a.close()
            if c:
                c.close()
        g.wait_event("exit", count=2, route="persrc", timeout=30)
        # Once the first has gone its source may come again.
        out = gw.talk(g.addr("persrc"), hh.v1("10.0.0.5", "10.0.0.1", 5, 2) + b"d\n",
                      timeout=30)
        assert out == b"d\n", out
        stop_ok(g)


def test_unix_listener_becomes_tcp():
    with start() as g:
        path = g.addr("ux")
        for hdr, rip, rport, lip, lport in (
                (hh.v1("192.0.2.1", "192.0.2.2", 1111, 2222), "192.0.2.1", "1111",
                 "192.0.2.2", "2222"),
                (hh.v2("2001:db8::1", "2001:db8::2", 3333, 4444), "2001:db8::1", "3333",
                 "2001:db8::2", "4444")):
            out = gw.talk(path, hdr, timeout=30)
            e = env_of(out)
            assert e["PROTO"] == "TCP", e
            assert e["TCPREMOTEIP"] == rip and e["TCPREMOTEPORT"] == rport, e
            assert e["TCPLOCALIP"] == lip and e["TCPLOCALPORT"] == lport, e
            assert e["REMOTE_ADDR"] == rip, e
            assert "IPCREMOTEEUID" not in e, e
        sp = g.wait_event("spawn", route="ux")[0]
        assert sp["peer"] == "192.0.2.1:1111", sp
        assert sp["via"].startswith("unix:"), sp
        # LOCAL keeps the Unix socket's own view.
        e = env_of(gw.talk(path, hh.v2(command=0), timeout=30))
        assert e["PROTO"] == "IPC", e
        assert e["IPCREMOTEEUID"] == str(os.geteuid()), e
        stop_ok(g)


def test_http_route_behind_header():
    with start() as g:
        addr = g.addr("web")
        data = (hh.v1("192.0.2.77", "192.0.2.78", 5000, 80) +
                b"GET /x?y=1 HTTP/1.1\r\nHost: h\r\n\r\n")
        r = hh.Response(hh.exchange(addr, data))
        e = hh.cgi_env(r)
        assert e["REMOTE_ADDR"] == "192.0.2.77" and e["REMOTE_PORT"] == "5000", e
        assert e["SERVER_PORT"] == "80", e
        assert e["PATH_INFO"] == "/x" and e["QUERY_STRING"] == "y=1", e
        # deny judges the header's source: a 403.
        data = hh.v1("10.9.9.9", "192.0.2.78", 5001, 80) + b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
        r = hh.Response(hh.exchange(addr, data))
        assert r.status == 403, r
        ref = g.wait_event("refuse", route="web")[0]
        assert ref["reason"] == "deny" and ref["peer"] == "10.9.9.9:5001", ref
        stop_ok(g)


SHARED_TRUST = """
[site]
listen = 127.0.0.1:0
exec = envcgi
protocol = cgi
proxy_protocol = v1
proxy_from = 127.0.0.1

[admin]
listen = 127.0.0.1:0
exec = envcgi
protocol = cgi
path = /admin
proxy_protocol = v1
proxy_from = 10.9.9.9
allow = 192.0.2.0/24
"""


def test_routes_sharing_a_listener_agree_on_proxy_from():
    """The header is read before the head names the route, so who may
    send it is the listener's: routes on one address that trust different
    proxies are a config error (otherwise a header from the first route's
    proxy, claiming an address /admin allows, would reach /admin)."""
    port = hh.free_port()
    text = SHARED_TRUST.replace("127.0.0.1:0", "127.0.0.1:%d" % port)
    rc, out, err, _ = gw.run_config_check(text, files=FILES)
    assert rc == 1, (out, err)
    assert "must agree on proxy_from" in err and "[site]" in err, err
    with gw.Gateway(text, start=False, files=FILES) as g:
        assert g.run_to_exit() == 1
        assert not g.events("start"), g.log()
    # Agreeing, they share the socket; a header from the trusted proxy
    # is still judged by /admin's allow list.
    text = text.replace("proxy_from = 10.9.9.9", "proxy_from = 127.0.0.1")
    with gw.Gateway(text, files=FILES) as g:
        addr = ("127.0.0.1", port)
        r = hh.Response(hh.exchange(addr, hh.v1("192.0.2.5", "192.0.2.9", 4000, 80) +
                                    b"GET /admin/x HTTP/1.1\r\nHost: h\r\n\r\n"))
        assert r.status == 200 and hh.cgi_env(r)["REMOTE_ADDR"] == "192.0.2.5", r
        r = hh.Response(hh.exchange(addr, hh.v1("198.51.100.1", "192.0.2.9", 4001, 80) +
                                    b"GET /admin/x HTTP/1.1\r\nHost: h\r\n\r\n"))
        assert r.status == 403, r
        stop_ok(g)


RELOADED = """
[ux]
listen = unix:{dir}/ux.sock
exec = /bin/sh
args = -c 'echo %s $TCPREMOTEIP'
proxy_protocol = v1
proxy_from = unix
"""


def test_header_half_read_across_a_reload():
    """A reload frees the old config while a PROXY header is half read on
    a Unix listener: the connection's own copy of its addresses (via=,
    IPCLOCALPATH) must not point into it (under ASan a use after free)."""
    with gw.Gateway(RELOADED % "old") as g:
        path = g.addr("ux")
        hdr = hh.v1("192.0.2.1", "192.0.2.2", 1111, 2222)
        before = set(g.fd_table().values())
        s = gw.connect(path, timeout=30)
        try:
            s.sendall(hdr[:10])
            # Accepted under the old config: a socket more in the gateway.
            gw.wait_for(lambda: set(g.fd_table().values()) - before, 10,
                        "the gateway to accept")
            with open(g.config, "w") as f:
                f.write((RELOADED % "new").format(dir=g.dir))
            n = len(g.events("reload"))
            g.kill(signal.SIGHUP)
            g.wait_event("reload", n + 1)
            # Something else after the reload, so the old config is gone.
            assert gw.talk(path, hh.v1("192.0.2.9", "192.0.2.2", 9, 9), timeout=30) == \
                b"new 192.0.2.9\n"
            s.sendall(hdr[10:])
            s.shutdown(socket.SHUT_WR)
            # (Which settings it runs with is the reload's business; the
            # header's address must be intact.)
            got = gw.recv_all(s)
            assert got in (b"old 192.0.2.1\n", b"new 192.0.2.1\n"), got
        finally:
            s.close()
        sp = g.wait_event("spawn", 2, route="ux")
        first = [e for e in sp if e["peer"] == "192.0.2.1:1111"][0]
        assert first["via"] == "unix:" + path, first
        stop_ok(g)


LIMITED = """
[gateway]
max_children = 1

[held]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'echo $TCPREMOTEIP\; read x'
proxy_protocol = v1
proxy_from = 127.0.0.1
stderr = null
"""


def test_gateway_limit_holds_after_the_header():
    """max_children = 1 for the whole gateway: two connections accepted
    while there was room, both send their header; the second child starts
    only once the first has exited (it waits, it is not refused)."""
    with gw.Gateway(LIMITED) as g:
        addr = g.addr("held")
        before = set(g.fd_table().values())
        a, b = gw.connect(addr, 30), gw.connect(addr, 30)
        try:
            gw.wait_for(lambda: len(set(g.fd_table().values()) - before) >= 2, 10,
                        "both to be accepted")
            a.sendall(hh.v1("192.0.2.1", "192.0.2.9", 1000, 80))
            assert recv_until(a, b"\n") == b"192.0.2.1\n"
            b.sendall(hh.v1("192.0.2.2", "192.0.2.9", 1001, 80))
            a.sendall(b"done\n")
            assert recv_until(b, b"\n") == b"192.0.2.2\n"
            b.sendall(b"done\n")
            g.wait_event("exit", 2)
        finally:
            a.close()
            b.close()
        kinds = [e.get("event") for e in g.events() if e.get("event") in ("spawn", "exit")]
        assert kinds == ["spawn", "exit", "spawn", "exit"], (kinds, g.log())
        assert not g.events("refuse"), g.log()
        stop_ok(g)


def test_haproxy_in_front():
    with start() as g:
        host, gport = g.addr("pany")
        # One haproxy sending v1 headers, one sending v2.
        with haproxy.HAProxy([haproxy.Server("s", host, gport, options="send-proxy")]) as h1, \
                haproxy.HAProxy([haproxy.Server("s", host, gport, proxy_v2=True)]) as h2:
            for n, port in enumerate((h1.port, h2.port)):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(30)
                s.bind(("127.0.0.1", 0))
                s.connect(("127.0.0.1", port))
                me = s.getsockname()
                try:
                    out = recv_all(s)
                finally:
                    s.close()
                e = env_of(out)
                assert e.get("TCPREMOTEIP") == "127.0.0.1", (port, out)
                assert e["TCPREMOTEPORT"] == str(me[1]), (e, me)
                assert e["TCPLOCALIP"] == "127.0.0.1" and e["TCPLOCALPORT"] == str(port), e
                sp = g.wait_event("spawn", count=n + 1, route="pany")[n]
                assert sp["peer"] == "127.0.0.1:%d" % me[1], (sp, me)
                # via= is haproxy's own connection, not the client's.
                assert sp["via"].startswith("127.0.0.1:") and sp["via"] != sp["peer"], sp
            assert not g.events("refuse"), g.log()
        stop_ok(g)


if __name__ == "__main__":
    gw.main(globals())
