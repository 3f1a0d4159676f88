#!/usr/bin/env python3
"""systemd: sockets passed by socket activation (listen = systemd:NAME,
started by systemd-socket-activate as systemd would start it), and the
state the gateway tells through NOTIFY_SOCKET (Type=notify)."""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import gw  # noqa: E402
import http_helpers as hh  # noqa: E402
from limits_helpers import stop_ok  # noqa: E402

# What the child has: its addresses, any LISTEN_ variable, and the
# descriptors of the shell itself (sh -c opens no script file).
DUMP = ("""/bin/sh\nargs = -c 'echo "port=$TCPLOCALPORT ipc=$IPCLOCALPATH proto=$PROTO"; """
        """env | grep -c ^LISTEN_; ls /proc/$$/fd'""")

CONFIG = """
[tcp]
listen = systemd:web
exec = %s

[ux]
listen = systemd:local
exec = %s
""" % (DUMP, DUMP)

FILES = {}


def activated(config, names, extra_files=None, env=()):
    """A gateway started by systemd-socket-activate with a TCP socket
    (named names[0]) and a Unix one (names[1]): (g, port, path). It runs
    once a first client connects, as under systemd."""
    gw.need_program("systemd-socket-activate")
    g = gw.Gateway(config, start=False, files=dict(FILES, **(extra_files or {})))
    port = hh.free_port()
    path = os.path.join(g.dir, "local.sock")
    g.logf = open(g.log_path, "wb")
    args = ["systemd-socket-activate", "-l", "127.0.0.1:%d" % port, "-l", path,
            "--fdname=" + ":".join(names)]
    for e in env:
        args += ["-E", e]
    g.proc = subprocess.Popen(args + [gw.BIN, "-c", g.config], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=g.logf)
    g.procs.append(g.proc)
    gw.wait_for(lambda: os.path.exists(path), 10, "systemd-socket-activate to listen")
    return g, port, path


def talk_tcp(port):
    return gw.talk(("127.0.0.1", port)).decode()


def first_talk(g, addr):
    """The first connection: it makes systemd-socket-activate start the
    gateway, which then serves it."""
    out = gw.talk(addr, timeout=20).decode()
    g.wait_event("start")
    return out


def test_named_tcp_and_unix_sockets():
    g, port, path = activated(CONFIG, ["web", "local"])
    with g:
        out = first_talk(g, ("127.0.0.1", port))
        lines = out.split("\n")
        assert lines[0] == "port=%d ipc= proto=TCP" % port, out
        assert lines[1] == "0", "LISTEN_ variables reached the child: %r" % out
        assert lines[2:] == ["0", "1", "2", ""], "the child's descriptors: %r" % out
        out = gw.talk(path).decode()
        assert out.startswith("port= ipc=%s proto=IPC\n" % path), out
        ev = {e["route"]: e for e in g.events("listen")}
        assert ev["tcp"]["systemd"] == "web" and ev["tcp"]["addr"] == "127.0.0.1:%d" % port, ev
        assert ev["ux"]["systemd"] == "local" and ev["ux"]["addr"] == "unix:" + path, ev
        # The gateway's own descriptors: the two passed sockets, once.
        socks = [v for v in g.fd_table().values() if v.startswith("socket:")]
        assert len(socks) == len(set(socks)), g.fd_table()
        stop_ok(g)


