"""SIGTERM/SIGINT: listeners close at once, running children get
shutdown_grace to finish (their output still reaches the client), then
SIGTERM to their groups, SIGKILL after kill_grace; a second signal ends
them at once; the gateway exits 0."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from limits_helpers import (ensure_dead, need_group_signal_after_reap,  # noqa: E402
                            recv_until, wait_gone)

# Waits for a line from the client, then answers: the test decides when
# the child finishes, no sleeps involved.
ANSWER = b"""#!/bin/sh
read x
echo "late line $x" >&2
echo "done $x"
"""

# Runs long; the sleep (a grandchild) holds the socket too.
LONG = b"""#!/bin/sh
echo started
sleep 60 &
wait
"""

STUBBORN = b"""#!/bin/sh
trap '' TERM
echo started
sleep 60
"""

# Ends on the TERM; what it started, in its process group, does not.
LEAVES = b"""#!/bin/sh
(trap '' TERM; exec sleep 60) &
echo "started $!"
sleep 60
"""

FILES = {"answer.sh": (ANSWER, 0o755), "long.sh": (LONG, 0o755),
         "stubborn.sh": (STUBBORN, 0o755), "leaves.sh": (LEAVES, 0o755)}


def config(grace, kill):
    return """
[gateway]
shutdown_grace = %s
kill_grace = %s

[answer]
listen = 127.0.0.1:0
listen = unix:{dir}/answer.sock
exec = answer.sh

[long]
listen = 127.0.0.1:0
exec = long.sh

[stubborn]
listen = 127.0.0.1:0
exec = stubborn.sh

[leaves]
listen = 127.0.0.1:0
exec = leaves.sh
""" % (grace, kill)


def refused(addr):
    try:
        gw.connect(addr, timeout=5).close()
    except (ConnectionRefusedError, FileNotFoundError):
        return True
    return False


def started(g, route):
    """A client whose child has started and written its first line."""
    s = g.connect(route, timeout=30)
    g.wait_event("spawn", route=route)
    assert s.recv(100) == b"started\n"
    return s


def test_child_finishes_and_client_gets_output():
    with gw.Gateway(config(60, 10), files=FILES) as g:
        tcp, ipc = g.addr("answer", 0), g.addr("answer", 1)
        s = g.connect("answer", timeout=30)
        conn = g.wait_event("spawn", route="answer")[0]["conn"]
        g.kill(signal.SIGTERM)
        stop = g.wait_event("stop")[0]
        assert stop.get("signal") == "TERM" and stop.get("children") == "1", stop
        # Listeners are closed (and the socket file removed) while the
        # child still runs.
        gw.wait_for(lambda: refused(tcp), 10, "TCP listener to close")
        gw.wait_for(lambda: refused(ipc), 10, "Unix listener to close")
        assert not os.path.exists(ipc)
        assert g.proc.poll() is None
        s.sendall(b"go\n")
        assert gw.recv_all(s) == b"done go\n"
        s.close()
        assert g.wait_exit() == 0
        e = g.events("exit", conn=conn)[0]
        assert e.get("status") == "0" and "reason" not in e, e
        assert g.events("stderr", conn=conn, line="late line go")


def test_grace_over_children_get_term():
    with gw.Gateway(config(0.5, 30), files=FILES) as g:
        s = started(g, "long")
        g.kill(signal.SIGTERM)
        # TERM went to the whole group: the sleep that also holds the
        # socket is gone too, so the client sees EOF.
        assert gw.recv_all(s) == b""
        s.close()
        assert g.wait_exit() == 0
        e = g.events("exit", route="long")[0]
        assert e.get("signal") == "TERM" and e.get("reason") == "shutdown", e


def test_child_ignoring_term_is_killed():
    with gw.Gateway(config(0.2, 0.5), files=FILES) as g:
        s = started(g, "stubborn")
        g.kill(signal.SIGTERM)
        assert gw.recv_all(s) == b""
        s.close()
        assert g.wait_exit() == 0
        e = g.events("exit", route="stubborn")[0]
        assert e.get("signal") == "KILL" and e.get("reason") == "shutdown", e


def test_group_killed_after_its_leader_ends():
    """The TERM after shutdown_grace ends the leader but not what it
    started, which ignores TERM: kill_grace later the group still gets
    its KILL (the gateway waits for that before it exits), and the client
    its EOF."""
    with gw.Gateway(config(0.2, 0.5), files=FILES) as g:
        need_group_signal_after_reap(g)
        s = g.connect("leaves", timeout=30)
        grandchild = int(recv_until(s, b"\n").split()[1])
        try:
            g.kill(signal.SIGTERM)
            ex = g.wait_event("exit", route="leaves")[0]
            assert ex.get("signal") == "TERM" and ex.get("reason") == "shutdown", ex
            assert g.wait_exit() == 0
            wait_gone(grandchild, 5)
            assert gw.recv_all(s) == b""
        finally:
            s.close()
            ensure_dead(grandchild)


def test_second_signal_ends_children_at_once():
    with gw.Gateway(config(600, 30), files=FILES) as g:
        s = started(g, "long")
        g.kill(signal.SIGTERM)
        g.wait_event("stop")
        assert g.proc.poll() is None
        g.kill(signal.SIGTERM)
        assert gw.recv_all(s) == b""
        s.close()
        assert g.wait_exit() == 0
        e = g.events("exit", route="long")[0]
        assert e.get("signal") == "TERM" and e.get("reason") == "shutdown", e


def test_second_signal_then_kill_grace():
    with gw.Gateway(config(600, 0.5), files=FILES) as g:
        s = started(g, "stubborn")
        g.kill(signal.SIGINT)
        g.wait_event("stop")
        g.kill(signal.SIGINT)
        assert gw.recv_all(s) == b""
        s.close()
        assert g.wait_exit() == 0
        e = g.events("exit", route="stubborn")[0]
        assert e.get("signal") == "KILL" and e.get("reason") == "shutdown", e


def test_sigint_without_children():
    with gw.Gateway(config(60, 10), files=FILES) as g:
        ipc = g.addr("answer", 1)
        g.kill(signal.SIGINT)
        assert g.wait_exit() == 0
        stop = g.events("stop")
        assert len(stop) == 1 and stop[0].get("signal") == "INT", stop
        assert not os.path.exists(ipc)


def test_many_children_all_finish():
    with gw.Gateway(config(60, 10), files=FILES) as g:
        clients = [g.connect("answer", timeout=30) for _ in range(5)]
        g.wait_event("spawn", 5, route="answer")
        g.kill(signal.SIGTERM)
        g.wait_event("stop")
        for i, s in enumerate(clients):
            s.sendall(b"%d\n" % i)
        for i, s in enumerate(clients):
            assert gw.recv_all(s) == b"done %d\n" % i
            s.close()
        assert g.wait_exit() == 0
        assert len(g.events("exit", status=0)) == 5


if __name__ == "__main__":
    gw.main(globals())
