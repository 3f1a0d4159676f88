"""Connections still being read (a PROXY header, an HTTP head) hold a
place of their listener's max_pending: one source may hold at most a
quarter of them, they count toward max_per_source, an address every route
denies is refused before a byte is read, and a proxy in proxy_from is no
source until its header names the client."""
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
import http_helpers as hh  # noqa: E402
from limits_helpers import connect_from, recv_all, stop_ok  # noqa: E402

ENVCGI = b"""#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "from $REMOTE_ADDR"
"""
FILES = {"envcgi": (ENVCGI, 0o755)}

CONFIG = """
[web]
listen = 127.0.0.1:0
protocol = cgi
exec = envcgi
max_pending = 8

[guarded]
listen = 127.0.0.1:0
protocol = cgi
exec = envcgi
deny = 127.0.0.3

[one]
listen = 127.0.0.1:0
protocol = cgi
exec = envcgi
max_per_source = 1

[raw]
listen = 127.0.0.1:0
exec = /bin/echo
args = raw
max_pending = 4
proxy_protocol = v1
proxy_from = 127.0.0.1
"""

GET = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"


def idle(addr, source, n):
    """n connections from source that send nothing."""
    return [connect_from(addr, source, timeout=20) for _ in range(n)]


def answer(s):
    return hh.Response(recv_all(s))


def test_one_source_holds_a_quarter_of_max_pending():
    """max_pending = 8: two idle sockets from one address are all it may
    hold; the next is refused at once (503, per_source) and another
    address is served while the two still wait."""
    with gw.Gateway(CONFIG, files=FILES) as g:
        addr = g.addr("web")
        before = set(g.fd_table().values())
        held = idle(addr, "127.0.0.3", 2)
        try:
            more = idle(addr, "127.0.0.3", 6)
            for s in more:
                r = answer(s)
                assert r.status == 503, r
                s.close()
            refused = g.wait_event("refuse", 6, route="web")
            assert all(e["reason"] == "per_source" and e["peer"].startswith("127.0.0.3:")
                       for e in refused), refused
            # Others are served at once, the idle two still held.
            for _ in range(4):
                s = connect_from(addr, "127.0.0.2", timeout=5)
                s.sendall(GET)
                r = answer(s)
                s.close()
                assert r.status == 200 and r.body == b"from 127.0.0.2\n", r
            assert len(g.events("refuse", route="web")) == 6, g.log()
        finally:
            for s in held:
                s.close()
        # Once the gateway has closed the two, the source may be read again.
        gw.wait_for(lambda: set(g.fd_table().values()) <= before, 10,
                    "the idle sockets to be closed")
        s = connect_from(addr, "127.0.0.3", timeout=20)
        s.sendall(GET)
        assert answer(s).status == 200
        s.close()
        stop_ok(g)


def test_denied_address_is_refused_before_it_sends():
    """Every route denies 127.0.0.3: the 403 comes before the client
    sends a byte (nothing it could send would change it)."""
    with gw.Gateway(CONFIG, files=FILES) as g:
        s = connect_from(g.addr("guarded"), "127.0.0.3", timeout=5)
        try:
            r = answer(s)
        finally:
            s.close()
        assert r.status == 403, r
        e = g.wait_event("refuse", route="guarded")[0]
        assert e["reason"] == "deny" and e["peer"].startswith("127.0.0.3:"), e
        assert not g.events("http_error"), g.log()
        stop_ok(g)


def test_connections_being_read_count_toward_max_per_source():
    with gw.Gateway(CONFIG, files=FILES) as g:
        addr = g.addr("one")
        first = connect_from(addr, "127.0.0.4", timeout=20)
        try:
            # The first is still being read: a second from the same
            # address is over max_per_source = 1 already.
            s = connect_from(addr, "127.0.0.4", timeout=5)
            r = answer(s)
            s.close()
            assert r.status == 503, r
            assert g.wait_event("refuse", route="one")[0]["reason"] == "per_source"
            # Another source is not.
            s = connect_from(addr, "127.0.0.5", timeout=5)
            s.sendall(GET)
            assert answer(s).status == 200
            s.close()
            first.sendall(GET)
            assert answer(first).status == 200
        finally:
            first.close()
        stop_ok(g)


def test_proxy_is_no_source():
    """max_pending = 4 gives a source one place; a proxy in proxy_from is
    no source before its header: three idle connections from it are all
    held, and a fourth with its header is served."""
    with gw.Gateway(CONFIG, files=FILES) as g:
        addr = g.addr("raw")
        held = idle(addr, "127.0.0.1", 3)
        try:
            s = gw.connect(addr, timeout=10)
            s.sendall(hh.v1("192.0.2.1", "192.0.2.2", 1000, 80))
            s.shutdown(socket.SHUT_WR)
            assert recv_all(s) == b"raw\n"
            s.close()
            assert not g.events("refuse"), g.log()
        finally:
            for s in held:
                s.close()
        stop_ok(g)


def test_every_client_closed_is_logged():
    """A client that leaves before its head is logged gone; one still
    being read when the gateway stops is logged refused (shutdown), and
    so is one whose listener a reload removes."""
    with gw.Gateway(CONFIG, files=FILES) as g:
        s = connect_from(g.addr("web"), "127.0.0.6", timeout=10)
        s.sendall(b"GET / HT")
        s.close()
        e = g.wait_event("gone", route="web")[0]
        assert e["reason"] == "closed" and e["peer"].startswith("127.0.0.6:"), e
        before = set(g.fd_table().values())
        left = [connect_from(g.addr(r), "127.0.0.7", timeout=10) for r in ("web", "one")]
        left[0].sendall(b"GET / HT")
        # Both accepted before the reload that removes [one]'s listener.
        gw.wait_for(lambda: len(set(g.fd_table().values()) - before) >= 2, 10, "two accepts")
        moved = CONFIG.replace("[one]\nlisten = 127.0.0.1:0", "[one]\nlisten = unix:{dir}/one.sock")
        assert moved != CONFIG
        with open(g.config, "w") as f:
            f.write(moved.format(dir=g.dir))
        g.kill(signal.SIGHUP)
        e = g.wait_event("refuse", route="one")[0]
        assert e["reason"] == "reload" and e["peer"].startswith("127.0.0.7:"), e
        stop_ok(g)
        e = g.wait_event("refuse", route="web")[0]
        assert e["reason"] == "shutdown" and e["peer"].startswith("127.0.0.7:"), e
        for c in left:
            c.close()


if __name__ == "__main__":
    gw.main(globals())
