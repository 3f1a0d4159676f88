"""The event loop never waits for a raw route's exec: on the clone path
the child is started and the loop goes straight on, while the child sets
itself up and execs. Meanwhile the loop serves other routes, hears
signals, reloads and stops; a spawn in flight counts as a child, keeps
what it needs until it is done, and is never lost; a step that fails in
the child is reported with its name; every child gets fds 0-2 alone,
whatever the loop opens while it starts.

To hold a spawn in flight for as long as a test needs, a helper process
traces the gateway's threads (ptrace) and keeps the first child one of
them starts stopped before its first instruction: its exec cannot happen
until the test lets it go. A spawn that waits for its exec (CLONE_VFORK,
as HTTP routes' do) would hold the loop as long."""
import ctypes
import os
import select
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
import http_helpers as hh  # noqa: E402

PTRACE_CONT = 7
PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_O_TRACEFORK = 0x2
PTRACE_O_TRACEVFORK = 0x4
WALL = 0x40000000

CONFIG = """
[slow]
listen = 127.0.0.1:0
exec = /bin/echo
args = slow
stderr = null

[other]
listen = 127.0.0.1:0
exec = /bin/echo
args = other
stderr = null
"""


def clone_path_only():
    if gw.SPAWN == "uv_spawn":
        gw.skip("the uv_spawn path waits for each exec on the loop, as libuv does",
                machine=True)


class ExecHold:
    """A helper process tracing every thread of process pid: the first
    child one of them starts (fork or vfork) is held, stopped before it runs;
    every other child is let go at once, and a signal that stops a thread
    for the tracer is passed on at once."""

    def __init__(self, pid):
        self.gw = pid
        self.from_helper, to_test = os.pipe()
        from_test, self.to_helper = os.pipe()
        self.buf = b""
        self.pid = os.fork()
        if self.pid == 0:
            code = 3
            try:
                os.close(self.from_helper)
                os.close(self.to_helper)
                code = self._trace(to_test, from_test)
            finally:
                os._exit(code)
        os.close(to_test)
        os.close(from_test)
        word = self._read()
        if word.startswith("E"):
            self._end(check=False)
            gw.skip("cannot trace the gateway: %s" % os.strerror(int(word[1:])), machine=True)
        assert word == "R", word

    def _trace(self, out, cmd):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.ptrace.restype = ctypes.c_long
        libc.ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
        tids = {int(t) for t in os.listdir("/proc/%d/task" % self.gw)}
        for t in tids:
            if libc.ptrace(PTRACE_SEIZE, t, None,
                           PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK) < 0:
                os.write(out, b"E%d\n" % ctypes.get_errno())
                return 1
        os.write(out, b"R\n")
        held = None
        while not select.select([cmd], [], [], 0)[0]:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG | WALL)
            except ChildProcessError:
                pid = 0
            if pid == 0:
                select.select([cmd], [], [], 0.002)
                continue
            if not os.WIFSTOPPED(status):
                continue
            sig, event = os.WSTOPSIG(status), status >> 16
            if pid in tids:
                # A signal is passed on; a fork event, or a stop of
                # the tracer's own, goes on with none.
                libc.ptrace(PTRACE_CONT, pid, None, None if event else sig)
            elif held is None:
                held = pid
                os.write(out, b"H%d\n" % pid)
            else:
                libc.ptrace(PTRACE_DETACH, pid, None, None)
        # Exiting lets go of every thread and of the held child at once:
        # nothing is traced any more once that child goes on.
        return 0

    def _read(self, timeout=10):
        while b"\n" not in self.buf:
            r, _, _ = select.select([self.from_helper], [], [], timeout)
            if not r:
                raise AssertionError("the tracing helper said nothing in %ds" % timeout)
            b = os.read(self.from_helper, 100)
            if not b:
                raise AssertionError("the tracing helper ended")
            self.buf += b
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def wait_held(self):
        """The pid of the child held before its exec."""
        word = self._read()
        assert word.startswith("H"), word
        return int(word[1:])

    def _end(self, check=True):
        if self.pid:
            try:
                os.write(self.to_helper, b"x")
            except OSError:
                pass
            _, status = os.waitpid(self.pid, 0)
            self.pid = 0
            os.close(self.from_helper)
            os.close(self.to_helper)
            assert not check or (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0), status

    def release(self):
        """Lets the held child go on to its exec, and stops tracing."""
        self._end()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._end()


def test_loop_serves_while_an_exec_waits():
    """A child held before its exec: its spawn is logged, and the loop
    serves another route meanwhile."""
    clone_path_only()
    with gw.Gateway(CONFIG) as g:
        assert gw.talk(g.addr("other")) == b"other\n"
        with ExecHold(g.pid()) as hold:
            s = g.connect("slow")
            held = hold.wait_held()
            for _ in range(3):
                assert gw.talk(g.addr("other"), timeout=5) == b"other\n"
            e = g.wait_event("spawn", route="slow", timeout=5)[0]
            assert e["pid"] == str(held), (held, e)
            assert not g.events("exit", route="slow"), g.log()
            hold.release()
        assert gw.recv_all(s) == b"slow\n"
        s.close()
        assert g.wait_event("exit", route="slow")[0]["pid"] == str(held)


