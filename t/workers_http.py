"""HTTP routes with workers > 1: the main process reads the PROXY header
and the request head, chooses the route and checks the limits; the head
goes with the socket to a worker, which parses it again and runs the cgi
or nph child, its response relay and its chunked body feed.

Every case of http_routes.py, proxy_protocol.py and git_http_backend.py
runs again here with `workers = 2`; the cases below add what only
workers show: which process is the child's parent, limits counted across
workers, and a worker killed in the middle of a response."""
import os
import signal
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import gw  # noqa: E402
import http_helpers as hh  # noqa: E402
from limits_helpers import recv_until  # noqa: E402

import git_http_backend  # noqa: E402
import http_routes  # noqa: E402
import proxy_protocol  # noqa: E402

WORKERS = "[gateway]\nworkers = 2\n"
for m in (http_routes, proxy_protocol, git_http_backend):
    m.CONFIG = WORKERS + m.CONFIG

CONFIG = WORKERS + """
[who]
listen = 127.0.0.1:{port}
listen = unix:web.sock
protocol = cgi
path = /who
exec = who

[nph]
# In the other order than [who]'s: the worker must find the address.
listen = unix:web.sock
listen = 127.0.0.1:{port}
protocol = nph
path = /nph
exec = nph

[slow]
listen = 127.0.0.1:{port}
protocol = cgi
path = /slow
exec = slow
max_children = 2
on_busy = refuse

[hold]
listen = 127.0.0.1:{port}
protocol = cgi
path = /hold
exec = hold
# stdin is the socket: the program reads the client's line after the head.
request_body = socket
"""

WHO = b"""#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "ppid=$PPID route=$GATEWAY_ROUTE conn=$GATEWAY_CONN path=$PATH_INFO ipc=$IPCLOCALPATH"
"""

NPH = b"""#!/bin/sh
printf 'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nppid=%s ipc=%s\\n' "$PPID" "$IPCLOCALPATH"
"""

SLOW = b"""#!/bin/sh
sleep 1
printf 'Content-Type: text/plain\\r\\n\\r\\nslow done\\n'
"""

# Sends its header block and a first line, then waits for a line on
# stdin (the client's, after the head) before it finishes.
HOLD = b"""#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\nfirst\\n'
read x
echo "then $x"
"""

FILES = {"who": (WHO, 0o755), "nph": (NPH, 0o755), "slow": (SLOW, 0o755),
         "hold": (HOLD, 0o755)}


def start():
    g, port = hh.gateway_on_free_port(CONFIG, FILES)
    g.wait_event("worker", 2)
    return g, port


def worker_pids(g):
    return {int(e["pid"]) for e in g.events("worker")}


def field(body, name):
    for word in body.decode().split():
        k, _, v = word.partition("=")
        if k == name:
            return v
    raise AssertionError("no %s= in %r" % (name, body))


def test_children_run_in_both_workers():
    """cgi and nph children are the workers' children, not the main
    process's, and requests reach both workers."""
    g, port = start()
    with g:
        addr = ("127.0.0.1", port)
        workers = worker_pids(g)
        parents = set()
        for i in range(6):
            r = hh.get(addr, "/who/x%d" % i)
            assert r.status == 200, r
            assert field(r.body, "path") == "/x%d" % i
            parents.add(int(field(r.body, "ppid")))
            r = hh.get(addr, "/nph")
            assert r.status == 200, r
            parents.add(int(field(r.body, "ppid")))
        assert parents == workers, (parents, workers)
        ids = [e["conn"] for e in g.events("spawn")]
        assert len(ids) == 12 and len(set(ids)) == 12, ids
        assert len(g.events("response")) == 6
        assert g.stop() == 0


def test_shared_unix_socket_in_workers():
    """Two HTTP routes sharing one Unix socket: the worker's child learns
    the socket's path whichever route the path chose."""
    g, port = start()
    with g:
        path = os.path.join(g.dir, "web.sock")
        for target, route in (("/who/u", "who"), ("/nph", "nph")):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(30)
            s.connect(path)
            s.sendall(("GET %s HTTP/1.0\r\n\r\n" % target).encode())
            r = hh.Response(hh.recv_all(s))
            s.close()
            assert r.status == 200, r
            assert field(r.body, "ipc") == path, r
            assert int(field(r.body, "ppid")) in worker_pids(g), r
            spawn = g.wait_event("spawn", route=route)[0]
            assert spawn.get("uid") == str(os.getuid()), spawn
        assert g.stop() == 0


def test_route_limit_holds_across_workers():
    """Six requests at once on a max_children = 2 route: two are served,
    four answered 503 by the main process; never three children."""
    g, port = start()
    with g:
        addr = ("127.0.0.1", port)
        out = [None] * 6

        def client(i):
            out[i] = hh.get(addr, "/slow", timeout=60)
        threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        statuses = sorted(r.status for r in out)
        assert statuses == [200, 200, 503, 503, 503, 503], out
        assert all(r.body == b"slow done\n" for r in out if r.status == 200)
        assert len(g.events("refuse", reason="busy")) == 4
        assert len(g.events("spawn", route="slow")) == 2
        assert g.stop() == 0


def test_killed_worker_mid_response():
    """A worker killed while its cgi child runs: the main process takes the
    child over and reaps it, the worker is replaced, and the next requests
    are served."""
    g, port = start()
    with g:
        addr = ("127.0.0.1", port)
        c = gw.connect(addr, 30)
        c.sendall(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        assert recv_until(c, b"first\n")
        child = int(g.wait_event("spawn", route="hold")[0]["pid"])
        with open("/proc/%d/stat" % child) as f:
            parent = int(f.read().split(") ")[1].split()[1])
        assert parent in worker_pids(g)
        os.kill(parent, signal.SIGKILL)
        g.wait_event("worker", 3)
        # The relay died with the worker: the child's output has nowhere
        # to go, and the client sees the connection end.
        c.sendall(b"x\n")
        c.settimeout(30)
        while c.recv(4096):
            pass
        c.close()
        ex = g.wait_event("exit", route="hold", timeout=20)[0]
        assert ex["pid"] == str(child), ex
        gw.wait_for(lambda: child not in [p for p, _ in g.children()], 20,
                    "the taken-over child to be reaped")
        for i in range(4):
            r = hh.get(addr, "/who/after%d" % i)
            assert r.status == 200 and field(r.body, "path") == "/after%d" % i, r
        assert g.stop() == 0


# Waits of the main process alone, the same with workers or without:
# not worth their seconds twice.
MAIN_ONLY = {"test_head_not_finished_408", "test_no_header_within_5s",
             "test_header_in_small_pieces"}

if __name__ == "__main__":
    cases = {}
    for m in (http_routes, proxy_protocol, git_http_backend):
        for n, f in vars(m).items():
            if n.startswith("test_") and callable(f) and n not in MAIN_ONLY:
                cases["test_%s__%s" % (m.__name__, n[5:])] = f
    cases.update({n: f for n, f in globals().items() if n.startswith("test_")})
    gw.main(cases)
