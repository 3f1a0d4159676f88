"""Several gateways behind one HAProxy, restarted one at a time under load
with nothing lost. HAProxy runs the shipped etc/haproxy/gatewayd.cfg (a
raw TCP and an HTTP frontend, send-proxy-v2, health and agent checks, its
timeouts and retries) with the test's addresses and short check
intervals; three gateways, on 127.0.0.2, .3 and .4 as on three hosts,
run the config README pairs with it: both routes, proxy_from haproxy's
address, agent, drain_delay. Under steady load on both frontends one
gateway is stopped (SIGTERM: it drains, then exits) and started again on
the same addresses, then a second one is upgraded in place (SIGUSR2: the
same process re-executes its binary, keeping its listeners and
children): no client sees a failure, haproxy
counts no error and no retry, every child saw the real client
(127.0.0.9), and each gateway served both routes before and after its
restart. Again with workers = auto. Where 127.0.0.2 cannot be bound,
every gateway and the clients use 127.0.0.1."""
import atexit
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import gw  # noqa: E402
import haproxy  # noqa: E402
import http_helpers as hh  # noqa: E402
import load_helpers as lh  # noqa: E402

CLIENT, HOSTS = lh.hosts(3)
NAMES = ("a", "b", "c")

# Each route of the gateways, the shipped file's frontend and backend
# for it.
ROUTES = {"raw": ("raw", "gatewayd_raw"), "web": ("web", "gatewayd_web")}

# haproxy connects to the gateways from 127.0.0.1 (source 127.0.0.1 on
# its server lines); the clients come from 127.0.0.9, so a child that
# sees 127.0.0.9 was told by the header. drain_delay is longer than the
# agent-inter the test gives haproxy (100 ms), as README asks.
CONFIG = """
[gateway]
agent = {host}:{agent}
drain_delay = 2
workers = {workers}

[raw]
listen = {host}:{raw}
proxy_protocol = v2
proxy_from = 127.0.0.1
exec = {dir}/ok

[web]
listen = {host}:{web}
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


def gateway(host, workers):
    """A gateway on host, its routes and agent on free ports of it."""
    for _ in range(5):
        text = CONFIG.replace("{host}", host).replace("{workers}", str(workers))
        for key in ("{agent}", "{raw}", "{web}"):
            text = text.replace(key, str(hh.free_port(host)))
        g = gw.Gateway(text, start=False, files=FILES)
        try:
            g.start()
            return g
        except AssertionError:
            g.expected_status = None    # a port was taken meanwhile
            g.close()
    raise AssertionError("no gateway on " + host)


def servers(gateways):
    """{backend: [Server]}: each gateway in both backends, the server lines
    saying only what the shipped default-server lines cannot know."""
    out = {}
    for route, (_, backend) in ROUTES.items():
        out[backend] = []
        for name, g in zip(NAMES, gateways):
            host, port = g.addr(route)
            agent = gw.split_addr(g.wait_event("agent")[0]["addr"])[1]
            out[backend].append(haproxy.Server(
                name, host, port, source="127.0.0.1",
                options="port %d agent-port %d" % (agent, agent)))
    return out


def events_since(g, mark, name, **match):
    """The gateway's events of that kind after its first mark log lines."""
    return [d for _, d in g.lines()[mark:] if d.get("event") == name and
            all(d.get(k) == str(v) for k, v in match.items())]


def wait_served(g, mark, what):
    """Waits until the gateway has served both routes since mark."""
    for route in ROUTES:
        gw.wait_for(lambda: events_since(g, mark, "exit", route=route), 10,
                    lambda: "%s to serve %s %s:\n%s" % (g.config, route, what, g.log()))


def wait_all(h, name, status, timeout=10):
    """Waits until haproxy has the server in this status in every backend."""
    gw.wait_for(lambda: all(h.status(name, be) == status for _, be in ROUTES.values()),
                timeout, lambda: "%s to be %s in %s; haproxy's log:\n%s" % (
                    name, status, [h.status(name, be) for _, be in ROUTES.values()],
                    h.log()))


def stop_and_start(g, h, name):
    """A rolling restart's turn: SIGTERM, so that the gateway drains for
    drain_delay (haproxy sees DRAIN while it still listens and sends it
    nothing new), stops, exits 0 and is DOWN; then the same config is
    started again, on the same addresses."""
    mark = len(g.lines())
    g.kill(signal.SIGTERM)
    gw.wait_for(lambda: events_since(g, mark, "drain"), 10, lambda: "the drain:\n" + g.log())
    for _, be in ROUTES.values():
        h.wait_status(name, "DRAIN", backend=be)
    # haproxy saw the drain while the gateway still listened and had not
    # begun to stop.
    assert not events_since(g, mark, "stop"), g.log()
    for route in ROUTES:
        assert gw.listener_inode(g.addr(route)), "%s's %s listener closed early" % (name, route)
    gw.wait_for(lambda: events_since(g, mark, "stop"), 10, lambda: "the stop:\n" + g.log())
    assert g.wait_exit() == 0
    wait_all(h, name, "DOWN")
    # The stop came at least the delay after the drain began, and nothing
    # was spawned after it.
    kinds = [d["event"] for _, d in g.lines()[mark:]
             if d.get("event") in ("drain", "stop", "spawn")]
    assert kinds.index("drain") < kinds.index("stop"), kinds
    assert "spawn" not in kinds[kinds.index("stop"):], kinds
    gap = lh.seconds(events_since(g, mark, "stop")[0]) - \
        lh.seconds(events_since(g, mark, "drain")[0])
    assert 1.9 <= gap <= 4, "stopped %.3f s after the drain began" % gap
    g.start()