def test_step_failing_after_the_loop_went_on():
    """A raw route whose cwd is gone: the spawn returned before the
    child failed, and the failure comes back to the loop with its step
    and the child's pid; the client's connection is closed; no zombie."""
    clone_path_only()
    cfg = CONFIG + """
[gone]
listen = 127.0.0.1:0
exec = /bin/echo
cwd = {dir}/gone
stderr = null
"""
    with gw.Gateway(cfg, start=False, files={"gone/.keep": ("", 0o644)}) as g:
        g.start()
        os.remove(os.path.join(g.dir, "gone/.keep"))
        os.rmdir(os.path.join(g.dir, "gone"))
        for i in range(1, 4):
            assert gw.talk(g.addr("gone"), timeout=10) == b""
            err = g.wait_event("spawn_error", i, route="gone")[-1]
            assert err["error"].lower() == "chdir: no such file or directory", err
            spawn = g.events("spawn", conn=err["conn"])
            assert [e["pid"] for e in spawn] == [err["pid"]], g.log()
        assert not g.events("exit", route="gone"), g.log()
        assert gw.talk(g.addr("other")) == b"other\n"
        gw.wait_for(lambda: not g.children(), what="no child left")


def test_stop_waits_for_a_spawn_in_flight():
    """A stop while a spawn is in flight: the loop hears it at once (the
    listeners close), counts the spawn as a child, and finishes only once
    that child has started, served its client and exited."""
    clone_path_only()
    with gw.Gateway(CONFIG) as g:
        assert gw.talk(g.addr("other")) == b"other\n"
        g.wait_event("exit", route="other")
        with ExecHold(g.pid()) as hold:
            s = g.connect("slow")
            hold.wait_held()
            g.kill(signal.SIGTERM)
            stop = g.wait_event("stop")[0]
            assert stop["children"] == "1", stop
            assert g.proc.poll() is None
            hold.release()
        assert gw.recv_all(s) == b"slow\n"
        s.close()
        assert g.wait_exit() == 0
        spawn = g.events("spawn", route="slow")
        exits = g.events("exit", route="slow")
        assert len(spawn) == 1 and len(exits) == 1, g.log()
        assert exits[0]["pid"] == spawn[0]["pid"], g.log()


def rewrite(g, text):
    tmp = g.config + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, g.config)


def test_reload_while_a_spawn_is_in_flight():
    """A reload that changes the route while its spawn is in flight: the
    child still runs as the old config said (what it reads is kept until
    it has exec'd), the next one as the new; nothing is left behind."""
    clone_path_only()
    with gw.Gateway(CONFIG) as g:
        before = g.settled_fds("other")
        with ExecHold(g.pid()) as hold:
            s = g.connect("slow")
            hold.wait_held()
            rewrite(g, CONFIG.replace("args = slow", "args = new"))
            g.kill(signal.SIGHUP)
            g.wait_event("reload")
            assert gw.talk(g.addr("other"), timeout=5) == b"other\n"
            hold.release()
        assert gw.recv_all(s) == b"slow\n"
        s.close()
        assert gw.talk(g.addr("slow")) == b"new\n"
        assert g.settled_fds("other") == before
        assert not g.children()


def test_http_spawn_failing_in_the_child_answers_500():
    """An nph request whose program cannot enter its cwd: an HTTP
    route's spawn waits for the exec, so the failure, with its step, is
    known at once and the client gets 500 through the gateway's own copy
    of the socket."""
    cfg = """
[nph]
listen = 127.0.0.1:0
protocol = nph
exec = /bin/echo
cwd = {dir}/gone
stderr = null
"""
    g = gw.Gateway(cfg, start=False, files={"gone/.keep": ("", 0o644)})
    with g:
        g.start()
        os.remove(os.path.join(g.dir, "gone/.keep"))
        os.rmdir(os.path.join(g.dir, "gone"))
        r = hh.get(g.addr("nph"), "/")
        assert r.status == 500 and r.header("Connection") == "close", r
        err = g.wait_event("spawn_error", route="nph")[0]
        assert "no such file" in err["error"].lower(), err
        # uv_spawn does not say which step failed.
        assert gw.SPAWN == "uv_spawn" or err["error"].startswith("chdir: "), err
        assert not g.events("spawn", route="nph"), g.log()


FDS_CONFIG = """
[fds]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'ls /proc/$$/fd'

[other]
listen = 127.0.0.1:0
exec = /bin/echo
args = other
stderr = null
"""


