"""The exit event carries what the child used, from the rusage of its own
wait: utime= and stime= (seconds, 3 decimals) and maxrss= (kB), in text
and JSON logs; a child taken over from a dead worker too. The uv_spawn
path, where libuv reaps the child without asking, leaves them out."""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from limits_helpers import recv_all, recv_until  # noqa: E402

# About 0.3 s of user CPU time: a loop that asks the clock rarely, so
# that nearly all of it is user time whatever the clock costs.
BURN = """#!{python}
import time
t = time.process_time()
while True:
    for i in range(20000):
        pass
    if time.process_time() - t >= 0.3:
        break
print("burnt")
"""

# 50 MB written, so resident.
ALLOC = """#!{python}
b = b"x" * (50 << 20)
print("allocated", len(b))
"""

CONFIG = """
{gateway}
[burn]
listen = 127.0.0.1:0
exec = burn.py

[alloc]
listen = 127.0.0.1:0
exec = alloc.py

[small]
listen = 127.0.0.1:0
exec = /bin/true
"""


def gateway(json_log=False):
    files = {"burn.py": (BURN.replace("{python}", sys.executable).encode(), 0o755),
             "alloc.py": (ALLOC.replace("{python}", sys.executable).encode(), 0o755)}
    conf = CONFIG.replace("{gateway}", "[gateway]\nlog_format = json\n" if json_log else "")
    return gw.Gateway(conf, start=not json_log, files=files)


def rusage_expected():
    """Whether this build's exit lines have the fields: the clone path
    sees every exit through a pidfd; on the uv_spawn path libuv reaps."""
    return gw.SPAWN != "uv_spawn"


def exit_of(g, route):
    return g.wait_event("exit", route=route)[0]


def test_cpu_time_is_the_childs_own():
    with gateway() as g:
        assert gw.talk(g.addr("burn")) == b"burnt\n"
        burn = exit_of(g, "burn")
        assert gw.talk(g.addr("small")) == b""
        small = exit_of(g, "small")
        if not rusage_expected():
            assert "utime" not in burn and "stime" not in burn and "maxrss" not in burn, burn
            assert g.stop() == 0
            return
        for e in (burn, small):
            for k in ("utime", "stime", "duration"):
                assert len(e[k].split(".")[1]) == 3, e
        # The burner's own CPU time: about 0.3 s, not zero and not the
        # gateway's or every child's together.
        assert 0.25 <= float(burn["utime"]) < 2.0, burn
        assert float(burn["utime"]) + float(burn["stime"]) <= float(burn["duration"]) + 0.05, burn
        # A child that does nothing shows next to nothing after it.
        assert float(small["utime"]) < 0.1 and float(small["stime"]) < 0.1, small
        assert g.stop() == 0


def test_maxrss_is_the_childs_peak():
    with gateway() as g:
        assert gw.talk(g.addr("alloc")) == b"allocated 52428800\n"
        alloc = exit_of(g, "alloc")
        assert gw.talk(g.addr("small")) == b""
        small = exit_of(g, "small")
        if not rusage_expected():
            assert "maxrss" not in alloc, alloc
            assert g.stop() == 0
            return
        assert int(alloc["maxrss"]) > 50 * 1024, alloc
        # Above zero for any child (the kernel counts, too, the gateway's
        # memory it ran in until its exec), and far below the allocator.
        assert 0 < int(small["maxrss"]) < int(alloc["maxrss"]) - 40 * 1024, (small, alloc)
        assert g.stop() == 0


def test_json_fields_are_numbers():
    g = gateway(json_log=True)
    with g:
        g.spawn()
        gw.wait_for(lambda: '"event":"start"' in g.log(), 20, "gatewayd to start")
        port = None
        for line in g.log().splitlines():
            o = json.loads(line)
            if o.get("event") == "listen" and o.get("route") == "burn":
                port = int(o["addr"].rsplit(":", 1)[1])
        assert gw.talk(("127.0.0.1", port)) == b"burnt\n"

        def exit_line():
            for line in g.log().splitlines():
                o = json.loads(line)
                if o.get("event") == "exit" and o.get("route") == "burn":
                    return o
            return None
        ex = gw.wait_for(exit_line, 10, "the exit line")
        if rusage_expected():
            assert isinstance(ex["utime"], float) and ex["utime"] >= 0.25, ex
            assert isinstance(ex["stime"], float), ex
            assert isinstance(ex["maxrss"], int) and ex["maxrss"] > 0, ex
            assert '"utime":' + "%.3f" % ex["utime"] in g.log(), g.log()
        else:
            assert "utime" not in ex and "maxrss" not in ex, ex
        assert g.stop() == 0


TAKEN_OVER = """
[gateway]
workers = 2

[hold]
listen = 127.0.0.1:0
exec = {python}
args = -c "import sys; sys.stdout.write('started\\\\n'); sys.stdout.flush(); b = b'x' * (50 << 20); sys.stdin.readline(); print('done')"
stderr = null
"""


def test_taken_over_child_has_them_too():
    """A child whose worker died is watched by the main process through a
    pidfd, on both spawn paths: its exit line has the fields."""
    conf = TAKEN_OVER.replace("{python}", sys.executable)
    with gw.Gateway(conf) as g:
        g.wait_event("worker", 2)
        c = g.connect("hold", timeout=30)
        assert recv_until(c, b"started\n")
        child = int(g.wait_event("spawn", route="hold")[0]["pid"])
        with open("/proc/%d/stat" % child) as f:
            parent = int(f.read().split(") ")[1].split()[1])
        assert parent != g.pid()
        os.kill(parent, signal.SIGKILL)
        g.wait_event("worker", 3)
        c.sendall(b"go\n")
        assert recv_all(c) == b"done\n"
        c.close()
        ex = g.wait_event("exit", route="hold", timeout=20)[0]
        assert ex["pid"] == str(child) and ex["status"] == "0", ex
        assert int(ex["maxrss"]) > 50 * 1024, ex
        assert 0 <= float(ex["utime"]) < 5 and 0 <= float(ex["stime"]) < 5, ex
        assert g.stop() == 0


if __name__ == "__main__":
    gw.main(globals())
