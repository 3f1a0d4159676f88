"""on_shutdown = detach: at SIGTERM the gateway exits at once, leaving
running the children that do not need it (stderr not log), which go on
serving their clients; children whose stderr is log are waited for as
with on_shutdown = wait."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from limits_helpers import (recv_all, recv_until, pid_gone, wait_gone,  # noqa: E402
                            ensure_dead)

CONFIG = """
[gateway]
on_shutdown = detach
shutdown_grace = 60

[raw]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'echo ready\\; read x\\; echo "later $x"'
stderr = null

[logged]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'echo ready\\; read x\\; echo "later $x"\\; echo "done $x" >&2'
"""


CGI = """
[gateway]
on_shutdown = detach
shutdown_grace = 60

[up]
listen = 127.0.0.1:0
protocol = cgi
exec = up.sh
stderr = null
"""

# Reads its body to the end (a chunked one comes through the gateway),
# then answers: a cgi response the gateway turns into HTTP.
UP = b"#!/bin/sh\ncat >/dev/null\nprintf 'Content-Type: text/plain\\n\\nok\\n'\n"


def test_cgi_child_is_waited_for():
    """A cgi child needs the gateway (its response is relayed, its chunked
    body fed): detach waits for it as wait would, and its client gets the
    whole answer."""
    with gw.Gateway(CGI, files={"up.sh": (UP, 0o755)}) as g:
        s = g.connect("up", timeout=30)
        try:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"5\r\nhello\r\n")
            g.wait_event("spawn", route="up")
            g.kill(signal.SIGTERM)
            stop = g.wait_event("stop")[0]
            assert stop["detached"] == "0", stop
            s.sendall(b"0\r\n\r\n")
            reply = recv_all(s)
        finally:
            s.close()
        assert reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b"\r\n\r\nok\n"), reply
        assert g.wait_exit() == 0
        ex = g.wait_event("exit", route="up")[0]
        assert ex["status"] == "0", ex


def open_child(g, route):
    n = len(g.events("spawn", route=route)) + 1
    c = g.connect(route, timeout=30)
    assert recv_until(c, b"ready\n") == b"ready\n"
    # (The child may answer before its spawn line is written.)
    return c, int(g.wait_event("spawn", count=n, route=route)[-1]["pid"])


def still_running(g, secs):
    """The gateway has not exited within secs (it is waiting, as it must)."""
    try:
        g.proc.wait(secs)
    except subprocess.TimeoutExpired:
        return True
    return False


def finish(c, word):
    c.sendall(word + b"\n")
    assert recv_until(c, b"later " + word + b"\n") == b"later " + word + b"\n"
    assert recv_all(c) == b""
    c.close()


def test_detach_exits_at_once():
    with gw.Gateway(CONFIG) as g:
        addr = g.addr("raw")
        c, pid = open_child(g, "raw")
        try:
            g.kill(signal.SIGTERM)
            # shutdown_grace is 60 s: exiting now is the detach.
            assert g.proc.wait(20) == 0, g.log()
            stop = g.events("stop")[0]
            assert stop["detached"] == "1" and stop["children"] == "0", stop
            assert not g.events("exit"), g.log()
            assert not pid_gone(pid), "the detached child was ended"
            # Its client still talks to it, and gets what it writes later.
            finish(c, b"x")
            wait_gone(pid)
            try:
                gw.connect(addr, 5).close()
                assert False, "the listener is still open"
            except ConnectionRefusedError:
                pass
        finally:
            ensure_dead(pid)


def test_stderr_log_is_waited_for():
    with gw.Gateway(CONFIG) as g:
        c, pid = open_child(g, "logged")
        try:
            g.kill(signal.SIGTERM)
            stop = g.wait_event("stop")[0]
            assert stop["detached"] == "0" and stop["children"] == "1", stop
            assert still_running(g, 1.0), g.log()
            assert not pid_gone(pid)
            finish(c, b"y")
            assert g.proc.wait(20) == 0, g.log()
            ex = g.events("exit")
            assert len(ex) == 1 and ex[0]["pid"] == str(pid) and ex[0]["status"] == "0", ex
            assert "reason" not in ex[0], ex
            lines = [e["line"] for e in g.events("stderr", pid=pid)]
            assert lines == ["done y"], lines
        finally:
            ensure_dead(pid)


def test_mixed():
    with gw.Gateway(CONFIG) as g:
        raw, raw_pid = open_child(g, "raw")
        logged, logged_pid = open_child(g, "logged")
        try:
            g.kill(signal.SIGTERM)
            stop = g.wait_event("stop")[0]
            assert stop["detached"] == "1" and stop["children"] == "1", stop
            assert still_running(g, 1.0), g.log()
            finish(logged, b"l")
            assert g.proc.wait(20) == 0, g.log()
            assert [e["pid"] for e in g.events("exit")] == [str(logged_pid)], g.log()
            # The detached one outlives the gateway.
            assert not pid_gone(raw_pid)
            finish(raw, b"r")
            wait_gone(raw_pid)
        finally:
            ensure_dead(raw_pid, logged_pid)


def test_second_signal_with_detach():
    """A second signal ends at once what the gateway still waits for."""
    with gw.Gateway(CONFIG.replace("[gateway]", "[gateway]\nkill_grace = 1")) as g:
        c, pid = open_child(g, "logged")
        try:
            g.kill(signal.SIGTERM)
            g.wait_event("stop")
            g.kill(signal.SIGTERM)
            assert g.proc.wait(20) == 0, g.log()
            ex = g.events("exit")
            assert len(ex) == 1 and ex[0]["signal"] == "TERM", ex
            assert ex[0]["reason"] == "shutdown", ex
            wait_gone(pid)
            assert recv_all(c) == b""
            c.close()
        finally:
            ensure_dead(pid)


if __name__ == "__main__":
    gw.main(globals())