def test_reload_keeps_removes_and_refuses_again():
    g, port, path = activated(CONFIG, ["web", "local"])
    with g:
        first_talk(g, ("127.0.0.1", port))
        inode = gw.listener_inode(("127.0.0.1", port))
        g.proc.send_signal(signal.SIGHUP)
        ev = g.wait_event("reload")[-1]
        assert ev["opened"] == "0" and ev["closed"] == "0", ev
        assert gw.listener_inode(("127.0.0.1", port)) == inode
        assert talk_tcp(port).startswith("port=%d" % port)
        # [ux] removed: its socket is closed.
        with open(g.config, "w") as f:
            f.write(CONFIG.split("[ux]")[0])
        g.proc.send_signal(signal.SIGHUP)
        ev = g.wait_event("reload", 2)[-1]
        assert ev["closed"] == "1", ev
        try:
            out = gw.talk(path, timeout=5)
        except (ConnectionRefusedError, ConnectionResetError):
            out = b""
        assert out == b"", out
        # Named again: systemd gave it once, and it is gone.
        with open(g.config, "w") as f:
            f.write(CONFIG)
        g.proc.send_signal(signal.SIGHUP)
        err = g.wait_event("reload_error")[-1]
        assert "systemd:local" in err["error"] and "once" in err["error"], err
        assert talk_tcp(port).startswith("port=%d" % port)
        stop_ok(g)


def test_unknown_name_refused_and_unnamed_closed():
    # A route names a socket that was not passed: the start fails, saying so.
    g, port, path = activated(CONFIG.replace("systemd:local", "systemd:nope"), ["web", "local"])
    with g:
        g.expected_status = 1
        try:
            gw.talk(("127.0.0.1", port), timeout=10)
        except OSError:
            pass
        assert g.wait_exit() == 1
        assert "listen systemd:nope: systemd passed no socket of that name" in g.log(), g.log()
    # A passed socket no route names: a warning, and closed.
    g, port, path = activated(CONFIG.split("[ux]")[0], ["web", "spare"])
    with g:
        first_talk(g, ("127.0.0.1", port))
        warn = [e for e in g.events("warning") if "spare" in e.get("msg", "")]
        assert warn and "no route names" in warn[0]["msg"], g.log()
        socks = [v for v in g.fd_table().values() if v.startswith("socket:")]
        assert len(socks) == 1, g.fd_table()
        stop_ok(g)


def test_http_route_on_a_passed_socket():
    config = """
[web]
listen = systemd:web
protocol = cgi
path = /
exec = env.cgi
"""
    cgi = b"#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'; env\n"
    g, port, path = activated(config, ["web", "other"], {"env.cgi": (cgi, 0o755)})
    with g:
        raw = hh.exchange(("127.0.0.1", port), b"GET /x?y HTTP/1.1\r\nHost: h\r\n\r\n")
        g.wait_event("start")
        env = hh.cgi_env(hh.Response(raw))
        assert env["SERVER_PORT"] == str(port) and env["PATH_INFO"] == "/x", env
        assert env["QUERY_STRING"] == "y", env
        stop_ok(g)