def test_children_get_stdio_alone_while_the_loop_opens_descriptors():
    """Many spawns in flight while the loop accepts, reloads (the config
    file, opened and closed) and serves another route: every child's
    descriptors are 0, 1 and 2 alone, and nothing is left behind."""
    n, reloads = 60, 6
    with gw.Gateway(FDS_CONFIG) as g:
        # libuv opens a spare descriptor with its first stream (the
        # first stderr = log pipe), once: before the count.
        assert gw.talk(g.addr("fds")).split() == [b"0", b"1", b"2"]
        before = g.settled_fds("other")
        clients, others = [], []
        for i in range(n):
            clients.append(g.connect("fds", timeout=30))
            if i % (n // reloads) == 0:
                # One at a time: signals that wait together are one.
                k = len(g.events("reload"))
                g.kill(signal.SIGHUP)
                g.wait_event("reload", k + 1)
            if i % 4 == 0:
                others.append(g.connect("other", timeout=30))
        for i, s in enumerate(clients):
            got = gw.recv_all(s)
            s.close()
            assert got.split() == [b"0", b"1", b"2"], "client %d got %r" % (i, got)
        for s in others:
            assert gw.recv_all(s) == b"other\n"
            s.close()
        g.wait_event("exit", n, route="fds", timeout=30)
        after = g.settled_fds("other")
        assert after == before, (before, after)
        assert not g.children()


def test_stop_with_many_spawns_in_flight_loses_no_connection():
    """A stop right behind many connections: each one the gateway
    accepted is served to its end, the others were never taken; every
    child started is reaped, and the gateway exits 0."""
    n = 60
    with gw.Gateway(CONFIG) as g:
        assert gw.talk(g.addr("other")) == b"other\n"
        clients = [g.connect("slow", timeout=30) for _ in range(n)]
        g.kill(signal.SIGTERM)
        got = {}
        for s in clients:
            port = s.getsockname()[1]
            try:
                got[port] = gw.recv_all(s)
            except ConnectionResetError:
                got[port] = None
            s.close()
        assert g.wait_exit() == 0
        spawned = {int(e["peer"].rsplit(":", 1)[1]): e for e in g.events("spawn", route="slow")}
        seen = {int(e["peer"].rsplit(":", 1)[1]) for e in g.events()
                if e.get("route") == "slow" and e.get("peer")}
        for port, data in got.items():
            if port in spawned:
                assert data == b"slow\n", (port, data, g.log())
            else:
                assert not data and port not in seen, (port, data, g.log())
        assert spawned, "no spawn before the stop: the test proves nothing"
        exits = {e["pid"] for e in g.events("exit", route="slow")}
        assert exits == {e["pid"] for e in spawned.values()}, g.log()


def vm_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


def test_bursts_leave_no_memory_behind():
    """Bursts of connections, far more at once than children that may be
    set up side by side: every child runs, and what each start took (its
    copies and its stack) is given back once it has exec'd, so the
    gateway's memory is the same after one burst as after four."""
    cfg = """
[hold]
listen = 127.0.0.1:0
exec = /bin/cat
stderr = null
"""
    n = 200
    with gw.Gateway(cfg) as g:
        pid = g.pid()
        sizes = []
        for burst in range(4):
            socks = [g.connect("hold", timeout=30) for _ in range(n)]
            for s in socks:
                s.sendall(b"x")
            for s in socks:
                assert s.recv(1) == b"x"
                s.close()
            g.wait_event("exit", n * (burst + 1), route="hold", timeout=60)
            # One more: its start takes back what the burst's took.
            assert gw.talk(g.addr("hold"), b"y") == b"y"
            g.wait_event("exit", n * (burst + 1) + burst + 1, route="hold")
            sizes.append(vm_kb(pid, "VmSize"))
        assert sizes[-1] - sizes[0] < 2048, sizes


def test_every_environment_size():
    """A child's environment of every size from a few hundred bytes to
    past a page reaches it whole: what it reads until its exec is copied
    beside its stack, whatever the sizes of the groups, the pointers and
    the strings (the route runs as nobody, with a group of its own)."""
    cfg = """
[env]
listen = 127.0.0.1:0
protocol = cgi
exec = {dir}/len.sh
user = nobody
stderr = null
"""
    prog = b"#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' ${#HTTP_X_PAD}\n"
    with gw.Gateway(cfg, start=False, files={"len.sh": (prog, 0o755)}) as g:
        os.chmod(g.dir, 0o755)
        g.start()
        addr = g.addr("env")
        for n in range(1, 4400, 1):
            r = hh.get(addr, "/", headers=(("X-Pad", "p" * n),))
            assert r.status == 200 and r.body == b"%d\n" % n, (n, r)


def test_client_sees_the_end_when_its_child_closes_the_socket():
    """A program that answers, closes its stdin and stdout and carries on
    (cleaning up, say) has ended the connection for its client: the
    client reads the answer and its end at once, with no other traffic
    to wake the gateway, while the program still runs."""
    cfg = """
[closer]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c "echo bye; exec >&- <&-; sleep 30"
stderr = null
"""
    with gw.Gateway(cfg) as g:
        for _ in range(3):
            s = g.connect("closer", timeout=5)
            got = b""
            while True:
                b = s.recv(100)     # times out if the end never comes
                if not b:
                    break
                got += b
            s.close()
            assert got == b"bye\n", got
        assert g.events("exit", route="closer") == []


if __name__ == "__main__":
    gw.main(globals())
