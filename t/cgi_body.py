#!/usr/bin/env python3
"""Request bodies on cgi and nph routes: stdin is a pipe that carries
exactly the body and then ends (programs that read to end of file work),
request_body = socket keeps the socket as stdin, a body that ends early
never looks complete, and a program the gateway has given up on is ended
and its place freed at once."""
import hashlib
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import gw  # noqa: E402
import http_helpers as hh  # noqa: E402
from limits_helpers import recv_until, stop_ok  # noqa: E402

CONFIG = """
[sh]
listen = 127.0.0.1:0
protocol = cgi
path = /
exec = sh.cgi

[perl]
listen = 127.0.0.1:0
protocol = cgi
exec = perl.cgi

[python]
listen = 127.0.0.1:0
protocol = cgi
exec = python.cgi

[nph]
listen = 127.0.0.1:0
protocol = nph
exec = nph.sh

[socket]
listen = 127.0.0.1:0
protocol = cgi
exec = exact.sh
request_body = socket

[cut]
listen = 127.0.0.1:0
protocol = cgi
exec = cut.sh

[bad]
listen = 127.0.0.1:0
protocol = cgi
exec = bad.sh
max_children = 1
on_busy = refuse

[overlong]
listen = 127.0.0.1:0
protocol = cgi
exec = overlong.sh

[stream]
listen = 127.0.0.1:0
protocol = cgi
exec = stream.sh
max_children = 1
on_busy = refuse
"""

# Each reads its stdin to end of file and answers with its length and
# SHA-256, and what stdin was.
SH = b"""#!/bin/sh
sum=$(sha256sum | cut -d' ' -f1)
len=$(wc -c < /proc/self/fd/0 2>/dev/null || true)
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "sha=$sum"
echo "stdin=$(readlink /proc/$$/fd/0 | cut -d: -f1)"
"""

PERL = b"""#!/usr/bin/perl
use Digest::SHA qw(sha256_hex);
binmode STDIN;
local $/;
my $body = <STDIN>;
$body = "" unless defined $body;
print "Content-Type: text/plain\\r\\n\\r\\n";
print "sha=", sha256_hex($body), "\\n";
print "len=", length($body), "\\n";
"""

PYTHON = b"""#!/usr/bin/python3
import hashlib, sys
body = sys.stdin.buffer.read()
sys.stdout.write("Content-Type: text/plain\\r\\n\\r\\n")
sys.stdout.write("sha=%s\\nlen=%d\\n" % (hashlib.sha256(body).hexdigest(), len(body)))
"""

NPH = b"""#!/bin/sh
sum=$(sha256sum | cut -d' ' -f1)
printf 'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nsha=%s\\n' "$sum"
"""

# request_body = socket: reads exactly CONTENT_LENGTH bytes of the socket.
EXACT = b"""#!/bin/sh
sum=$(head -c "$CONTENT_LENGTH" | sha256sum | cut -d' ' -f1)
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "sha=$sum"
echo "stdin=$(readlink /proc/$$/fd/0 | cut -d: -f1)"
"""

# Reads its body to end of file, then leaves a mark that it had it all.
CUT = b"""#!/bin/sh
cat > "$GATEWAY_CONN.body"
touch "$GATEWAY_CONN.complete"
printf 'Content-Type: text/plain\\r\\n\\r\\ngot it\\n'
"""

# An invalid header block, then a long wait.
BAD = b"""#!/bin/sh
printf 'this is not a header\\r\\n\\r\\n'
exec sleep 60
"""

# A body longer than the Content-Length it announces, then a wait.
OVERLONG = b"""#!/bin/sh
printf 'Content-Type: text/plain\\r\\nContent-Length: 6\\r\\n\\r\\nhello\\nand more bytes than it said\\n'
exec sleep 30
"""

# A response that never ends.
STREAM = b"""#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
exec yes streaming
"""

