"""The control socket (control = unix:PATH) and gatewayctl: status and
conns with live connections, kill through the one kill path
(reason=admin), reload with its outcome, the line protocol as socat
speaks it, who may use it (root and the gateway's own user), and that it
answers at max_children and with no descriptor free."""
import os
import resource
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import gw  # noqa: E402
from ctl_helpers import (conns, control_path, ctl_binary, ctl_fails,  # noqa: E402
                         ctl_ok, socat, status)
from limits_helpers import recv_all, recv_until  # noqa: E402

# An nph program that answers its head, then waits for a line on the
# socket (request_body = socket: stdin is the socket itself).
WEB = b"""#!/bin/sh
printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nstarted\\n'
read x
echo "got $x"
"""

CONFIG = """
[gateway]
control = unix:ctl.sock
max_children = {max}
kill_grace = 1

[hold]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c "echo started; read x; echo got $x"
stderr = null

[web]
listen = 127.0.0.1:0
protocol = nph
request_body = socket
exec = web.sh

[echo]
listen = 127.0.0.1:0
exec = /bin/echo
args = {word}
"""

FILES = {"web.sh": (WEB, 0o755)}
HEAD = b"GET / HTTP/1.1\r\nHost: test.example\r\n\r\n"


def config(max_children=8, word="v1", extra=""):
    return CONFIG.replace("{max}", str(max_children)).replace("{word}", word) \
        .replace("[gateway]\n", "[gateway]\n" + extra)


def gateway(max_children=8, extra="", **kw):
    return gw.Gateway(config(max_children, extra=extra), files=FILES, **kw)


def hold(g):
    """A raw client whose child runs: (socket, conn id, pid)."""
    n = len(g.events("spawn", route="hold"))
    s = g.connect("hold")
    assert recv_until(s, b"started\n") == b"started\n"
    e = g.wait_event("spawn", n + 1, route="hold")[n]
    return s, e["conn"], e["pid"]


def web(g):
    """An HTTP request whose child runs: (socket, conn id, pid)."""
    n = len(g.events("spawn", route="web"))
    s = g.connect("web")
    s.sendall(HEAD)
    recv_until(s, b"started\n")
    e = g.wait_event("spawn", n + 1, route="web")[n]
    return s, e["conn"], e["pid"]


def rows_by_id(g, *route):
    return {r[0]: r for r in conns(g, *route)}


def test_status_says_routes_limits_and_state():
    with gateway() as g:
        path = control_path(g)
        assert path == os.path.join(g.dir, "ctl.sock"), path
        st = os.lstat(path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        s, _, _ = hold(g)
        top, routes = status(g)
        assert top["version"] == g.events("start")[0]["version"], top
        assert top["pid"] == str(g.pid()) and top["state"] == "serving", top
        assert top["config"] == g.config and top["max_children"] == "8", top
        assert top["children"] == "1" and int(top["uptime"]) >= 0, top
        assert top["loaded"].endswith("Z"), top
        assert set(routes) == {"hold", "web", "echo"}, routes
        for name in routes:
            addr = g.events("listen", route=name)[0]["addr"]
            assert routes[name]["listen"] == addr, (routes, addr)
            assert routes[name]["state"] == "serving", routes
        assert routes["hold"]["children"] == "1" and routes["web"]["children"] == "0"
        assert routes["web"]["protocol"] == "nph" and routes["hold"]["protocol"] == "raw"
        assert routes["hold"]["max_children"] == "0", routes
        admin = g.wait_event("admin", cmd="status")[0]
        assert admin["uid"] == str(os.getuid()) and admin["result"] == "ok", admin
        assert int(admin["pid"]) > 0, admin
        s.sendall(b"x\n")
        assert recv_all(s) == b"got x\n"
        s.close()
    # Stopped: the socket file is gone.
    assert not os.path.exists(path)


def test_control_mode():
    with gateway(extra="control_mode = 0660\n") as g:
        st = os.lstat(control_path(g))
        assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)


