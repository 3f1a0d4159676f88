"""Answers the gateway writes while the client is still sending (an HTTP
error or refusal before the body is read, a raw route's busy_message
after a PROXY header): the gateway shuts its side, reads away what still
comes, and closes only then, so the client gets the whole answer and a
FIN, never a reset that would destroy the answer before it is read."""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
import http_helpers as hh  # noqa: E402

# Holds its connection until the client half-closes it.
HOLD = b"""#!/bin/sh
echo started
cat >/dev/null
"""

# A cgi program that holds the request until the client half-closes.
HOLD_CGI = b"""#!/bin/sh
cat >/dev/null
printf 'Content-Type: text/plain\\r\\n\\r\\nheld\\n'
"""

CONFIG = """
[only]
listen = 127.0.0.1:0
protocol = cgi
path = /only
exec = hold.cgi

[denied]
listen = 127.0.0.1:0
protocol = cgi
exec = hold.cgi
deny = 127.0.0.1

[busy]
listen = 127.0.0.1:0
protocol = cgi
exec = hold.cgi
max_children = 1
on_busy = refuse
# stdin is the socket: the program holds its slot until the client
# half-closes.
request_body = socket

[raw]
listen = 127.0.0.1:0
exec = hold.sh
proxy_protocol = v1
proxy_from = 127.0.0.1
max_children = 1
on_busy = refuse
busy_message = busy, come back later\\n
"""

FILES = {"hold.sh": (HOLD, 0o755), "hold.cgi": (HOLD_CGI, 0o755)}

BODY = 4 << 20


def send_then_read(addr, first, more=BODY, fill=b"x"):
    """Sends `first`, then `more` bytes of fill as fast as the gateway
    takes them, half-closes and reads to the end: (the bytes read, the
    first error a send or a read met, or None)."""
    s = gw.connect(addr, 30)
    err = None
    try:
        s.sendall(first)
        chunk = fill * 65536
        while more > 0:
            more -= s.send(chunk[:more])
        s.shutdown(socket.SHUT_WR)
    except OSError as e:
        err = e
    got = []
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got.append(b)
    except OSError as e:
        err = err or e
    s.close()
    return b"".join(got), err


def check_answer(g, got, err, start):
    assert err is None, "%r after %r; log:\n%s" % (err, got[:200], g.log())
    assert got.startswith(start), "got %r; log:\n%s" % (got[:200], g.log())
    assert not [w for w in g.events("warning") if "linger" in w.get("msg", "")], g.log()


def post(path, length=BODY):
    return ("POST %s HTTP/1.1\r\nHost: test.example\r\nContent-Length: %d\r\n\r\n"
            % (path, length)).encode()


def test_404_while_the_body_comes():
    """No route for the path: 404 written after the head, 4 MB of body
    still coming."""
    with gw.Gateway(CONFIG, files=FILES) as g:
        got, err = send_then_read(g.addr("only"), post("/elsewhere"))
        check_answer(g, got, err, b"HTTP/1.1 404 ")
        assert got.endswith(b"404 Not Found\n"), got
        g.wait_event("http_error", status=404)


def test_431_while_the_head_comes():
    """A header that never ends: 431 once the head's limit has come, the
    client still sending the header."""
    with gw.Gateway(CONFIG, files=FILES) as g:
        got, err = send_then_read(g.addr("only"),
                                  b"GET /only HTTP/1.1\r\nHost: test.example\r\nX-Big: ",
                                  fill=b"a")
        check_answer(g, got, err, b"HTTP/1.1 431 ")
        g.wait_event("http_error", status=431)


def test_403_while_the_body_comes():
    """A denied client: 403 after its head, its body still coming."""
    with gw.Gateway(CONFIG, files=FILES) as g:
        got, err = send_then_read(g.addr("denied"), post("/"))
        check_answer(g, got, err, b"HTTP/1.1 403 ")
        g.wait_event("refuse", route="denied", reason="deny")


def test_503_while_the_body_comes():
    """A route at its max_children with on_busy = refuse: 503 after the
    head, the body still coming."""
    with gw.Gateway(CONFIG, files=FILES) as g:
        holder = gw.connect(g.addr("busy"), 30)
        holder.sendall(post("/", 0))
        g.wait_event("spawn", route="busy")
        got, err = send_then_read(g.addr("busy"), post("/"))
        check_answer(g, got, err, b"HTTP/1.1 503 ")
        g.wait_event("refuse", route="busy", reason="busy")
        holder.shutdown(socket.SHUT_WR)
        assert b"held" in hh.recv_all(holder)
        holder.close()


def test_busy_message_after_a_proxy_header():
    """A raw route at its max_children, on_busy = refuse: its
    busy_message, written once the PROXY header is read, reaches a client
    that is still sending."""
    with gw.Gateway(CONFIG, files=FILES) as g:
        host, port = g.addr("raw")
        header = hh.v1("192.0.2.7", host, 40000, port)
        holder = gw.connect((host, port), 30)
        holder.sendall(header)
        assert holder.recv(100) == b"started\n"
        got, err = send_then_read((host, port), header)
        check_answer(g, got, err, b"busy, come back later\n")
        g.wait_event("refuse", route="raw", reason="busy")
        holder.shutdown(socket.SHUT_WR)
        assert hh.recv_all(holder) == b""
        holder.close()


if __name__ == "__main__":
    gw.main(globals())