FILES = {"sh.cgi": (SH, 0o755), "perl.cgi": (PERL, 0o755), "python.cgi": (PYTHON, 0o755),
         "nph.sh": (NPH, 0o755), "exact.sh": (EXACT, 0o755), "cut.sh": (CUT, 0o755),
         "bad.sh": (BAD, 0o755), "stream.sh": (STREAM, 0o755),
         "overlong.sh": (OVERLONG, 0o755)}


def start(config=CONFIG):
    return gw.Gateway(config, files=FILES)


def field(body, name):
    for line in body.decode().split("\n"):
        if line.startswith(name + "="):
            return line[len(name) + 1:]
    raise AssertionError("no %s= in %r" % (name, body))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def post(addr, target, body, timeout=60):
    return hh.request(addr, "POST", target, body=body, timeout=timeout)


def test_programs_reading_to_eof():
    """sh, Perl and Python programs that read stdin to end of file get
    exactly the body, for GET (nothing), a small POST and a 4 MB POST."""
    big = os.urandom(4 << 20)
    with start() as g:
        for route in ("sh", "perl", "python"):
            addr = g.addr(route)
            for body in (b"", b"name=value&x=1", big):
                r = post(addr, "/x", body) if body else hh.get(addr, "/x", timeout=30)
                assert r.status == 200, (route, r)
                assert field(r.body, "sha") == sha(body), (route, len(body), r)
        stop_ok(g)


def test_programs_reading_to_eof_with_workers():
    """The same with workers: a worker feeds the body."""
    big = os.urandom(4 << 20)
    with start("[gateway]\nworkers = 2\n" + CONFIG) as g:
        g.wait_event("worker", 2)
        for route in ("sh", "perl", "python", "nph"):
            addr = g.addr(route)
            for body in (b"", b"a=1", big):
                r = post(addr, "/x", body) if body else hh.get(addr, "/x", timeout=30)
                assert r.status == 200 and field(r.body, "sha") == sha(body), (route, r)
        stop_ok(g)
        assert len(g.events("spawn")) == 12


def test_nph_reads_to_eof():
    with start() as g:
        addr = g.addr("nph")
        for body in (b"", os.urandom(300000)):
            r = post(addr, "/", body) if body else hh.get(addr, "/")
            assert r.status == 200 and field(r.body, "sha") == sha(body), r
        stop_ok(g)


def test_stdin_is_a_pipe_or_the_socket():
    """By default stdin is a pipe; request_body = socket keeps the socket
    (the program reads CONTENT_LENGTH bytes of it)."""
    body = os.urandom(200000)
    with start() as g:
        r = post(g.addr("sh"), "/", body)
        assert field(r.body, "stdin") == "pipe", r
        r = post(g.addr("socket"), "/", body)
        assert field(r.body, "stdin") == "socket", r
        assert field(r.body, "sha") == sha(body), r
        stop_ok(g)


def test_chunked_body_reaches_eof_readers():
    body = os.urandom(100000)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7000]), body[i:i + 7000])
                      for i in range(0, len(body), 7000)) + b"0\r\n\r\n"
    with start() as g:
        raw = hh.exchange(g.addr("python"),
                          b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                          + chunks)
        r = hh.Response(raw)
        assert r.status == 200 and field(r.body, "sha") == sha(body), r
        stop_ok(g)


def cut_run(g, data, half_close):
    """A request whose body ends early: the raw answer (b"" when the
    client closed its side entirely)."""
    s = gw.connect(g.addr("cut"), 30)
    try:
        s.sendall(data)
        pid = int(g.wait_event("spawn", route="cut")[-1]["pid"])
        if half_close:
            s.shutdown(socket.SHUT_WR)
            return pid, hh.recv_all(s)
        # Closed with unread bytes of ours in its buffer: a reset.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        return pid, b""
    finally:
        s.close()