def test_conns_lists_raw_and_http_connections():
    with gateway() as g:
        a, aid, apid = hold(g)
        b, bid, bpid = web(g)
        c = g.connect("web")
        c.sendall(b"GET / HT")        # its head still being read
        cport = c.getsockname()[1]
        gw.wait_for(lambda: any(r[5] == "reading" for r in conns(g)), 10,
                    "the third connection to be listed")
        rows = rows_by_id(g)
        assert len(rows) == 3, rows
        assert rows[aid][1:4] == ["hold", "127.0.0.1:%d" % a.getsockname()[1], apid], rows
        assert rows[aid][5] == "running" and int(rows[aid][4]) >= 0, rows
        assert rows[bid][1:4] == ["web", "127.0.0.1:%d" % b.getsockname()[1], bpid], rows
        assert rows[bid][5] == "running", rows
        cid = [i for i in rows if i not in (aid, bid)][0]
        assert rows[cid][1:4] == ["web", "127.0.0.1:%d" % cport, "-"], rows
        assert rows[cid][5] == "reading", rows
        # Sorted by id, one route on request, an unknown route refused.
        assert list(rows) == sorted(rows, key=int), rows
        assert list(rows_by_id(g, "hold")) == [aid]
        assert "no route nosuch" in ctl_fails(g, "conns", "nosuch")
        # socat sees the same lines, then ok.
        lines = socat(g, "conns\n")
        assert lines[-1] == "ok" and [x.split(" ")[0] for x in lines[:-1]] == list(rows), lines
        for s in (a, b):
            s.sendall(b"y\n")
            assert recv_all(s).endswith(b"got y\n")
            s.close()
        c.close()


def test_kill_ends_the_child_with_reason_admin():
    with gateway() as g:
        a, aid, apid = hold(g)
        assert ctl_ok(g, "kill", aid) == []
        e = g.wait_event("exit", conn=aid)[0]
        assert e["reason"] == "admin" and e["pid"] == apid and e["signal"] == "TERM", e
        assert recv_all(a) == b""
        a.close()
        admin = g.wait_event("admin", cmd="kill")[0]
        assert admin["arg"] == aid and admin["result"] == "ok", admin
        # An HTTP request's child alike.
        b, bid, _ = web(g)
        ctl_ok(g, "kill", bid)
        assert g.wait_event("exit", conn=bid)[0]["reason"] == "admin"
        b.close()
        # No child yet: the client is closed, logged reason=admin.
        c = g.connect("web")
        c.sendall(b"GET / HT")
        gw.wait_for(lambda: conns(g, "web"), 10, "the connection being read")
        cid = conns(g, "web")[0][0]
        ctl_ok(g, "kill", cid)
        assert g.wait_event("refuse", conn=cid)[0]["reason"] == "admin"
        assert recv_all(c) == b""
        c.close()
        assert "no connection 99999" in ctl_fails(g, "kill", "99999")
        assert "kill ID" in ctl_fails(g, "kill")
        assert ctl_fails(g, "kill", "x1")
        assert g.wait_event("admin", result="error")


def test_reload_answers_its_outcome():
    with gateway() as g:
        assert gw.talk(g.addr("echo")) == b"v1\n"
        with open(g.config + ".new", "w") as f:
            f.write(config(word="v2").format(dir=g.dir))
        os.replace(g.config + ".new", g.config)
        assert ctl_ok(g, "reload") == []
        g.wait_event("reload")
        assert gw.talk(g.addr("echo")) == b"v2\n"
        with open(g.config, "a") as f:
            f.write("[broken\n")
        err = ctl_fails(g, "reload")
        assert "gateway.ini:" in err, err
        g.wait_event("reload_error")
        assert g.wait_event("admin", cmd="reload", result="error")
        # The running config serves on.
        assert gw.talk(g.addr("echo")) == b"v2\n"


def test_raw_protocol_through_socat():
    with gateway() as g:
        lines = socat(g, "status\n")
        assert lines[0].startswith("version ") and lines[-1] == "ok", lines
        assert socat(g, "frobnicate\n")[-1].startswith("error: unknown command"), lines
        assert socat(g, "kill\n") == ["error: usage: kill ID"]
        assert socat(g, "status now\n") == ["error: takes no argument"]
        assert socat(g, "x" * 300 + "\n")[-1].startswith("error: command line longer")
        # A line without its newline, ended by the client's EOF, counts.
        assert socat(g, "conns")[-1] == "ok"
        logged = g.wait_event("admin", line="frobnicate")[0]
        assert logged["result"] == "error", logged


