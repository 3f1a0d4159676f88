"""timeout: after the route's timeout the child's whole process group gets
SIGTERM, then SIGKILL after [gateway] kill_grace; the exit is logged with
reason=timeout."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from limits_helpers import (recv_all, recv_until, wait_gone,  # noqa: E402
                            ensure_dead, stop_ok)

CONFIG = """
[gateway]
kill_grace = 1

[grand]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'sleep 60 & echo $!\\; sleep 60'
timeout = 1

[stubborn]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'trap "" TERM\\; echo $$\\; sleep 60\\; echo not killed'
timeout = 1

[orphan]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c '(trap "" TERM\\; exec sleep 60) & echo $!\\; sleep 60'
timeout = 1

[quick]
listen = 127.0.0.1:0
exec = /bin/echo
args = quick
timeout = 30
"""


def read_pid(s):
    return int(recv_until(s, b"\n").split()[0])


def test_group_terminated():
    with gw.Gateway(CONFIG) as g:
        c = g.connect("grand", timeout=30)
        grandchild = read_pid(c)
        try:
            pid = int(g.wait_event("spawn", route="grand")[0]["pid"])
            assert grandchild != pid
            ex = g.wait_event("exit", route="grand", timeout=20)[0]
            assert ex["signal"] == "TERM", ex
            assert ex["reason"] == "timeout", ex
            assert ex["pid"] == str(pid)
            assert float(ex["duration"]) >= 0.9, ex
            wait_gone(pid)
            wait_gone(grandchild)
            # Nothing holds the socket any more: the client sees EOF.
            assert recv_all(c) == b""
        finally:
            c.close()
            ensure_dead(grandchild)
        stop_ok(g)


def test_term_ignored_then_killed():
    with gw.Gateway(CONFIG) as g:
        c = g.connect("stubborn", timeout=30)
        pid = read_pid(c)
        try:
            assert g.wait_event("spawn", route="stubborn")[0]["pid"] == str(pid)
            ex = g.wait_event("exit", route="stubborn", timeout=20)[0]
            assert ex["signal"] == "KILL", ex
            assert ex["reason"] == "timeout", ex
            assert float(ex["duration"]) >= 1.9, ex
            wait_gone(pid)
            assert recv_all(c) == b""
        finally:
            c.close()
            ensure_dead(pid)
        stop_ok(g)


def test_group_killed_after_leader_ends():
    """The leader dies of the TERM, but something it started ignores it:
    kill_grace later the group still gets its SIGKILL (the timeout ends
    "the child and anything it started", and the client its connection)."""
    with gw.Gateway(CONFIG) as g:
        c = g.connect("orphan", timeout=30)
        grandchild = read_pid(c)
        try:
            ex = g.wait_event("exit", route="orphan", timeout=20)[0]
            assert ex["signal"] == "TERM" and ex["reason"] == "timeout", ex
            wait_gone(grandchild, timeout=15)
            assert recv_all(c) == b""
        finally:
            c.close()
            ensure_dead(grandchild)
        stop_ok(g)


def test_quick_child_not_ended():
    with gw.Gateway(CONFIG) as g:
        assert gw.talk(g.addr("quick")) == b"quick\n"
        ex = g.wait_event("exit", route="quick")[0]
        assert ex["status"] == "0" and "reason" not in ex and "signal" not in ex, ex
        stop_ok(g)


if __name__ == "__main__":
    gw.main(globals())
