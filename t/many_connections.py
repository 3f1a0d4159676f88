"""Thousands of short connections: each gets one spawn and one exit event,
every child is reaped, and the gateway ends with the descriptors it
started with."""
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402

TOTAL = 2000
THREADS = 4

CONFIG = """
[hello]
listen = 127.0.0.1:0
listen = unix:{dir}/hello.sock
exec = /bin/echo
args = hello

[quiet]
listen = 127.0.0.1:0
exec = /bin/echo
args = quiet
stderr = null
"""


def hammer(addrs, n):
    """n connections per thread over THREADS threads; each sends nothing
    (the program does not read) and reads the answer to EOF."""
    bad = []

    def run(k):
        for i in range(n // THREADS):
            addr = addrs[(k + i) % len(addrs)]
            try:
                s = gw.connect(addr, timeout=30)
                try:
                    got = gw.recv_all(s)
                finally:
                    s.close()
            except OSError as e:
                got = repr(e)
            if got not in (b"hello\n", b"quiet\n"):
                bad.append(got)
    ts = [threading.Thread(target=run, args=(k,)) for k in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(240)
    assert not bad, "%d bad answers, e.g. %r" % (len(bad), bad[:3])


def baseline(g):
    """The gateway's descriptors, by identity, once it has served one
    connection of each route (libuv opens a descriptor of its own at the
    first spawn) and settled (one more [quiet] connection has ended)."""
    gw.talk(g.addr("hello"))
    g.wait_event("exit", 1)
    return g.settled_fds("quiet")


def check_clean(g, before, total, status=True):
    total += 2  # the baseline's
    exits = g.wait_event("exit", total, timeout=60)
    spawns = g.events("spawn")
    assert len(spawns) == total, len(spawns)
    assert len(exits) == total, len(exits)
    assert {e["conn"] for e in spawns} == {e["conn"] for e in exits}
    assert len({e["conn"] for e in spawns}) == total
    if status:
        assert all(e.get("status") == "0" for e in exits), \
            [e for e in exits if e.get("status") != "0"][:3]
    assert not g.events("spawn_error") and not g.events("accept_error")
    # Every child is reaped: once all exits are logged no child is left,
    # zombie or not.
    kids = g.children()
    assert not [k for k in kids if k[1] == "Z"], kids
    assert not kids, kids
    # No descriptor growth: once settled, the very same descriptors as
    # before (the settling connection is one more [quiet] spawn and exit).
    after = g.settled_fds("quiet")
    assert after == before, (before, after)


def test_sequential_in_parallel_threads():
    with gw.Gateway(CONFIG) as g:
        before = baseline(g)
        hammer([g.addr("hello", 0), g.addr("hello", 1), g.addr("quiet")], TOTAL)
        check_clean(g, before, TOTAL)
        # And it still serves.
        assert gw.talk(g.addr("hello")) == b"hello\n"


def test_clients_that_vanish():
    """Clients that connect and close at once, or send and reset, change
    nothing for the others."""
    import socket
    import struct
    with gw.Gateway(CONFIG) as g:
        before = baseline(g)
        for i in range(200):
            s = gw.connect(g.addr("quiet"))
            if i % 2:
                # RST on close
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        # echo's write may fail on a reset socket: any status will do.
        check_clean(g, before, 200, status=False)
        assert gw.talk(g.addr("quiet")) == b"quiet\n"


if __name__ == "__main__":
    gw.main(globals())