def test_gatewayctl_usage_and_no_gateway():
    with gateway() as g:
        path = control_path(g)
        for args in ([], ["status", "a", "b"], ["-x", "status"]):
            p = subprocess.run([ctl_binary(), "-s", path] + args, capture_output=True,
                               text=True, timeout=10)
            assert p.returncode == 2 and "usage" in p.stderr, (args, p)
        p = subprocess.run([ctl_binary(), "-s", path + ".none", "status"],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 1 and "No such file" in p.stderr, p
        assert not g.events("admin")


def as_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def test_other_users_are_refused():
    gw.need_root()
    with gateway(extra="control_mode = 0666\n") as g:
        os.chmod(g.dir, 0o755)
        err = ctl_fails(g, "status", preexec_fn=as_nobody)
        assert "permission denied" in err, err
        e = g.wait_event("admin", uid="65534")[0]
        assert e["result"] == "error" and e["error"] == "permission denied", e
        assert not g.events("admin", cmd="status")
        # Root may.
        assert ctl_ok(g, "status")[-1].startswith("route ")


def test_the_gateways_own_user_may():
    gw.need_root()
    g = gateway(start=False)
    with g:
        os.chmod(g.dir, 0o777)
        g.start(preexec_fn=as_nobody)
        lines = ctl_ok(g, "status", preexec_fn=as_nobody)
        assert lines[0].startswith("version "), lines
        assert g.wait_event("admin", uid="65534", result="ok")


def test_answers_at_max_children():
    with gateway(max_children=2) as g:
        a, aid, _ = hold(g)
        b, bid, _ = web(g)
        queued = g.connect("hold")          # in the backlog: not accepted
        top, _ = status(g)
        assert top["children"] == "2" and top["max_children"] == "2", top
        rows = rows_by_id(g)
        assert sorted(rows) == sorted([aid, bid], key=int), rows
        assert all(r[5] == "running" for r in rows.values()), rows
        ctl_ok(g, "kill", aid)
        g.wait_event("exit", conn=aid)
        # The place it frees goes to the client in the backlog.
        assert recv_until(queued, b"started\n") == b"started\n"
        for s in (a, b, queued):
            s.close()


def test_conns_shows_a_request_waiting_for_its_route():
    g = gw.Gateway(config().replace("exec = web.sh\n", "exec = web.sh\nmax_children = 1\n"),
                   files=FILES)
    with g:
        b, bid, _ = web(g)
        d = g.connect("web")
        d.sendall(HEAD)                      # read, then waits for a place
        gw.wait_for(lambda: any(r[5] == "waiting" for r in conns(g)), 10,
                    "the request to wait for a place")
        rows = rows_by_id(g)
        did = [i for i in rows if i != bid][0]
        assert rows[did][1] == "web" and rows[did][3] == "-", rows
        ctl_ok(g, "kill", did)
        assert g.wait_event("refuse", conn=did)[0]["reason"] == "admin"
        b.close()
        d.close()


LIMIT = 32


def low_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def test_answers_with_no_descriptor_free():
    """The gateway out of descriptors (its limit lowered to what it holds):
    clients of the routes wait, and the control socket answers, twice (the
    descriptor kept in reserve is taken again after each client)."""
    with gateway(preexec_fn=low_limit) as g:
        s, _, _ = hold(g)                   # libuv's first spawn opens its own
        s.sendall(b"w\n")
        assert recv_all(s) == b"got w\n"
        s.close()
        g.wait_event("exit")
        last = [None]

        def settled():
            now = g.fds()
            same = now == last[0] and not g.children()
            last[0] = now
            return same
        gw.wait_for(settled, 10, "the gateway's descriptors to settle")
        fds = {int(f) for f in g.fds()}
        lowest_free = min(set(range(LIMIT + 1)) - fds)
        resource.prlimit(g.pid(), resource.RLIMIT_NOFILE, (lowest_free, LIMIT))
        waiting = g.connect("hold")
        err = g.wait_event("accept_error", timeout=20)[0]
        assert "Too many open files" in err["error"], err
        for _ in range(2):
            top, _ = status(g)
            assert top["state"] == "serving", top
        assert len(g.events("admin", cmd="status")) == 2
        resource.prlimit(g.pid(), resource.RLIMIT_NOFILE, (LIMIT, LIMIT))
        assert recv_until(waiting, b"started\n") == b"started\n"
        waiting.sendall(b"z\n")
        assert recv_all(waiting) == b"got z\n"
        waiting.close()


if __name__ == "__main__":
    gw.main(globals())
