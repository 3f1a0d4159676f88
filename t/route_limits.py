"""Route limits: max_children with on_busy = wait (only that route's
listeners pause, clients queue in the backlog) or refuse (busy_message,
refuse reason=busy), and the gateway-wide max_children, which always
waits, on top of them."""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from limits_helpers import (recv_all, recv_until, nothing_arrives,  # noqa: E402
                            spawns, stop_ok)

CONFIG = """
[gateway]
kill_grace = 1

[one]
listen = 127.0.0.1:0
exec = /bin/cat
max_children = 1
on_busy = wait

[other]
listen = 127.0.0.1:0
exec = /bin/echo
args = other

[refusing]
listen = 127.0.0.1:0
exec = /bin/cat
max_children = 1
on_busy = refuse
busy_message = busy, try later\\r\\n
"""

GLOBAL = """
[gateway]
max_children = 1

[a]
listen = 127.0.0.1:0
exec = /bin/cat
max_children = 5

[b]
listen = 127.0.0.1:0
exec = /bin/cat
max_children = 5
on_busy = refuse
busy_message = refused\\n
"""


def sequence(g, routes=None):
    """(event, conn) of the spawn and exit events, in log order."""
    out = []
    for line in g.log().splitlines():
        d = gw.parse_line(line)
        if d.get("event") in ("spawn", "exit") and (routes is None or d.get("route") in routes):
            out.append((d["event"], d["conn"]))
    return out


def most_alive(seq):
    live = top = 0
    for ev, _ in seq:
        live += 1 if ev == "spawn" else -1
        top = max(top, live)
    return top


def test_wait_serialises():
    with gw.Gateway(CONFIG) as g:
        c1 = g.connect("one")
        c1.sendall(b"first\n")
        recv_until(c1, b"first\n")
        # Two more queue in the kernel backlog: the route's listener is paused.
        c2 = g.connect("one")
        c2.sendall(b"second\n")
        c3 = g.connect("one")
        c3.sendall(b"third\n")
        # Other routes are served meanwhile.
        assert gw.talk(g.addr("other")) == b"other\n"
        g.wait_event("exit", route="other")
        assert nothing_arrives(c2, 1.0), "2nd client served while the 1st runs"
        assert len(spawns(g, "one")) == 1, g.log()
        # The first ends: the queued ones are served, one at a time.
        c1.shutdown(socket.SHUT_WR)
        assert recv_all(c1) == b""
        c1.close()
        assert recv_until(c2, b"second\n") == b"second\n"
        c2.shutdown(socket.SHUT_WR)
        assert recv_all(c2) == b""
        c2.close()
        assert recv_until(c3, b"third\n") == b"third\n"
        c3.shutdown(socket.SHUT_WR)
        assert recv_all(c3) == b""
        c3.close()
        g.wait_event("exit", count=3, route="one")
        seq = sequence(g, ["one"])
        assert [e for e, _ in seq] == ["spawn", "exit"] * 3, seq
        assert most_alive(seq) == 1
        assert not g.events("refuse"), g.log()
        stop_ok(g)


def test_wait_other_route_unaffected():
    with gw.Gateway(CONFIG) as g:
        c1 = g.connect("one")
        c1.sendall(b"x\n")
        recv_until(c1, b"x\n")
        for _ in range(5):
            assert gw.talk(g.addr("other")) == b"other\n"
        assert gw.talk(g.addr("refusing"), b"r") == b"r"
        g.wait_event("exit", count=5, route="other")
        c1.close()
        g.wait_event("exit", route="one")
        stop_ok(g)


def test_refuse_busy_message():
    with gw.Gateway(CONFIG) as g:
        c1 = g.connect("refusing")
        c1.sendall(b"hold\n")
        recv_until(c1, b"hold\n")
        # At the limit: accepted, answered with the message, closed.
        assert gw.talk(g.addr("refusing")) == b"busy, try later\r\n"
        assert gw.talk(g.addr("refusing")) == b"busy, try later\r\n"
        refused = g.wait_event("refuse", count=2, route="refusing")
        assert all(r["reason"] == "busy" for r in refused), refused
        assert all(r["peer"].startswith("127.0.0.1:") for r in refused), refused
        assert len(spawns(g, "refusing")) == 1
        spawned = {s["conn"] for s in spawns(g, "refusing")}
        assert not spawned & {r["conn"] for r in refused}
        # Once the child ends, the route serves again.
        c1.shutdown(socket.SHUT_WR)
        assert recv_all(c1) == b""
        c1.close()
        g.wait_event("exit", route="refusing")
        assert gw.talk(g.addr("refusing"), b"again") == b"again"
        stop_ok(g)


def test_global_limit_waits():
    with gw.Gateway(GLOBAL) as g:
        c1 = g.connect("a")
        c1.sendall(b"a1\n")
        recv_until(c1, b"a1\n")
        # The gateway-wide limit waits, even for a route that refuses at
        # its own limit.
        c2 = g.connect("b")
        c2.sendall(b"b1\n")
        c2.shutdown(socket.SHUT_WR)
        c3 = g.connect("a")
        c3.sendall(b"a2\n")
        c3.shutdown(socket.SHUT_WR)
        assert nothing_arrives(c2, 1.0)
        assert nothing_arrives(c3, 0.5)
        assert not g.events("refuse"), g.log()
        g.wait_event("spawn")
        assert len(g.events("spawn")) == 1, g.log()
        c1.shutdown(socket.SHUT_WR)
        assert recv_all(c1) == b""
        c1.close()
        assert recv_all(c2) == b"b1\n"
        assert recv_all(c3) == b"a2\n"
        c2.close()
        c3.close()
        g.wait_event("exit", count=3)
        seq = sequence(g)
        assert most_alive(seq) == 1, seq
        assert not g.events("refuse"), g.log()
        stop_ok(g)


if __name__ == "__main__":
    gw.main(globals())
