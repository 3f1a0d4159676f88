"""agent = HOST:PORT, HAProxy's agent-check: each client gets one line,
`up ready N%` (the free share of max_children), `maint` when every route is
drained, `drain` while a SIGTERM's drain_delay runs; then the gateway
closes. `up` comes with `ready`, which haproxy needs to leave a maint or
drain the agent set before. Read with a plain socket, and by a real haproxy."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import gw  # noqa: E402
import http_helpers as hh  # noqa: E402
from ctl_helpers import ctl_ok  # noqa: E402
from limits_helpers import recv_all, recv_until  # noqa: E402

CONFIG = """
[gateway]
control = unix:ctl.sock
agent = 127.0.0.1:0
max_children = 4

[hold]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c "echo started; read x"
stderr = null

[echo]
listen = 127.0.0.1:0
exec = /bin/echo
args = hi
"""


def agent_addr(g):
    return gw.split_addr(g.wait_event("agent")[0]["addr"])


def ask(g):
    s = gw.connect(agent_addr(g))
    try:
        return recv_all(s).decode()
    finally:
        s.close()


def hold(g):
    s = g.connect("hold")
    assert recv_until(s, b"started\n") == b"started\n"
    return s


def test_up_with_the_free_share():
    with gw.Gateway(CONFIG) as g:
        assert ask(g) == "up ready 100%\n"
        a = hold(g)
        assert ask(g) == "up ready 75%\n"
        b, c, d = hold(g), hold(g), hold(g)
        assert ask(g) == "up ready 0%\n"
        for s in (a, b, c, d):
            s.close()
        gw.wait_for(lambda: ask(g) == "up ready 100%\n", 10, "every place free again")


def test_maint_when_every_route_is_drained():
    with gw.Gateway(CONFIG) as g:
        ctl_ok(g, "drain", "hold")
        assert ask(g) == "up ready 100%\n"
        ctl_ok(g, "drain", "echo")
        assert ask(g) == "maint\n"
        ctl_ok(g, "resume", "all")
        assert ask(g) == "up ready 100%\n"


DRAINING = CONFIG.replace("max_children = 4\n", "max_children = 4\ndrain_delay = 60\n")


def test_drain_during_drain_delay():
    with gw.Gateway(DRAINING) as g:
        g.kill(signal.SIGTERM)
        g.wait_event("drain")
        assert ask(g) == "drain\n"
        assert gw.talk(g.addr("echo")) == b"hi\n"
        g.kill(signal.SIGTERM)
        assert g.wait_exit() == 0


HAPROXY = """
global
    stats socket {dir}/haproxy.sock mode 600 level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend be
    server gw {route} weight 100 check port {agent} inter 200ms agent-check agent-port {agent} agent-inter 200ms
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be
"""


def haproxy_stat(sock):
    """The server's (status, weight) as haproxy's `show stat` says."""
    prog = gw.need_program("socat")
    out = subprocess.run([prog, "-", "UNIX-CONNECT:" + sock], input=b"show stat\n",
                         capture_output=True, timeout=10).stdout.decode()
    for line in out.splitlines():
        f = line.split(",")
        if f[:2] == ["be", "gw"]:
            return f[17], f[18]
    raise AssertionError("no be/gw in:\n" + out)


def test_haproxy_follows_the_agent():
    """haproxy's health check connects to the agent's port (a TCP check
    that spawns nothing), and its agent-check reads the line there."""
    prog = gw.need_program("haproxy")
    with gw.Gateway(DRAINING) as g:
        host, port = g.addr("hold")
        cfg = os.path.join(g.dir, "haproxy.cfg")
        sock = os.path.join(g.dir, "haproxy.sock")
        with open(cfg, "w") as f:
            f.write(HAPROXY.format(dir=g.dir, route="%s:%d" % (host, port),
                                   agent=agent_addr(g)[1], fe=hh.free_port()))
        h = subprocess.Popen([prog, "-f", cfg, "-db"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            gw.wait_for(lambda: os.path.exists(sock), 10, "haproxy's stats socket")
            gw.wait_for(lambda: haproxy_stat(sock)[1] == "100", 10, "weight 100")
            a = hold(g)
            gw.wait_for(lambda: haproxy_stat(sock) == ("UP", "75"), 10,
                        lambda: "UP at weight 75: %s" % (haproxy_stat(sock),))
            ctl_ok(g, "drain", "all")
            gw.wait_for(lambda: haproxy_stat(sock)[0].startswith("MAINT"), 10,
                        lambda: "MAINT: %s" % (haproxy_stat(sock),))
            ctl_ok(g, "resume", "all")
            gw.wait_for(lambda: haproxy_stat(sock)[0] == "UP", 10, "UP again")
            g.kill(signal.SIGTERM)
            g.wait_event("drain")
            gw.wait_for(lambda: haproxy_stat(sock)[0].startswith("DRAIN"), 10,
                        lambda: "DRAIN: %s" % (haproxy_stat(sock),))
            a.close()
        finally:
            h.terminate()
            h.wait(10)
        g.kill(signal.SIGTERM)
        assert g.wait_exit() == 0


if __name__ == "__main__":
    gw.main(globals())