def upgrade_in_place(g, h, name):
    """An upgrade's turn: SIGUSR2, and the gateway re-executes its binary
    in the same process: the same pid, the same listening sockets, never
    DOWN for haproxy; with workers, the old ones are replaced one at a
    time."""
    mark = len(g.lines())
    pid = g.pid()
    inodes = {route: gw.listener_inode(g.addr(route)) for route in ROUTES}
    old_workers = len([1 for _, d in g.lines() if d.get("event") == "worker"]) - \
        len([1 for _, d in g.lines() if d.get("event") == "worker_replaced"])
    g.kill(signal.SIGUSR2)
    gw.wait_for(lambda: events_since(g, mark, "upgrade"), 20,
                lambda: "the upgrade:\n" + g.log())
    up = events_since(g, mark, "upgrade")[0]
    assert up["pid"] == str(pid) and g.proc.poll() is None, up
    assert {route: gw.listener_inode(g.addr(route)) for route in ROUTES} == inodes
    if old_workers:
        gw.wait_for(lambda: len(events_since(g, mark, "worker_replaced")) == old_workers,
                    20, lambda: "%d workers replaced:\n%s" % (old_workers, g.log()))
    assert not events_since(g, mark, "upgrade_error"), g.log()
    for _, be in ROUTES.values():
        assert h.status(name, be) == "UP", (name, be, h.status(name, be))


def cycle_under_load(g, h, name, action=stop_and_start):
    """One gateway's turn while the load runs: it serves both routes; then
    action(g, h, name) does to it what the turn is for (stop_and_start by
    default; an in-place upgrade would be another action), returning once
    the gateway serves again; haproxy then has it UP in every backend and
    sends it clients of both routes again."""
    wait_served(g, 0, "before its turn")
    action(g, h, name)
    mark = len(g.lines())
    wait_all(h, name, "UP")
    wait_served(g, mark, "after its turn")


def check_nothing_lost(gateways, h, loads):
    """What the clients, haproxy and the gateways saw once the load is
    over: no failure, no error or retry, every child exited 0 and was
    spawned for a client of ours, as the header said."""
    for route, load in loads.items():
        assert not load.failures, "%s: %d of %d failed:\n%s\nhaproxy:\n%s" % (
            route, len(load.failures), load.count(), "\n".join(load.failures[:20]), h.log())
    for name, g in zip(NAMES, gateways):
        assert not g.events("refuse") and not g.events("gone"), g.log()
        for route, (_, backend) in ROUTES.items():
            assert {e["status"] for e in g.events("exit", route=route)} == {"0"}, g.log()
            st = h.stat(name, backend)
            errors = {k: st[k] for k in ("econ", "eresp", "wretr", "wredis")
                      if st[k] not in ("", "0")}
            assert not errors, (backend, name, errors, h.log())
    for route, load in loads.items():
        ports = set(load.ports)
        spawns = [sp for g in gateways for sp in g.events("spawn", route=route)]
        assert len(spawns) >= 30, spawns
        for sp in spawns:
            host, port = gw.split_addr(sp["peer"])
            assert host == CLIENT and port in ports, sp
            assert sp["via"].startswith("127.0.0.1:"), sp


def restart_two_of_three(workers, actions=(stop_and_start, upgrade_in_place)):
    """Three gateways behind the shipped haproxy config under load on both
    frontends; the first and then the second gets its turn (actions: a
    rolling restart's, then an upgrade in place)."""
    t0 = time.monotonic()
    gateways = [gateway(host, workers) for host in HOSTS]
    with haproxy.HAProxy(servers(gateways), shipped=haproxy.SHIPPED) as h:
        for name in NAMES:
            wait_all(h, name, "UP")
        loads = {
            "raw": lh.Load(lambda: lh.ask_raw(CLIENT, h.addr("raw")), lambda out: out == b"ok\n"),
            "web": lh.Load(lambda: lh.ask_http(CLIENT, h.addr("web")),
                           lh.http_says(CLIENT.encode() + b"\n")),
        }
        with loads["raw"], loads["web"]:
            for name, g, action in zip(NAMES, gateways, actions):
                cycle_under_load(g, h, name, action)
            # The third, never restarted, served all along.
            wait_served(gateways[2], 0, "at all")
        check_nothing_lost(gateways, h, loads)
    # They drain together (drain_delay), not one after the other.
    for g in gateways:
        g.kill(signal.SIGTERM)
    for g in gateways:
        g.close()
    print("    3 gateways, workers = %s, one restarted, one upgraded: %d raw and %d http requests, "
          "none failed, in %.1f s" % (workers, loads["raw"].count(), loads["web"].count(),
                                      time.monotonic() - t0))


def test_shipped_config_is_valid():
    """haproxy -c accepts etc/haproxy/gatewayd.cfg as it is shipped, with
    nothing to warn about."""
    prog = gw.need_program("haproxy", "/usr/sbin/haproxy")
    p = subprocess.run([prog, "-c", "-f", haproxy.SHIPPED], capture_output=True, text=True,
                       timeout=30)
    said = p.stdout + p.stderr
    assert p.returncode == 0, said
    assert "Configuration file is valid" in said and "WARNING" not in said, said


def test_rolling_restart_under_load():
    restart_two_of_three(1)


def test_rolling_restart_under_load_with_workers():
    restart_two_of_three("auto")


if __name__ == "__main__":
    T0 = time.monotonic()
    atexit.register(lambda: print("several_gateways.py: %.1f s in all" % (time.monotonic() - T0)))
    gw.main(globals())
