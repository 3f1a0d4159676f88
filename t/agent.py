"""agent = HOST:PORT, HAProxy's agent-check: each client gets one line,
`up ready N%` (the free share of max_children), `maint` when every route is
drained, `drain` while a SIGTERM's drain_delay runs; then the gateway
closes. `up` comes with `ready`, which haproxy needs to leave a maint or
drain the agent set before. Read with a plain socket, and by a real haproxy."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import gw  # noqa: E402
import haproxy  # noqa: E402
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


def test_answer_survives_what_haproxy_sends():
    """haproxy's agent-send: the client writes a line as it connects. The
    answer still arrives whole, never cut off by a reset for bytes the
    gateway did not read."""
    with gw.Gateway(CONFIG) as g:
        for _ in range(50):
            s = gw.connect(agent_addr(g))
            s.sendall(b"hello from haproxy\n" * 20)
            got = gw.recv_all(s)
            s.close()
            assert got == b"up ready 100%\n", got


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


def test_haproxy_follows_the_agent():
    """haproxy's health check connects to the agent's port (a TCP check
    that spawns nothing), and its agent-check reads the line there."""
    with gw.Gateway(DRAINING) as g:
        host, port = g.addr("hold")
        agent = agent_addr(g)[1]
        server = haproxy.Server("gw", host, port, check_port=agent, agent_port=agent)
        with haproxy.HAProxy([server], inter="200ms") as h:
            gw.wait_for(lambda: h.weight("gw") == 100, 10, "weight 100")
            a = hold(g)
            gw.wait_for(lambda: (h.status("gw"), h.weight("gw")) == ("UP", 75), 10,
                        lambda: "UP at weight 75: %s %s" % (h.status("gw"), h.weight("gw")))
            ctl_ok(g, "drain", "all")
            h.wait_status("gw", "MAINT")
            ctl_ok(g, "resume", "all")
            gw.wait_for(lambda: h.status("gw") == "UP", 10, "UP again")
            g.kill(signal.SIGTERM)
            g.wait_event("drain")
            h.wait_status("gw", "DRAIN")
            a.close()
        g.kill(signal.SIGTERM)
        assert g.wait_exit() == 0


if __name__ == "__main__":
    gw.main(globals())