def test_body_cut_short_never_looks_complete():
    """A client that stops mid-body: the program is ended (TERM) before its
    stdin closes, so it never takes the part for the whole; the client
    (which still reads) gets 400; it is logged."""
    with start() as g:
        head = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n"
        pid, raw = cut_run(g, head + b"x" * 5000, half_close=True)
        r = hh.Response(raw)
        assert r.status == 400, r
        ev = g.wait_event("body_error", route="cut")[-1]
        assert ev["reason"] == "closed", ev
        ex = g.wait_event("exit", route="cut")[-1]
        assert ex["pid"] == str(pid) and ex.get("signal") == "TERM", ex
        assert ex.get("reason") == "body", ex
        conn = ex["conn"]
        assert not os.path.exists(os.path.join(g.dir, conn + ".complete")), \
            "the program read end of file after a cut body"
        # A whole body still goes through.
        r = post(g.addr("cut"), "/", b"y" * 5000)
        assert r.body == b"got it\n", r
        stop_ok(g)


def test_body_reset_mid_way():
    with start() as g:
        head = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n"
        pid, _ = cut_run(g, head + b"x" * 3000, half_close=False)
        ev = g.wait_event("body_error", route="cut")[-1]
        assert ev["reason"] in ("reset", "closed"), ev
        ex = g.wait_event("exit", route="cut")[-1]
        assert ex["pid"] == str(pid) and ex.get("reason") == "body", ex
        assert not os.path.exists(os.path.join(g.dir, ex["conn"] + ".complete"))
        stop_ok(g)


def test_malformed_chunked_body():
    with start() as g:
        data = (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\nzz-not-a-size\r\n")
        pid, raw = cut_run(g, data, half_close=True)
        assert hh.Response(raw).status == 400, raw
        ev = g.wait_event("body_error", route="cut")[-1]
        assert ev["reason"] == "malformed", ev
        ex = g.wait_event("exit", route="cut")[-1]
        assert ex.get("reason") == "body" and ex.get("signal") == "TERM", ex
        assert not os.path.exists(os.path.join(g.dir, ex["conn"] + ".complete"))
        stop_ok(g)


def test_bad_header_block_ends_the_program():
    """A 502 for an invalid header block ends the program (it was going to
    sleep a minute) and frees its place at once: with max_children = 1
    the next request is served, not refused."""
    with start() as g:
        addr = g.addr("bad")
        r = hh.get(addr, "/")
        assert r.status == 502, r
        ex = g.wait_event("exit", route="bad", timeout=15)[-1]
        assert ex.get("reason") == "bad_response" and ex.get("signal") == "TERM", ex
        r = hh.get(addr, "/")
        assert r.status == 502, r
        assert not g.events("refuse", route="bad"), g.log()
        stop_ok(g)


def test_client_gone_ends_the_program():
    """A client that leaves while a cgi program still writes: the program
    is ended, its place freed."""
    with start() as g:
        addr = g.addr("stream")
        s = gw.connect(addr, 30)
        s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert recv_until(s, b"streaming\n")
        s.close()
        ex = g.wait_event("exit", route="stream", timeout=15)[-1]
        assert ex.get("reason") == "client_gone", ex
        # Its place is free: another request is served.
        s = gw.connect(addr, 30)
        s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert recv_until(s, b"streaming\n")
        s.close()
        g.wait_event("exit", 2, route="stream", timeout=15)
        assert not g.events("refuse", route="stream"), g.log()
        stop_ok(g)


def test_no_byte_past_content_length():
    """A program that writes more than the Content-Length it announced:
    the client gets exactly that many body bytes, and the connection ends
    then, not when the program does."""
    with start() as g:
        r = hh.get(g.addr("overlong"), "/", timeout=10)
        assert r.status == 200 and r.header("Content-Length") == "6", r
        assert r.body == b"hello\n", r
        stop_ok(g)


def test_many_bodies_at_once():
    """Bodies fed side by side, none waiting for another."""
    bodies = [os.urandom(256 * 1024 + i) for i in range(8)]
    out = [None] * len(bodies)
    with start() as g:
        addr = g.addr("python")

        def client(i):
            out[i] = post(addr, "/", bodies[i], timeout=120)
        ts = [threading.Thread(target=client, args=(i,)) for i in range(len(bodies))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(150)
        for b, r in zip(bodies, out):
            assert r is not None and field(r.body, "sha") == sha(b), r
        stop_ok(g)


if __name__ == "__main__":
    gw.main(globals())
