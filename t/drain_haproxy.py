"""drain_delay behind a real HAProxy: two gateways (127.0.0.2 and
127.0.0.3) behind one haproxy that sends them PROXY v2 headers and reads
their agent-check. Under steady load, a SIGTERM to one makes it say
drain; haproxy stops sending it clients before its listeners close, no
client sees a failure, the other gateway takes the load, and the first
exits 0. Every child sees the real client (127.0.0.9), not haproxy.
Where 127.0.0.2 cannot be bound (a loopback that is not 127.0.0.0/8),
both gateways and the clients use 127.0.0.1."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import gw  # noqa: E402
import haproxy  # noqa: E402
import http_helpers as hh  # noqa: E402
import load_helpers as lh  # noqa: E402
from load_helpers import Load, seconds  # noqa: E402

CLIENT, HOSTS = lh.hosts(2)

# haproxy connects to 127.0.0.2 and .3 from 127.0.0.1 (the server lines
# say so: source 127.0.0.1); the clients come from 127.0.0.9, so a child
# that sees 127.0.0.9 was told by the header.
RAW = """
[gateway]
agent = {host}:{agent}
drain_delay = 2

[ok]
listen = {host}:{port}
proxy_protocol = v2
proxy_from = 127.0.0.1
exec = {dir}/ok
"""

CGI = """
[gateway]
agent = {host}:{agent}
drain_delay = 2

[web]
listen = {host}:{port}
protocol = cgi
proxy_protocol = v2
proxy_from = 127.0.0.1
exec = {dir}/addr
"""

FILES = {
    # ok only when the header was believed
    "ok": (('#!/bin/sh\n[ "$TCPREMOTEIP" = %s ] && echo ok\n' % CLIENT).encode(), 0o755),
    "addr": (b'#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" "$REMOTE_ADDR"\n',
             0o755),
}


def gateway(template, host):
    """A gateway on host, its route and agent on free ports of it."""
    for _ in range(5):
        text = template.replace("{host}", host).replace(
            "{port}", str(hh.free_port(host))).replace("{agent}", str(hh.free_port(host)))
        g = gw.Gateway(text, start=False, files=FILES)
        try:
            g.start()
            return g
        except AssertionError:
            g.expected_status = None    # a port was taken meanwhile
            g.close()
    raise AssertionError("no gateway on " + host)


def server(name, g, route):
    host, port = g.addr(route)
    agent = gw.split_addr(g.wait_event("agent")[0]["addr"])[1]
    return haproxy.Server(name, host, port, proxy_v2=True, source="127.0.0.1",
                          check_port=agent, agent_port=agent)


def ask_raw(addr):
    return lh.ask_raw(CLIENT, addr)


def ask_http(addr):
    return lh.ask_http(CLIENT, addr)


def drain_one_of_two(template, route, ask, good, mode):
    a, b = gateway(template, HOSTS[0]), gateway(template, HOSTS[1])
    with a, b, haproxy.HAProxy([server("a", a, route), server("b", b, route)],
                               mode=mode) as h:
        gw.wait_for(lambda: h.status("a") == h.status("b") == "UP", 10, "both UP")
        with Load(lambda: ask(h.addr()), good) as load:
            # Both serve before the drain.
            for g in (a, b):
                g.wait_event("exit", 5, route=route)
            a.kill(signal.SIGTERM)
            a.wait_event("drain")
            h.wait_status("a", "DRAIN")
            # haproxy saw the drain while a still listened and had not
            # begun to stop.
            assert not a.events("stop"), a.log()
            assert gw.listener_inode(a.addr(route)), "a's listener closed early"
            a.wait_event("stop", timeout=10)
            assert a.wait_exit() == 0
            h.wait_status("a", "DOWN")
            # b goes on serving once a is gone.
            n = len(b.events("exit", route=route))
            b.wait_event("exit", n + 10, route=route)
        assert not load.failures, "%d of %d failed:\n%s\nhaproxy:\n%s" % (
            len(load.failures), load.count(), "\n".join(load.failures[:20]), h.log())
        # Nothing was cut short on the gateways' side either: no
        # connection refused or reset, every child exited 0.
        for g in (a, b):
            assert not g.events("refuse") and not g.events("gone"), g.log()
            assert {e["status"] for e in g.events("exit", route=route)} == {"0"}, g.log()
        for name in ("a", "b"):
            st = h.stat(name)
            errors = {k: st[k] for k in ("econ", "eresp", "wretr", "wredis")
                      if st[k] not in ("", "0")}
            assert not errors, (name, errors, h.log())
        # Every child was spawned for a client of ours, as the header
        # said, haproxy's own connection being via=.
        ports = set(load.ports)
        spawns = a.events("spawn", route=route) + b.events("spawn", route=route)
        assert len(spawns) >= 10, spawns
        for sp in spawns:
            host, port = gw.split_addr(sp["peer"])
            assert host == CLIENT and port in ports, sp
            assert sp["via"].startswith("127.0.0.1:"), sp
        # The drain came before the stop, which came at least the delay
        # later, and a spawned nothing after the stop.
        kinds = [e["event"] for e in a.events() if e.get("event") in ("drain", "stop", "spawn")]
        assert kinds.index("drain") < kinds.index("stop"), kinds
        assert "spawn" not in kinds[kinds.index("stop"):], kinds
        gap = seconds(a.events("stop")[0]) - seconds(a.events("drain")[0])
        assert 1.9 <= gap <= 4, "stopped %.3f s after the drain began" % gap


def test_tcp_drain_behind_haproxy():
    drain_one_of_two(RAW, "ok", ask_raw, lambda out: out == b"ok\n", "tcp")


def test_http_drain_behind_haproxy():
    drain_one_of_two(CGI, "web", ask_http, lh.http_says(CLIENT.encode() + b"\n"), "http")


if __name__ == "__main__":
    gw.main(globals())
