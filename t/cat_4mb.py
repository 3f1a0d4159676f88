"""4 MB of random bytes go through /bin/cat byte for byte: the socket is
the child's stdin and stdout, on TCP and on a Unix socket."""
import hashlib
import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402

SIZE = 4 << 20

CONFIG = """
[tcp]
listen = 127.0.0.1:0
exec = /bin/cat

[ipc]
listen = unix:{dir}/cat.sock
exec = /bin/cat
"""


def through(addr, data):
    """Sends data from a thread while reading the echo, so neither side's
    buffers can fill up; half-closes after the last byte."""
    s = gw.connect(addr, timeout=60)
    err = []

    def send():
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except Exception as e:  # reported by the reader's assertion
            err.append(e)
    t = threading.Thread(target=send)
    t.start()
    try:
        got = gw.recv_all(s)
    finally:
        t.join(60)
        s.close()
    assert not err, err
    return got


def check_same(got, data):
    assert len(got) == len(data), "got %d bytes of %d" % (len(got), len(data))
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), "bytes differ"


def check_exits(g, route, count):
    exits = g.wait_event("exit", count, timeout=30, route=route)
    assert all(e.get("status") == "0" for e in exits), exits
    assert not g.events("spawn_error")


def test_tcp():
    data = os.urandom(SIZE)
    with gw.Gateway(CONFIG) as g:
        check_same(through(g.addr("tcp"), data), data)
        check_exits(g, "tcp", 1)


def test_unix():
    data = os.urandom(SIZE)
    with gw.Gateway(CONFIG) as g:
        check_same(through(g.addr("ipc"), data), data)
        check_exits(g, "ipc", 1)


def test_two_at_once():
    """Two large transfers at the same time do not mix."""
    a, b = os.urandom(SIZE), os.urandom(SIZE)
    out = {}
    with gw.Gateway(CONFIG) as g:
        ts = [threading.Thread(target=lambda k=k, d=d, r=r: out.__setitem__(k, through(g.addr(r), d)))
              for k, d, r in (("a", a, "tcp"), ("b", b, "ipc"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        check_same(out["a"], a)
        check_same(out["b"], b)


def test_socat_unix():
    """A real client: socat with a close phase longer than the transfer."""
    data = os.urandom(SIZE)
    with gw.Gateway(CONFIG) as g:
        p = subprocess.run(["socat", "-t", "30", "-T", "60", "-",
                            "UNIX-CONNECT:" + g.addr("ipc")],
                           input=data, capture_output=True, timeout=90)
        assert p.returncode == 0, p.stderr
        check_same(p.stdout, data)
        check_exits(g, "ipc", 1)


def test_socat_tcp():
    data = os.urandom(SIZE)
    with gw.Gateway(CONFIG) as g:
        host, port = g.addr("tcp")
        p = subprocess.run(["socat", "-t", "30", "-T", "60", "-",
                            "TCP:%s:%d" % (host, port)],
                           input=data, capture_output=True, timeout=90)
        assert p.returncode == 0, p.stderr
        check_same(p.stdout, data)
        check_exits(g, "tcp", 1)


if __name__ == "__main__":
    gw.main(globals())
