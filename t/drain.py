"""drain ROUTE|all and resume through the control socket: a drained raw
route stops accepting while its running children finish, its clients
waiting in the kernel's backlog (not refused) until resume; on a
listener HTTP routes share, a drained route's requests are answered 503
with Retry-After while the others are served; a reload keeps a route
drained, by name."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import gw  # noqa: E402
import http_helpers as hh  # noqa: E402
from ctl_helpers import conns, ctl, ctl_fails, ctl_ok, status  # noqa: E402
from limits_helpers import recv_all, recv_until  # noqa: E402

CGI = b"""#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "route $GATEWAY_ROUTE"
"""

CONFIG = """
[gateway]
control = unix:ctl.sock

[hold]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c "echo started; read x; echo got $x"
stderr = null

[echo]
listen = 127.0.0.1:0
exec = /bin/echo
args = {word}

[pa]
listen = unix:{dir}/http.sock
protocol = cgi
path = /a
exec = cgi.sh

[pb]
listen = unix:{dir}/http.sock
protocol = cgi
path = /b
exec = cgi.sh
"""

FILES = {"cgi.sh": (CGI, 0o755)}


def config(word="v1"):
    return CONFIG.replace("{word}", word)


def accept_queue(addr):
    """Clients waiting in a TCP listener's backlog, not yet accepted: the
    rx_queue /proc/net/tcp shows for a socket in LISTEN."""
    port = "%04X" % addr[1]
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1].endswith(":" + port) and fields[3] == "0A":
                return int(fields[4].split(":")[1], 16)
    raise AssertionError("no listener on port %d" % addr[1])


def round_trip(g):
    """An answer from another route: the loop has gone round since."""
    assert gw.talk(g.addr("echo")).startswith(b"v")


def test_drained_raw_route_keeps_clients_in_the_backlog():
    with gw.Gateway(config(), files=FILES) as g:
        addr = g.addr("hold")
        a = g.connect("hold")
        assert recv_until(a, b"started\n") == b"started\n"
        assert ctl_ok(g, "drain", "hold") == ["route hold draining"]
        top, routes = status(g)
        assert routes["hold"]["state"] == "draining" and top["state"] == "serving", routes
        assert routes["echo"]["state"] == "serving", routes
        b = gw.connect(addr)                 # the handshake is the kernel's
        gw.wait_for(lambda: accept_queue(addr) == 1, 10, "the client in the backlog")
        round_trip(g)
        assert len(g.events("spawn", route="hold")) == 1, g.log()
        # The running child goes on to its end.
        a.sendall(b"a\n")
        assert recv_all(a) == b"got a\n"
        a.close()
        g.wait_event("exit", route="hold")
        round_trip(g)
        assert accept_queue(addr) == 1 and len(conns(g, "hold")) == 0
        assert not g.events("refuse"), g.log()
        assert ctl_ok(g, "resume", "hold") == ["route hold serving"]
        assert recv_until(b, b"started\n") == b"started\n"
        b.sendall(b"b\n")
        assert recv_all(b) == b"got b\n"
        b.close()
        assert g.wait_event("admin", cmd="drain")[0]["arg"] == "hold"


def test_http_drain_answers_503_for_that_route_only():
    with gw.Gateway(config(), files=FILES) as g:
        path = os.path.join(g.dir, "http.sock")
        assert hh.get(path, "/a").body == b"route pa\n"
        ctl_ok(g, "drain", "pa")
        r = hh.get(path, "/a/x")
        assert r.status == 503 and r.header("Retry-After"), r.raw
        e = g.wait_event("refuse", route="pa")[0]
        assert e["reason"] == "drained", e
        r = hh.get(path, "/b")
        assert r.status == 200 and r.body == b"route pb\n", r.raw
        _, routes = status(g)
        assert routes["pa"]["state"] == "draining" and routes["pb"]["state"] == "serving"
        ctl_ok(g, "resume", "pa")
        assert hh.get(path, "/a").status == 200
        assert len(g.events("refuse")) == 1, g.log()


def test_a_listener_whose_routes_are_all_drained_pauses():
    with gw.Gateway(config(), files=FILES) as g:
        path = os.path.join(g.dir, "http.sock")
        lines = ctl_ok(g, "drain", "all")
        assert sorted(lines) == ["route echo draining", "route hold draining",
                                 "route pa draining", "route pb draining"], lines
        s = gw.connect(path)
        s.sendall(b"GET /b HTTP/1.1\r\nHost: test.example\r\n\r\n")
        gw.wait_for(lambda: g.events("admin", cmd="drain"), 10, "the drain logged")
        ctl_ok(g, "status")                  # the loop has gone round
        assert conns(g) == [] and not g.events("refuse") and not g.events("spawn")
        ctl_ok(g, "resume", "all")
        r = hh.Response(recv_all(s))
        assert r.status == 200 and r.body == b"route pb\n", r.raw
        s.close()


def test_reload_keeps_a_route_drained():
    with gw.Gateway(config(), files=FILES) as g:
        ctl_ok(g, "drain", "hold")
        with open(g.config + ".new", "w") as f:
            f.write(config("v2").format(dir=g.dir))
        os.replace(g.config + ".new", g.config)
        ctl_ok(g, "reload")
        assert gw.talk(g.addr("echo")) == b"v2\n"
        _, routes = status(g)
        assert routes["hold"]["state"] == "draining", routes
        b = g.connect("hold")
        gw.wait_for(lambda: accept_queue(g.addr("hold")) == 1, 10, "the client in the backlog")
        ctl_ok(g, "resume", "hold")
        assert recv_until(b, b"started\n") == b"started\n"
        b.close()


def test_drain_errors():
    with gw.Gateway(config(), files=FILES) as g:
        assert "no route nosuch" in ctl_fails(g, "drain", "nosuch")
        assert "no route nosuch" in ctl_fails(g, "resume", "nosuch")
        rc, out, err = ctl(g, "drain")
        assert rc == 1 and "usage" in err, (rc, out, err)
        _, routes = status(g)
        assert all(r["state"] == "serving" for r in routes.values()), routes


if __name__ == "__main__":
    gw.main(globals())
