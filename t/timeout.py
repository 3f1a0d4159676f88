"""timeout: after the route's timeout the child's whole process group gets
SIGTERM, then SIGKILL after [gateway] kill_grace; the exit is logged with
reason=timeout."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from limits_helpers import (recv_all, recv_until, wait_gone,  # noqa: E402
                            ensure_dead, need_group_signal_after_reap,
                            state_of, stop_ok)

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
        need_group_signal_after_reap(g)
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


def spawn_path(g):
    return g.wait_event("start")[0]["spawn"]


def test_leader_unreaped_while_its_group_is_signalled():
    """Why the KILL cannot reach a stranger: a process group id is not
    reused while its leader is an unreaped zombie. So once the leader has
    died of the timeout's TERM, while what it started (ignoring TERM)
    still runs, the gateway keeps the leader unreaped until the group has
    had its KILL, and reaps it then. On the uv_spawn path libuv reaps the
    leader itself; there the group is signalled through the leader's
    pidfd, which never reaches a reused id (README), and only the KILL and
    the reaping are checked."""
    with gw.Gateway(CONFIG.replace("kill_grace = 1", "kill_grace = 3")) as g:
        need_group_signal_after_reap(g)
        c = g.connect("orphan", timeout=30)
        grandchild = read_pid(c)
        try:
            leader = int(g.wait_event("spawn", route="orphan")[0]["pid"])
            ex = g.wait_event("exit", route="orphan", timeout=20)[0]
            assert ex["signal"] == "TERM" and ex["reason"] == "timeout", ex
            if spawn_path(g) == "clone":
                # kill_grace (3 s) is not over: the grandchild runs, and
                # its leader is held.
                assert state_of(grandchild) not in (None, "Z"), state_of(grandchild)
                assert state_of(leader) == "Z", "leader %d: %s" % (leader, state_of(leader))
            wait_gone(grandchild, timeout=15)
            assert recv_all(c) == b""
            gw.wait_for(lambda: state_of(leader) is None, 10, "the leader to be reaped")
        finally:
            c.close()
            ensure_dead(grandchild)
        stop_ok(g)


def take_pid(pid):
    """A new process of this test's whose pid is `pid` and which leads a
    process group of its own, as an unrelated program reusing the id
    would: forced through /proc/sys/kernel/ns_last_pid. Its pid, or None
    while that pid is still in use."""
    try:
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(pid - 1))
    except OSError as e:
        gw.skip("cannot choose the next pid: %s" % e, machine=True)
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(r)
            if os.getpid() == pid:
                os.setsid()
                os.write(w, b"!")
                while True:
                    signal.pause()
        finally:
            os._exit(0)
    os.close(w)
    ready = os.read(r, 1)
    os.close(r)
    if ready:
        return child
    os.waitpid(child, 0)
    return None


def test_reused_group_id_is_not_signalled():
    """The race itself. The leader dies of the timeout's TERM; what it
    started ends as well (the test kills it), so the group is gone and its
    id free: here the test takes it, for a process (and group) of its own,
    before kill_grace is over. The gateway, which exits only once every
    kill path is over, must not have signalled that stranger: the group
    it meant no longer exists."""
    gw.need_root()
    with gw.Gateway(CONFIG.replace("kill_grace = 1", "kill_grace = 10")) as g:
        c = g.connect("orphan", timeout=30)
        grandchild = read_pid(c)
        stranger = None
        try:
            leader = int(g.wait_event("spawn", route="orphan")[0]["pid"])
            g.wait_event("exit", route="orphan", timeout=20)
            seen = time.monotonic()
            os.kill(grandchild, signal.SIGKILL)
            stranger = gw.wait_for(lambda: take_pid(leader), 7,
                                   "pid %d to be free for a new group" % leader)
            assert time.monotonic() - seen < 9, "too late to show anything"
            stop_ok(g)
            ended = os.waitpid(stranger, os.WNOHANG)
            if ended[0]:
                stranger = None
            assert ended == (0, 0), \
                "the gateway's KILL reached the group that took its child's id"
        finally:
            c.close()
            ensure_dead(grandchild)
            if stranger:
                os.kill(stranger, signal.SIGKILL)
                os.waitpid(stranger, 0)


def test_quick_child_not_ended():
    with gw.Gateway(CONFIG) as g:
        assert gw.talk(g.addr("quick")) == b"quick\n"
        ex = g.wait_event("exit", route="quick")[0]
        assert ex["status"] == "0" and "reason" not in ex and "signal" not in ex, ex
        stop_ok(g)


if __name__ == "__main__":
    gw.main(globals())
