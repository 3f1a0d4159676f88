"""In-place upgrade: SIGUSR2 (or `gatewayctl upgrade`) re-executes the
binary at the gateway's own path in the same process. The pid stays, the
listening sockets are never closed (the same socket listens after), the
running children are taken over (their exit lines, stderr = log lines and
timeouts go on), connection ids go on, and the new image logs `upgrade`.
A binary that is missing or refuses the config is logged upgrade_error
and the old one serves on. Each gateway here runs from its own copy of
the binary, which the tests replace as a package upgrade would."""
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import gw  # noqa: E402
import http_helpers as hh  # noqa: E402
from ctl_helpers import conns, ctl, ctl_ok, status  # noqa: E402

CONFIG = """
[gateway]
control = unix:{dir}/ctl.sock

[slow]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c "echo started; echo to-log >&2; read x; echo got $x; echo after >&2; echo bye"
stderr = log

[echo]
listen = 127.0.0.1:0
exec = /bin/echo
args = hello
stderr = null

[unix]
listen = unix:{dir}/unix.sock
exec = /bin/echo
args = unix
stderr = null
"""


def started(config=CONFIG, **kw):
    """A gateway run from a copy of the binary in its directory."""
    g = gw.Gateway(config, start=False, **kw)
    exe = os.path.join(g.dir, "gatewayd")
    shutil.copy2(gw.BIN, exe)
    g.start(binary=exe)
    return g, exe


def upgraded(g, n=1, timeout=20):
    """Waits for the n-th upgrade event."""
    return g.wait_event("upgrade", n, timeout=timeout)[-1]


# A binary of another version: says so to -V, refuses any config.
REFUSING = ("#!/bin/sh\n"
            "[ \"$1\" = -V ] && printf 'gatewayd 9.9.9\\nhandover 1\\n' && exit 0\n"
            "echo 'no such key: frobnicate' >&2\nexit 1\n")


def replace_binary(exe, text=None):
    """Puts a new file at the binary's path, as a package upgrade does
    (a rename over it): a fresh copy, or a script of text."""
    tmp = exe + ".new"
    if text is None:
        shutil.copy2(gw.BIN, tmp)
    else:
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o755)
    os.rename(tmp, exe)


def test_sigusr2_keeps_pid_listeners_and_children():
    g, exe = started()
    with g:
        pid = g.pid()
        inode = gw.listener_inode(g.addr("echo"))
        s = g.connect("slow")
        f = s.makefile("rb")
        assert f.readline() == b"started\n"
        spawn = g.wait_event("spawn", route="slow")[0]
        g.wait_event("stderr", route="slow")
        t0 = time.monotonic()
        replace_binary(exe)
        g.kill(signal.SIGUSR2)
        up = upgraded(g)
        assert up["from"] == up["version"] and up["children"] == "1", up
        assert up["pid"] == str(pid) and g.proc.poll() is None
        # The same socket listens, and the route serves.
        assert gw.listener_inode(g.addr("echo")) == inode
        assert gw.talk(g.addr("echo")) == b"hello\n"
        assert gw.talk(g.addr("unix")) == b"unix\n"
        # The child started before goes on, and is watched by the new
        # image: its stderr line, its exit with its whole duration.
        s.sendall(b"x\n")
        assert f.readline() == b"got x\n"
        assert f.readline() == b"bye\n"
        ex = g.wait_event("exit", route="slow")[0]
        assert ex["conn"] == spawn["conn"] and ex["pid"] == spawn["pid"], (spawn, ex)
        assert ex["status"] == "0" and float(ex["duration"]) >= time.monotonic() - t0 - 1, ex
        err = g.events("stderr", route="slow")
        assert [e["line"] for e in err] == ["to-log", "after"], err
        # Connection ids go on from the old image's.
        conns = [int(e["conn"]) for e in g.events("spawn")]
        assert conns == sorted(set(conns)), conns
        s.close()
        # The socket file the old image made is still removed at the stop.
        path = os.path.join(g.dir, "unix.sock")
        assert os.path.exists(path)
        assert g.stop() == 0
        assert not os.path.exists(path)


