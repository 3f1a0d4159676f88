"""[gateway] max_children: at the limit the gateway stops accepting; a
further client is not refused but waits in the kernel backlog and is
served when a running child finishes. A route's own max_children waits
(or refuses, with on_busy = refuse) for that route alone."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402

ANSWER = b"""#!/bin/sh
read x
echo "served $x"
"""

CONFIG = """
[gateway]
max_children = 2

[a]
listen = 127.0.0.1:0
exec = answer.sh

[b]
listen = unix:{dir}/b.sock
exec = answer.sh
"""

ROUTE_LIMITS = """
[one]
listen = 127.0.0.1:0
exec = answer.sh
max_children = 1

[refusing]
listen = 127.0.0.1:0
exec = answer.sh
max_children = 1
on_busy = refuse
busy_message = busy, try later\\r\\n

[free]
listen = 127.0.0.1:0
exec = answer.sh
"""

FILES = {"answer.sh": (ANSWER, 0o755)}

# How long a wrong spawn is given to show up. Only a negative check
# waits this: nothing passes because of it.
SETTLE = 0.5


def ask(s, word):
    s.sendall(word + b"\n")
    got = gw.recv_all(s)
    s.close()
    return got


def test_third_client_waits_then_is_served():
    with gw.Gateway(CONFIG, files=FILES) as g:
        first = g.connect("a", timeout=30)
        second = gw.connect(g.addr("b"), timeout=30)
        g.wait_event("spawn", 2)
        # The third connects (the kernel completes the handshake) and
        # sends its line, but no child starts for it.
        third = g.connect("a", timeout=30)
        third.sendall(b"third\n")
        time.sleep(SETTLE)
        assert len(g.events("spawn")) == 2, g.log()
        assert len(g.children()) == 2
        assert not g.events("refuse") and not g.events("spawn_error")
        # A child finishes: the third is served, on its first connection.
        assert ask(first, b"first") == b"served first\n"
        assert gw.recv_all(third) == b"served third\n"
        third.close()
        assert len(g.events("spawn")) == 3
        assert ask(second, b"second") == b"served second\n"
        g.wait_event("exit", 3)
        assert not g.events("refuse")


def test_queue_drains_in_full():
    """Ten clients at once with room for two: all are served, never more
    than two children at a time."""
    with gw.Gateway(CONFIG, files=FILES) as g:
        clients = [g.connect("a" if i % 2 else "b", timeout=60) for i in range(10)]
        for i, s in enumerate(clients):
            s.sendall(b"%d\n" % i)
        for i, s in enumerate(clients):
            s.shutdown(1)
            assert gw.recv_all(s) == b"served %d\n" % i
            s.close()
        g.wait_event("exit", 10, timeout=30)
        # Replay the log: live children never exceeded the limit.
        live = peak = 0
        for _, d in g.lines():
            if d.get("event") == "spawn":
                live += 1
                peak = max(peak, live)
            elif d.get("event") == "exit":
                live -= 1
        assert peak <= 2, peak
        assert not g.events("refuse")


def test_route_limit_waits_for_that_route_only():
    with gw.Gateway(ROUTE_LIMITS, files=FILES) as g:
        first = g.connect("one", timeout=30)
        g.wait_event("spawn", route="one")
        waiting = g.connect("one", timeout=30)
        waiting.sendall(b"waiting\n")
        # Another route is served meanwhile.
        assert ask(g.connect("free"), b"free") == b"served free\n"
        time.sleep(SETTLE)
        assert len(g.events("spawn", route="one")) == 1
        assert ask(first, b"first") == b"served first\n"
        assert gw.recv_all(waiting) == b"served waiting\n"
        waiting.close()
        assert not g.events("refuse")


def test_route_limit_refuses_with_message():
    with gw.Gateway(ROUTE_LIMITS, files=FILES) as g:
        first = g.connect("refusing", timeout=30)
        g.wait_event("spawn", route="refusing")
        s = g.connect("refusing", timeout=30)
        assert gw.recv_all(s) == b"busy, try later\r\n"
        s.close()
        r = g.wait_event("refuse", route="refusing")[0]
        assert r.get("reason") == "busy", r
        assert ask(first, b"first") == b"served first\n"
        g.wait_event("exit", route="refusing")
        # A slot is free again: served.
        assert ask(g.connect("refusing"), b"again") == b"served again\n"


if __name__ == "__main__":
    gw.main(globals())
