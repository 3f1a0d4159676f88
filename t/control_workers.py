"""The control socket with workers = 2: conns lists the connections the
main process handed to its workers, with their children's pids; kill
reaches the child through its worker (the exit says reason=admin); a
child taken over from a worker that died is listed and ended too."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import gw  # noqa: E402
from ctl_helpers import conns, ctl_fails, ctl_ok, status  # noqa: E402
from limits_helpers import recv_all, recv_until  # noqa: E402

WEB = b"""#!/bin/sh
printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nstarted\\n'
read x
echo "got $x"
"""

CONFIG = """
[gateway]
workers = 2
control = unix:{dir}/ctl.sock
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
"""

FILES = {"web.sh": (WEB, 0o755)}
HEAD = b"GET / HTTP/1.1\r\nHost: test.example\r\n\r\n"


def started(g, route, n, data=b""):
    s = g.connect(route)
    if data:
        s.sendall(data)
    recv_until(s, b"started\n")
    e = g.wait_event("spawn", n, route=route)[n - 1]
    return s, e["conn"], e["pid"]


def test_conns_and_status_see_the_workers_connections():
    with gw.Gateway(CONFIG, files=FILES) as g:
        a, aid, apid = started(g, "hold", 1)
        b, bid, bpid = started(g, "hold", 2)
        w, wid, wpid = started(g, "web", 1, HEAD)
        rows = {r[0]: r for r in conns(g)}
        assert sorted(rows) == sorted([aid, bid, wid], key=int), rows
        assert rows[aid][1:4] == ["hold", "127.0.0.1:%d" % a.getsockname()[1], apid], rows
        assert rows[bid][3] == bpid and rows[wid][3] == wpid, rows
        assert rows[wid][1] == "web", rows
        assert all(r[5] == "running" for r in rows.values()), rows
        top, routes = status(g)
        assert top["workers"] == "2" and top["children"] == "3", top
        assert routes["hold"]["children"] == "2", routes
        for s in (a, b, w):
            s.sendall(b"q\n")
            assert recv_all(s).endswith(b"got q\n")
            s.close()


def test_kill_through_the_worker():
    with gw.Gateway(CONFIG, files=FILES) as g:
        a, aid, apid = started(g, "hold", 1)
        ctl_ok(g, "kill", aid)
        e = g.wait_event("exit", conn=aid)[0]
        assert e["reason"] == "admin" and e["pid"] == apid, e
        assert recv_all(a) == b""
        a.close()
        w, wid, _ = started(g, "web", 1, HEAD)
        ctl_ok(g, "kill", wid)
        assert g.wait_event("exit", conn=wid)[0]["reason"] == "admin"
        w.close()
        gw.wait_for(lambda: conns(g) == [], 10, "no connection left")
        assert "no connection %s" % aid in ctl_fails(g, "kill", aid)


def test_a_dead_workers_child_is_listed_and_killed():
    with gw.Gateway(CONFIG, files=FILES) as g:
        a, aid, apid = started(g, "hold", 1)
        workers = [int(e["pid"]) for e in g.events("worker")]
        # The worker whose child this is: the child's parent.
        with open("/proc/%s/stat" % apid) as f:
            worker = int(f.read().rsplit(")", 1)[1].split()[1])
        assert worker in workers, (worker, workers)
        os.kill(worker, signal.SIGKILL)
        gw.wait_for(lambda: len(g.events("worker")) > 2, 10, "the worker to restart")
        rows = {r[0]: r for r in conns(g)}
        assert rows[aid][3] == apid and rows[aid][5] == "running", rows
        ctl_ok(g, "kill", aid)
        assert g.wait_event("exit", conn=aid)[0]["reason"] == "admin"
        a.close()


if __name__ == "__main__":
    gw.main(globals())