def test_no_descriptor_left_behind():
    g, exe = started()
    with g:
        # libuv opens a spare descriptor with its first stream (the first
        # stderr = log pipe), once: before the count.
        assert gw.talk(g.addr("slow"), b"a\n").endswith(b"bye\n")
        before = g.settled_fds("echo")
        for i in range(3):
            s = g.connect("slow")
            s.makefile("rb").readline()
            g.kill(signal.SIGUSR2)
            upgraded(g, i + 1)
            s.sendall(b"y\n")
            s.close()
        g.wait_event("exit", 4, route="slow")
        after = g.settled_fds("echo")

        def kinds(t):
            return sorted(re.sub(r"\[\d+\]", "", v) for v in t.values())
        # The listening sockets are the same ones; descriptors may have
        # other numbers in the new image, but none is left over.
        assert kinds(after) == kinds(before), (before, after)
        assert {v for v in before.values() if v.startswith("socket:")} <= \
            set(after.values()), (before, after)


def test_carried_descriptors_reach_no_later_child():
    """What the new image was handed (a running child's stderr pipe, a
    connection being read) is its own: a child it starts later gets fds
    0-2 alone, and the carried connection ends when its child does."""
    cfg = CONFIG + """
[fds]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'ls /proc/$$/fd | paste -sd " "; sleep 30'
stderr = null

[proxied]
listen = 127.0.0.1:0
exec = /bin/echo
args = proxied
proxy_protocol = v1
proxy_from = 127.0.0.1
stderr = null
"""
    g, exe = started(cfg)
    with g:
        s = g.connect("slow")
        f = s.makefile("rb")
        assert f.readline() == b"started\n"
        p = socket.create_connection(g.addr("proxied"))
        p.sendall(b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 ")
        gw.wait_for(lambda: len(conns(g)) == 2, 10, lambda: str(conns(g)))
        g.kill(signal.SIGUSR2)
        upgraded(g)
        late = g.connect("fds")
        lf = late.makefile("rb")
        assert lf.readline().split() == [b"0", b"1", b"2"]
        p.sendall(b"80\r\n")
        # Its child has ended: the end comes although the later child,
        # which lives on, was started after it was carried.
        p.settimeout(10)
        assert p.makefile("rb").read() == b"proxied\n"
        s.sendall(b"x\n")
        assert f.readline() == b"got x\n"
        late.close()


def test_timeout_fires_after_the_upgrade():
    cfg = """
[sleepy]
listen = 127.0.0.1:0
exec = /bin/sleep
args = 30
timeout = 2
stderr = null
"""
    g, exe = started(cfg)
    with g:
        s = g.connect("sleepy")
        g.wait_event("spawn")
        g.kill(signal.SIGUSR2)
        upgraded(g)
        ex = g.wait_event("exit", timeout=15)[0]
        assert ex.get("signal") == "TERM" and ex.get("reason") == "timeout", ex
        assert 1.9 <= float(ex["duration"]) < 10, ex
        s.close()


def test_binary_that_refuses_the_config_keeps_the_old_one():
    g, exe = started()
    with g:
        pid = g.pid()
        replace_binary(exe, REFUSING)
        g.kill(signal.SIGUSR2)
        e = g.wait_event("upgrade_error")[0]
        assert "refuses the config" in e["error"] and "frobnicate" in e["error"], e
        assert gw.talk(g.addr("echo")) == b"hello\n"
        os.unlink(exe)
        g.kill(signal.SIGUSR2)
        e = g.wait_event("upgrade_error", 2)[-1]
        assert "no such file" in e["error"].lower(), e
        assert gw.talk(g.addr("echo")) == b"hello\n"
        assert g.pid() == pid and not g.events("upgrade")
        # A good binary at the path again: the upgrade goes through.
        replace_binary(exe)
        g.kill(signal.SIGUSR2)
        upgraded(g)
        assert gw.talk(g.addr("echo")) == b"hello\n"


def test_new_binary_failing_after_the_exec_falls_back():
    """A new binary that passes its check but cannot go on after the exec
    (here the config it reads names an address in use, which only
    binding shows) goes back to the binary before, in the same process,
    with the config that was running: the listeners, the children and
    the control client's answer all carry through both execs."""
    g, exe = started()
    with g:
        pid = g.pid()
        inode = gw.listener_inode(g.addr("echo"))
        s = g.connect("slow")
        f = s.makefile("rb")
        assert f.readline() == b"started\n"
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with open(g.config, "a") as cf:
            cf.write("\n[late]\nlisten = 127.0.0.1:%d\nexec = /bin/true\n"
                     % taken.getsockname()[1])
        replace_binary(exe)
        rc, out, err = ctl(g, "upgrade")
        assert rc == 1 and "address already in use" in err.lower(), (rc, out, err)
        e = g.wait_event("upgrade_error")[0]
        assert "in use" in e["error"], e
        undone = g.wait_event("upgrade_undone")[0]
        assert undone["children"] == "1", undone
        assert g.pid() == pid and g.proc.poll() is None
        assert gw.listener_inode(g.addr("echo")) == inode
        assert gw.talk(g.addr("echo")) == b"hello\n"
        assert not [e for e in g.events("listen") if e["route"] == "late"]
        s.sendall(b"x\n")
        assert f.readline() == b"got x\n"
        g.wait_event("exit", route="slow")
        taken.close()


def test_binary_of_another_handover_format_is_refused():
    """A binary that reads another handover format (as -V says) is not
    run: the old one serves on."""
    g, exe = started()
    with g:
        replace_binary(exe, "#!/bin/sh\n[ \"$1\" = -V ] && "
                       "printf 'gatewayd 9.9.9\\nhandover 2\\n' && exit 0\n"
                       "exec %s \"$@\"\n" % gw.BIN)
        g.kill(signal.SIGUSR2)
        e = g.wait_event("upgrade_error")[0]
        assert "9.9.9" in e["error"] and "format 1" in e["error"], e
        assert gw.talk(g.addr("echo")) == b"hello\n"
        assert not g.events("upgrade")


def test_gatewayctl_upgrade():
    g, exe = started()
    with g:
        out = ctl_ok(g, "upgrade")
        assert out == ["upgraded from 0.1.0 to 0.1.0"] or \
            (len(out) == 1 and out[0].startswith("upgraded from ")), out
        upgraded(g)
        replace_binary(exe, REFUSING)
        rc, out, err = ctl(g, "upgrade")
        assert rc == 1 and "refuses the config" in err, (rc, out, err)
        assert gw.talk(g.addr("echo")) == b"hello\n"


def test_route_gone_from_the_config_with_children_refuses():
    g, exe = started()
    with g:
        s = g.connect("slow")
        s.makefile("rb").readline()
        with open(g.config) as f:
            text = f.read()
        with open(g.config, "w") as f:
            f.write(text.replace("[slow]", "[renamed]"))
        g.kill(signal.SIGUSR2)
        e = g.wait_event("upgrade_error")[0]
        assert "[slow]" in e["error"] and "reload" in e["error"], e
        s.sendall(b"z\n")
        s.close()
        g.wait_event("exit", route="slow")
        # Once it has ended, the upgrade reads the new config.
        g.kill(signal.SIGUSR2)
        upgraded(g)
        assert gw.talk(g.addr("echo")) == b"hello\n"
        assert [e["route"] for e in g.events("listen")][-3:] == ["renamed", "echo", "unix"]


def test_upgrade_while_a_head_is_half_read():
    """A PROXY header and an HTTP head half read, and a request waiting
    for a place, when the upgrade comes: the new image takes each up where
    it stood (what the old one had read of it included) and serves it."""
    cfg = """
[gateway]
control = unix:{dir}/ctl.sock

[proxied]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c "echo $TCPREMOTEIP"
proxy_protocol = v1
proxy_from = 127.0.0.1
stderr = null

[web]
listen = 127.0.0.1:0
protocol = nph
exec = {dir}/hello.cgi
max_children = 1
on_busy = wait
stderr = null
"""
    # An nph program answers on the socket itself: nothing of its is
    # relayed, so it is carried as it runs, holding its route's place.
    prog = (b"#!/bin/sh\nprintf 'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\n'\n"
            b"[ \"$QUERY_STRING\" = hold ] && read x < \"$HOLD\"\n"
            b"printf 'hi %s\\n' \"$QUERY_STRING\"\n")
    g, exe = started(cfg.replace("stderr = null\n\"\"\"", ""),
                     files={"hello.cgi": (prog, 0o755)})
    with g:
        hold = os.path.join(g.dir, "hold")
        os.mkfifo(hold)
        with open(g.config, "a") as f:
            f.write("env = HOLD=%s\n" % hold)
        g.kill(signal.SIGHUP)
        g.wait_event("reload")
        # One request holds the web route's only place...
        busy = socket.create_connection(g.addr("web"))
        busy.sendall(b"GET /?hold HTTP/1.0\r\n\r\n")
        g.wait_event("spawn", route="web")
        # ...another waits for it, and two are half read.
        waiting = socket.create_connection(g.addr("web"))
        waiting.sendall(b"GET /?waited HTTP/1.0\r\n\r\n")
        p = socket.create_connection(g.addr("proxied"))
        p.sendall(b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 ")
        h = socket.create_connection(g.addr("web"))
        h.sendall(b"GET /?half HTTP/1.0\r\nHost: x\r\n")
        gw.wait_for(lambda: sorted(c[5] for c in conns(g)) ==
                    ["reading", "reading", "running", "waiting"], 10,
                    lambda: "two being read, one waiting: %s" % conns(g))
        g.kill(signal.SIGUSR2)
        up = upgraded(g)
        assert up["reading"] == "3" and up["children"] == "1", up
        # The one carried still holds the only place: the one waiting
        # waits on (not started before the carried child counted).
        gw.wait_for(lambda: sorted(c[5] for c in conns(g)) ==
                    ["reading", "reading", "running", "waiting"], 10,
                    lambda: "the same states after: %s" % conns(g))
        assert len(g.events("spawn", route="web")) == 1, g.log()
        # The running one ends under the new image, and its place goes
        # to the one waiting.
        with open(hold, "w") as f:
            f.write("go\n")
        assert busy.makefile("rb").read().endswith(b"hi hold\n")
        p.sendall(b"80\r\n")
        h.sendall(b"\r\n")
        assert p.makefile("rb").read() == b"192.0.2.7\n"
        r = h.makefile("rb").read()
        assert r.startswith(b"HTTP/1.1 200") and r.endswith(b"hi half\n"), r
        r = waiting.makefile("rb").read()
        assert r.startswith(b"HTTP/1.1 200") and r.endswith(b"hi waited\n"), r
        assert not g.events("refuse") and not g.events("http_error"), g.log()


def test_no_client_fails_under_load():
    """Clients connect all along while the gateway upgrades five times:
    every one is answered."""
    g, exe = started()
    with g:
        addr = g.addr("echo")
        stop, results = threading.Event(), []

        def client():
            while not stop.is_set():
                try:
                    results.append(gw.talk(addr, timeout=10))
                except OSError as e:
                    results.append(e)

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(5):
                n = len(results)
                gw.wait_for(lambda: len(results) >= n + 20, 20)
                g.kill(signal.SIGUSR2)
                upgraded(g, i + 1)
            n = len(results)
            gw.wait_for(lambda: len(results) >= n + 20, 20)
        finally:
            stop.set()
            for t in threads:
                t.join()
        bad = [r for r in results if r != b"hello\n"]
        assert not bad and len(results) > 100, (len(results), bad[:5])
        assert g.pid() == g.proc.pid and len(g.events("upgrade")) == 5


def test_counters_go_on():
    """The metrics endpoint's counters go on from the old image's: the
    connections it accepted, its reloads, its start time."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import metrics as mt
    cfg = CONFIG.replace("[gateway]\n", "[gateway]\nmetrics = 127.0.0.1:0\n")
    g, exe = started(cfg)
    with g:
        for _ in range(3):
            assert gw.talk(g.addr("echo")) == b"hello\n"
        g.kill(signal.SIGHUP)
        g.wait_event("reload")
        mt.wait_value(g, "gatewayd_connections_accepted_total", 3, route="echo")
        before = mt.parse(mt.scrape(g))
        g.kill(signal.SIGUSR2)
        upgraded(g)
        assert gw.talk(g.addr("echo")) == b"hello\n"
        mt.wait_value(g, "gatewayd_connections_accepted_total", 4, route="echo")
        after = mt.parse(mt.scrape(g))
        assert mt.value(after, "gatewayd_reloads_total", result="ok") == 1
        assert abs(mt.value(after, "gatewayd_start_time_seconds") -
                   mt.value(before, "gatewayd_start_time_seconds")) < 0.002
        mt.wait_value(g, "gatewayd_child_exits_total", 4, route="echo", outcome="success")


CGI_HELD = """
[gateway]
control = unix:{dir}/ctl.sock
{extra}

[echo]
listen = 127.0.0.1:0
exec = /bin/echo
args = hello
stderr = null

[web]
listen = 127.0.0.1:0
protocol = cgi
exec = {dir}/held.cgi
stderr = null
"""
HELD = b"#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nfirst\\n'\nread x < ./go\necho second\n"


def held_cgi(extra=""):
    """A gateway relaying a cgi response that goes on once ./go is
    written: what an upgrade waits for."""
    g = gw.Gateway(CGI_HELD.replace("{extra}", extra), start=False,
                   files={"held.cgi": (HELD, 0o755)})
    os.mkfifo(os.path.join(g.dir, "go"))
    with open(g.config, "a") as f:
        f.write("cwd = %s\n" % g.dir)
    exe = os.path.join(g.dir, "gatewayd")
    shutil.copy2(gw.BIN, exe)
    g.start(binary=exe)
    h = socket.create_connection(g.addr("web"))
    h.sendall(b"GET / HTTP/1.0\r\n\r\n")
    hf = h.makefile("rb")
    while hf.readline() != b"first\n":
        pass
    return g, h, hf


def test_control_client_waits_for_its_answer():
    """gatewayctl's upgrade waits while a cgi response is relayed; what
    else its client sends meanwhile is not read, and the answer comes
    from the new image."""
    g, h, hf = held_cgi()
    with g:
        c = socket.socket(socket.AF_UNIX)
        c.connect(os.path.join(g.dir, "ctl.sock"))
        c.sendall(b"upgrade\n" + b"x" * 600)
        gw.wait_for(lambda: status(g)[0]["state"] == "upgrading", 10, "upgrading")
        with open(os.path.join(g.dir, "go"), "w") as f:
            f.write("x\n")
        assert hf.read() == b"second\n"
        c.settimeout(20)
        answer = c.makefile("rb").read()
        assert answer.startswith(b"upgraded from ") and answer.endswith(b"ok\n"), answer
        upgraded(g)


def test_terminal_session_is_let_finish():
    """A pty route's terminal is relayed by the gateway: the upgrade
    waits for the session to end (accepting paused), then goes on."""
    cfg = """
[gateway]
control = unix:{dir}/ctl.sock

[term]
listen = 127.0.0.1:0
exec = /bin/cat
pty = raw
stderr = null

[echo]
listen = 127.0.0.1:0
exec = /bin/echo
args = hello
stderr = null
"""
    g, exe = started(cfg)
    with g:
        t = g.connect("term")
        t.sendall(b"ping\n")
        got = b""
        while b"ping\n" not in got:
            got += t.recv(100)
        g.kill(signal.SIGUSR2)
        gw.wait_for(lambda: status(g)[0]["state"] == "upgrading", 10, "upgrading")
        t.sendall(b"pong\n")
        got = b""
        while b"pong\n" not in got:
            got += t.recv(100)
        t.shutdown(socket.SHUT_WR)
        t.settimeout(10)
        while t.recv(100):
            pass
        upgraded(g)
        assert gw.talk(g.addr("echo")) == b"hello\n"


def test_stop_during_the_wait_wins():
    """SIGTERM while the upgrade waits (with drain_delay): the upgrade
    gives way, and the gateway drains and stops as asked."""
    g, h, hf = held_cgi("drain_delay = 1")
    with g:
        g.kill(signal.SIGUSR2)
        gw.wait_for(lambda: status(g)[0]["state"] == "upgrading", 10, "upgrading")
        g.kill(signal.SIGTERM)
        e = g.wait_event("upgrade_error")[0]
        assert "stopping" in e["error"], e
        with open(os.path.join(g.dir, "go"), "w") as f:
            f.write("x\n")
        assert hf.read() == b"second\n"
        assert g.wait_exit(20) == 0
        assert not g.events("upgrade")


def set_workers(g, n):
    with open(g.config) as f:
        text = f.read()
    text = re.sub(r"(?m)^workers = .*\n", "", text)
    with open(g.config, "w") as f:
        f.write(text.replace("[gateway]\n", "[gateway]\nworkers = %d\n" % n))


def test_workers_key_takes_effect():
    """workers, which a reload cannot change, changes with an upgrade:
    from none to two, the running child carried into the main process's
    care; then back to none, the two replaced and not started again."""
    g, exe = started()
    with g:
        s = g.connect("slow")
        f = s.makefile("rb")
        assert f.readline() == b"started\n"
        set_workers(g, 2)
        g.kill(signal.SIGUSR2)
        upgraded(g)
        g.wait_event("worker", 2)
        assert gw.talk(g.addr("echo")) == b"hello\n"
        set_workers(g, 1)
        g.kill(signal.SIGUSR2)
        upgraded(g, 2)
        g.wait_event("worker_replaced", 2)
        assert len(g.events("worker")) == 2, g.events("worker")
        for _ in range(3):
            assert gw.talk(g.addr("echo")) == b"hello\n"
        s.sendall(b"x\n")
        assert f.readline() == b"got x\n"
        ex = g.wait_event("exit", route="slow")[0]
        assert ex["status"] == "0", ex


def test_service_manager_hears_reloading_then_ready():
    """Under systemd (Type=notify): RELOADING=1 from the old image, then
    READY=1 from the new one, the same main pid."""
    g = gw.Gateway(CONFIG, start=False)
    exe = os.path.join(g.dir, "gatewayd")
    shutil.copy2(gw.BIN, exe)
    path = os.path.join(g.dir, "notify.sock")
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    n.bind(path)
    n.settimeout(10)

    def until(key):
        while True:
            msg = n.recv(4096).decode()
            fields = dict(x.split("=", 1) for x in msg.split("\n") if "=" in x)
            if key in fields:
                return fields

    with g:
        g.start(binary=exe, env=dict(os.environ, NOTIFY_SOCKET=path))
        assert until("READY")["READY"] == "1"
        g.kill(signal.SIGUSR2)
        assert until("RELOADING")["RELOADING"] == "1"
        f = until("READY")
        assert f["READY"] == "1" and f.get("STATUS", "").startswith("serving"), f
        upgraded(g)
        assert gw.talk(g.addr("echo")) == b"hello\n"
    n.close()


def test_workers_are_replaced_one_at_a_time():
    """workers = 2: the main process upgrades first, starts two new
    workers, and replaces the old ones one at a time, each once it
    relays nothing; a child an old worker started is taken over and its
    exit logged with its whole duration; a cgi response an old worker
    relays is finished by it first; nothing fails meanwhile."""
    cfg = CONFIG.replace("[gateway]\n", "[gateway]\nworkers = 2\n") + """
[web]
listen = 127.0.0.1:0
protocol = cgi
exec = {dir}/slow.cgi
stderr = null
"""
    prog = b"#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nfirst\\n'\nread x < {dir}/go\necho second\n"
    g = gw.Gateway(cfg, start=False, files={"slow.cgi": (b"", 0o755)})
    with open(os.path.join(g.dir, "slow.cgi"), "wb") as f:
        f.write(prog.replace(b"{dir}", g.dir.encode()))
    os.mkfifo(os.path.join(g.dir, "go"))
    exe = os.path.join(g.dir, "gatewayd")
    shutil.copy2(gw.BIN, exe)
    with g:
        g.start(binary=exe)
        g.wait_event("worker", 2)
        old = {e["pid"] for e in g.events("worker")}
        s = g.connect("slow")
        f = s.makefile("rb")
        assert f.readline() == b"started\n"
        spawn = g.wait_event("spawn", route="slow")[0]
        h = socket.create_connection(g.addr("web"))
        h.sendall(b"GET / HTTP/1.0\r\n\r\n")
        hf = h.makefile("rb")
        while hf.readline() != b"first\n":
            pass
        replace_binary(exe)
        g.kill(signal.SIGUSR2)
        up = upgraded(g)
        assert up["workers"] == "2" and up["pid"] == str(g.pid()), up
        g.wait_event("worker", 4)
        new = {e["pid"] for e in g.events("worker")} - old
        assert len(new) == 2, g.events("worker")
        assert gw.talk(g.addr("echo")) == b"hello\n"
        # The old worker relaying the cgi response is not replaced yet;
        # the other one is, or will be.
        g.wait_event("worker_replaced", 1)
        assert len(g.events("worker_replaced")) == 1
        with open(os.path.join(g.dir, "go"), "w") as fifo:
            fifo.write("x\n")
        assert hf.read() == b"second\n"
        g.wait_event("worker_replaced", 2)
        assert {e["pid"] for e in g.events("worker_replaced")} == old
        assert not any(str(p) in old for p, _ in g.children())
        # The child started by an old worker is the main process's now.
        s.sendall(b"x\n")
        assert f.readline() == b"got x\n"
        ex = g.wait_event("exit", route="slow")[0]
        assert ex["conn"] == spawn["conn"] and ex["status"] == "0", ex
        assert float(ex["duration"]) > 0, ex
        for _ in range(10):
            assert gw.talk(g.addr("echo")) == b"hello\n"
        assert not g.events("warning", msg=None) or all(
            "ended with" not in e.get("msg", "") for e in g.events("warning"))


if __name__ == "__main__":
    gw.main(globals())