def test_check_accepts_systemd_listeners():
    g = gw.Gateway(CONFIG, start=False, files=FILES)
    with g:
        p = subprocess.run([gw.BIN, "-t", "-c", g.config], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert "tcp listen=systemd:web " in p.stdout, p.stdout
        assert "ux listen=systemd:local " in p.stdout, p.stdout


# ---- NOTIFY_SOCKET ----

class Notify:
    """The service manager's end: a datagram socket the gateway writes
    its state to."""

    def __init__(self, d):
        self.path = os.path.join(d, "notify.sock")
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(self.path)
        self.got = []

    def next(self, timeout=10):
        self.s.settimeout(timeout)
        try:
            msg = self.s.recv(4096).decode()
        except socket.timeout:
            raise AssertionError("no notification in %ss after %s" % (timeout, self.got))
        fields = dict(line.split("=", 1) for line in msg.split("\n") if "=" in line)
        self.got.append(fields)
        return fields

    def until(self, key, timeout=10):
        """Notifications until one with key: that one (WATCHDOG and
        STATUS updates in between are passed over)."""
        end = time.monotonic() + timeout
        while True:
            f = self.next(max(0.1, end - time.monotonic()))
            if key in f:
                return f

    def close(self):
        self.s.close()


NOTIFY_CONFIG = """
[gateway]
shutdown_grace = 5

[hold]
listen = 127.0.0.1:0
exec = /bin/cat
stderr = null
"""


def notified(env=None):
    g = gw.Gateway(NOTIFY_CONFIG, start=False)
    n = Notify(g.dir)
    e = dict(os.environ, NOTIFY_SOCKET=n.path, **(env or {}))
    g.spawn(env=e)
    return g, n


def test_ready_reload_stop():
    g, n = notified()
    with g:
        f = n.until("READY")
        # Ready means listening: the route serves at once.
        g.wait_event("start", timeout=1)
        assert f["READY"] == "1" and "serving" in f.get("STATUS", ""), f
        assert gw.talk(g.addr("hold"), b"hi") == b"hi"
        g.proc.send_signal(signal.SIGHUP)
        f = n.until("RELOADING")
        assert f["RELOADING"] == "1" and int(f["MONOTONIC_USEC"]) > 0, f
        f = n.until("READY")
        assert f["STATUS"].startswith("reloaded"), f
        # A reload that fails: RELOADING, then READY saying it failed.
        with open(g.config, "a") as f_:
            f_.write("[broken\n")
        g.proc.send_signal(signal.SIGHUP)
        n.until("RELOADING")
        f = n.until("READY")
        assert "failed" in f["STATUS"], f
        g.wait_event("reload_error")
        g.proc.send_signal(signal.SIGTERM)
        f = n.until("STOPPING")
        assert f["STOPPING"] == "1", f
        assert g.wait_exit() == 0
        n.close()


def test_status_follows_children():
    g, n = notified()
    with g:
        n.until("READY")
        s = gw.connect(g.addr("hold"))
        g.wait_event("spawn")
        while "1 children" not in n.until("STATUS").get("STATUS", ""):
            pass
        s.close()
        g.wait_event("exit")
        while "0 children" not in n.until("STATUS").get("STATUS", ""):
            pass
        stop_ok(g)
        n.close()


def test_drain_delay_says_draining():
    # A SIGTERM with drain_delay: STATUS= says draining while the
    # gateway still serves, then STOPPING=1.
    g = gw.Gateway(NOTIFY_CONFIG.replace("shutdown_grace = 5", "drain_delay = 3"),
                   start=False)
    n = Notify(g.dir)
    g.spawn(env=dict(os.environ, NOTIFY_SOCKET=n.path))
    with g:
        n.until("READY")
        g.proc.send_signal(signal.SIGTERM)
        while not n.until("STATUS")["STATUS"].startswith("draining"):
            pass
        assert gw.talk(g.addr("hold"), b"d") == b"d"
        f = n.until("STOPPING", timeout=10)
        assert f["STOPPING"] == "1", f
        assert g.wait_exit() == 0
        n.close()


def test_watchdog_pings():
    # WATCHDOG_USEC = 0.2 s: a ping about every 0.1 s, from the loop.
    g, n = notified({"WATCHDOG_USEC": "200000"})
    with g:
        n.until("READY")
        times = []
        while len(times) < 6:
            f = n.until("WATCHDOG", timeout=5)
            assert f["WATCHDOG"] == "1", f
            times.append(time.monotonic())
        gaps = [b - a for a, b in zip(times, times[1:])]
        mean = sum(gaps) / len(gaps)
        assert 0.05 <= mean <= 0.2, "pings every %.3f s on average: %s" % (mean, gaps)
        stop_ok(g)
        n.close()


def test_no_notify_socket_no_notifications():
    # Without NOTIFY_SOCKET nothing is sent, and nothing breaks.
    with gw.Gateway(NOTIFY_CONFIG) as g:
        assert gw.talk(g.addr("hold"), b"x") == b"x"
        g.proc.send_signal(signal.SIGHUP)
        g.wait_event("reload")
        stop_ok(g)


if __name__ == "__main__":
    gw.main(globals())
