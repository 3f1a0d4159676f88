"""Real HAProxy (Debian's haproxy package) in front of one or several
gateways, for the tests that need a load balancer's view of them:
gateways on 127.0.0.2, .3, .4 behind one frontend, drains, rolling
restarts, upgrades. One frontend (mode tcp, or mode http) and one
backend of the servers given, each optionally sent a PROXY v2 header,
health-checked and agent-checked, with intervals short enough for tests.
Or a shipped configuration (etc/haproxy/gatewayd.cfg: several frontends
and backends) as it is, but for its global section, its bind and server
lines, and its check intervals, which the test gives (shipped=).
HAProxy runs in the foreground as the test's own child, with a stats
socket for its view of each server (`show stat`); leaving the `with`
block (or the test, for one left open) soft-stops it (SIGUSR1), kills it
if it lingers, and reaps it.

    servers = [haproxy.Server("a", "127.0.0.2", port, proxy_v2=True,
                              check_port=agent, agent_port=agent)]
    with haproxy.HAProxy(servers) as h:
        gw.talk(h.addr())
        h.wait_status("a", "DRAIN")

    # The file's default-server lines say the rest (send-proxy-v2,
    # check, agent-check); the server lines, where the gateway is.
    raw = [haproxy.Server("a", "127.0.0.2", port,
                          options="port %d agent-port %d" % (agent, agent))]
    with haproxy.HAProxy({"gatewayd_raw": raw}, shipped=haproxy.SHIPPED) as h:
        gw.talk(h.addr("raw"))
        h.wait_status("a", "UP", backend="gatewayd_raw")
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile

import gw
import http_helpers as hh


class Server:
    """One backend server. proxy_v2: send-proxy-v2; check_port: a TCP
    health check (to that port, e.g. the gateway's agent port, which
    spawns nothing; 0 for the server's own port; None for no check);
    agent_port: agent-check there; source: the address haproxy connects
    from (the kernel's choice otherwise); options: more of the server
    line (send-proxy, send-proxy-v2-ssl, ...)."""

    def __init__(self, name, host, port, proxy_v2=False, check_port=None,
                 agent_port=None, source=None, weight=100, options=""):
        self.name, self.host, self.port = name, host, port
        self.proxy_v2, self.check_port, self.agent_port = proxy_v2, check_port, agent_port
        self.source, self.weight, self.options = source, weight, options

    def line(self, inter):
        s = "server %s %s:%d weight %d" % (self.name, self.host, self.port, self.weight)
        if self.proxy_v2:
            s += " send-proxy-v2"
        if self.source:
            s += " source " + self.source
        if self.check_port is not None:
            s += " check inter %s fall 1 rise 1" % inter
            if self.check_port:
                s += " port %d" % self.check_port
        if self.agent_port:
            s += " agent-check agent-port %d agent-inter %s" % (self.agent_port, inter)
        if self.options:
            s += " " + self.options
        return s


# The configuration shipped for users (etc/haproxy/gatewayd.cfg).
SHIPPED = os.path.join(gw.TOP, "etc", "haproxy", "gatewayd.cfg")

GLOBAL = """
global
    stats socket {sock} mode 600 level admin
    log stderr format raw local0 info
    maxconn 1000
    hard-stop-after 10s
"""

CONFIG = GLOBAL + """
defaults
    mode {mode}
    log global
    option {mode}log
    timeout connect 2s
    timeout client 10s
    timeout server 10s
{extra}
frontend fe
    bind {host}:{port}{bind}
{frontend}    default_backend be

backend be
    balance roundrobin
{servers}
"""


# A line that opens a section: its keyword and name.
SECTION = re.compile(r"^(global|defaults|frontend|backend|listen|peers|resolvers|"
                     r"userlist|mailers|program|http-errors|ring|cache)\b\s*(\S*)")
# The check intervals of a server or default-server line.
INTERVAL = re.compile(r"\b(inter|fastinter|downinter|agent-inter)\s+\S+")


def frontends_of(text):
    """The names of the frontends of a configuration, in order."""
    return [m.group(2) for m in (SECTION.match(x) for x in text.splitlines())
            if m and m.group(1) == "frontend"]


def from_shipped(text, sock, host, ports, servers, inter):
    """A shipped configuration made runnable here: its global section
    replaced by the test's (stats socket in sock, log to stderr), each
    frontend's bind lines by one on host:ports[frontend], each backend's
    server lines by those of servers[backend] (where the first of them
    was: after the default-server lines that apply to them), and every
    check interval on server and default-server lines shortened to
    inter. The rest (modes, balance, timeouts, retries, send-proxy-v2,
    check, agent-check, fall, rise) is the file's."""
    out, kind, name, done = [], None, None, set()
    for line in text.splitlines():
        m = SECTION.match(line)
        if m:
            kind, name = m.group(1), m.group(2)
            out.append(GLOBAL.format(sock=sock) if kind == "global" else line)
            continue
        words = line.split("#", 1)[0].split()
        word = words[0] if words else ""
        if kind == "global":
            continue
        if kind == "frontend" and word == "bind":
            if name not in done:
                out.append("    bind %s:%d" % (host, ports[name]))
                done.add(name)
            continue
        if kind == "backend" and word == "server":
            if name not in done:
                out += ["    " + INTERVAL.sub(r"\1 " + inter, x.line(inter))
                        for x in servers.get(name, ())]
                done.add(name)
            continue
        if word == "default-server":
            line = INTERVAL.sub(r"\1 " + inter, line)
        out.append(line)
    missing = (set(frontends_of(text)) | set(servers)) - done
    if missing:
        raise AssertionError("no bind or server lines for %s in the shipped file" %
                             ", ".join(sorted(missing)))
    return "\n".join(out) + "\n"


class HAProxy:
    """haproxy in front of servers (a list of Server), listening on a free
    port of host. mode: "tcp" or "http"; inter: the health and agent
    check interval; bind: more of the bind line (ssl crt PEM ...);
    frontend, extra: more lines for the frontend, the defaults. Its
    config, stats socket and log (haproxy.log: alerts, server state
    changes, one line per connection) are in dir, by default a fresh
    one removed at the end unless GW_KEEP is set.

    shipped: the path of a configuration to run instead (from_shipped()
    says how it is changed); servers is then {backend: [Server]}, whose
    server lines should say only what the file's default-server lines
    cannot know (ports, source), and each of its frontends listens on a
    free port of host (addr(frontend)). mode, bind, frontend and extra
    are not used then."""

    def __init__(self, servers, mode="tcp", host="127.0.0.1", inter="100ms",
                 bind="", frontend="", extra="", dir=None, start=True, shipped=None):
        self.prog = gw.need_program("haproxy", "/usr/sbin/haproxy")
        self.servers, self.mode, self.host = servers, mode, host
        self.inter, self.bind, self.frontend, self.extra = inter, bind, frontend, extra
        self.shipped = None
        if shipped:
            with open(shipped) as f:
                self.shipped = f.read()
        self.frontends = frontends_of(self.shipped) if self.shipped else ["fe"]
        # stat() and its kin look in this backend unless told another.
        self.backend = next(iter(servers)) if self.shipped else "be"
        self.own_dir = dir is None
        self.dir = dir or tempfile.mkdtemp(prefix="gwt-haproxy-")
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        self.sock = os.path.join(self.dir, "haproxy.sock")
        self.log_path = os.path.join(self.dir, "haproxy.log")
        self.proc = None
        self.port = None        # the first frontend's
        self.ports = {}         # every frontend's
        self.closed = False
        # gw.main() closes it after the test too, like a Gateway, should
        # the test not have.
        gw._made.append(self)
        if start:
            self.start()

    def config(self, ports):
        """The configuration with the frontends on ports ({name: port})."""
        if self.shipped:
            return from_shipped(self.shipped, self.sock, self.host, ports, self.servers,
                                self.inter)

        def lines(text):
            return "".join("    %s\n" % x.strip() for x in text.splitlines() if x.strip())
        return CONFIG.format(
            sock=self.sock, mode=self.mode, host=self.host, port=ports["fe"],
            bind=" " + self.bind if self.bind else "", frontend=lines(self.frontend),
            extra=lines(self.extra),
            servers="".join("    %s\n" % s.line(self.inter) for s in self.servers))

    def start(self, timeout=20):
        """Starts haproxy and waits until its stats socket answers and its
        frontends listen; other ports are tried if one chosen was taken
        meanwhile."""
        for _ in range(5):
            ports = {}
            for name in self.frontends:
                ports[name] = hh.free_port(self.host)
                while list(ports.values()).count(ports[name]) > 1:
                    ports[name] = hh.free_port(self.host)
            with open(self.cfg, "w") as f:
                f.write(self.config(ports))
            if os.path.exists(self.sock):
                os.unlink(self.sock)
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen([self.prog, "-f", self.cfg, "-db"],
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            try:
                gw.wait_for(lambda: self.proc.poll() is not None or
                            (all(hh.listening(p, self.host) for p in ports.values()) and
                             self.answers()),
                            timeout, lambda: "haproxy to start:\n" + self.log())
            except AssertionError:
                self.kill()
                raise
            if self.proc.poll() is None:
                self.ports, self.port = ports, ports[self.frontends[0]]
                return
            self.proc = None        # a port was taken: others
        raise AssertionError("haproxy did not start:\n" + self.log())

    def addr(self, frontend=None):
        """(host, port) of a frontend (the first one by default)."""
        return (self.host, self.ports[frontend] if frontend else self.port)

    def command(self, line, timeout=10):
        """One command on the stats socket: its answer."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.sock)
            s.sendall(line.encode() + b"\n")
            return gw.recv_all(s).decode()
        finally:
            s.close()

    def answers(self):
        try:
            return "pxname" in self.command("show stat")
        except OSError:
            return False

    def stat(self, server=None, backend=None):
        """`show stat` as {(proxy, server): {field: value}}, or the row of
        one server of a backend (self.backend unless told)."""
        out = self.command("show stat")
        lines = out.splitlines()
        if not lines or not lines[0].startswith("# "):
            raise AssertionError("show stat said:\n" + out)
        names = lines[0][2:].split(",")
        rows = {}
        for line in lines[1:]:
            if line:
                d = dict(zip(names, line.split(",")))
                rows[(d["pxname"], d["svname"])] = d
        if server is None:
            return rows
        try:
            return rows[(backend or self.backend, server)]
        except KeyError:
            raise AssertionError("no %s/%s in:\n%s" % (backend or self.backend, server, out))

    def status(self, server, backend=None):
        """The server's status: UP, DOWN, DRAIN, MAINT, ... (with its
        transitions, e.g. "UP 1/2")."""
        return self.stat(server, backend)["status"]

    def weight(self, server, backend=None):
        return int(self.stat(server, backend)["weight"])

    def wait_status(self, server, prefix, timeout=10, backend=None):
        """Waits until the server's status begins with prefix."""
        return gw.wait_for(lambda: self.status(server, backend).startswith(prefix) and
                           self.status(server, backend), timeout,
                           lambda: "%s/%s to be %s, is %s; haproxy's log:\n%s" %
                           (backend or self.backend, server, prefix,
                            self.status(server, backend), self.log()))

    def log(self, last=200):
        """The last lines of haproxy's log (all of them: last=None)."""
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-last:] if last else lines)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()

    def stop(self, timeout=10):
        """Soft stop (SIGUSR1: no more accepting, the connections under
        way finish), then SIGKILL if it is still there after timeout.
        Returns haproxy's exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def close(self, failing=False):
        """stop(), and the directory removed if it is haproxy's own."""
        if self.closed:
            return
        self.closed = True
        self.stop()
        if self.own_dir and not os.environ.get("GW_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
