"""workers > 1: the main process accepts and counts, workers spawn. Limits
hold across workers, a killed worker is replaced and its children taken
over, reload and stop reach every worker, connection ids stay unique."""
import os
import resource
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from limits_helpers import (ensure_dead, nothing_arrives, recv_all,  # noqa: E402
                            recv_until, state_of, talk_from, wait_gone)

# Says which connection it serves, waits a little, says it is done.
SLOW = b"""#!/bin/sh
echo "conn $GATEWAY_CONN"
echo "parent $PPID"
sleep "${1:-0.3}"
echo done
"""

CONFIG = """
[gateway]
workers = 2
kill_grace = 1

[slow]
listen = 127.0.0.1:0
exec = slow.sh
args = 0.4
max_children = 2

[hold]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c "echo started; read x; echo got $x"
stderr = null

[echo]
listen = 127.0.0.1:0
exec = /bin/echo
args = v1

[chatty]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c "echo started; echo before >&2; read x; echo after-$x >&2; echo got $x"

[one]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c "echo one; read x"
max_per_source = 1

[proxied]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c "echo $TCPREMOTEIP $TCPREMOTEPORT; cat"
proxy_protocol = v1
proxy_from = 127.0.0.1
"""


def gateway(config=CONFIG):
    g = gw.Gateway(config, files={"slow.sh": (SLOW, 0o755)})
    g.wait_event("worker", 2)
    return g


def worker_pids(g):
    return {int(e["pid"]) for e in g.events("worker")}


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def concurrency(g, route):
    """The most children of route alive at once, from the log's order."""
    live = peak = 0
    for e in g.events():
        if e.get("route") != route:
            continue
        if e.get("event") == "spawn":
            live += 1
            peak = max(peak, live)
        elif e.get("event") == "exit":
            live -= 1
    return peak


def test_two_workers_start():
    with gateway() as g:
        pids = worker_pids(g)
        assert len(pids) == 2 and all(alive(p) for p in pids)
        assert all(p != g.pid() for p in pids)
        assert gw.talk(g.addr("echo")) == b"v1\n"
        assert g.stop() == 0


def test_route_limit_holds_across_workers():
    """Eight clients at once against max_children = 2: never more than
    two children, every client served, the work spread over both
    workers."""
    with gateway() as g:
        addr = g.addr("slow")
        out = [None] * 8

        def client(i):
            out[i] = gw.talk(addr, timeout=60)
        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert all(o and o.endswith(b"done\n") for o in out), out
        # Each child's parent is the worker that spawned it: both did.
        parents = {int(o.split(b"parent ")[1].split()[0]) for o in out}
        assert parents == worker_pids(g), (parents, worker_pids(g))
        g.wait_event("exit", 8, route="slow", timeout=30)
        assert concurrency(g, "slow") == 2, g.log()
        assert not g.events("refuse")
        ids = [e["conn"] for e in g.events("spawn")]
        assert len(ids) == len(set(ids)), ids
        assert g.stop() == 0


def test_per_source_limit_across_workers():
    with gateway() as g:
        addr = g.addr("one")
        first = socket.create_connection(addr, 10)
        assert recv_until(first, b"one\n")
        # Whichever worker would take it, the main process refuses it.
        assert talk_from(addr, "127.0.0.1") == b""
        g.wait_event("refuse", reason="per_source")
        assert talk_from(addr, "127.0.0.2", b"x\n").startswith(b"one\n")
        first.close()
        assert g.stop() == 0


def test_proxy_header_read_by_main_child_in_worker():
    """The main process reads the PROXY header; the worker's child gets
    the header's client and the bytes right after the header."""
    with gateway() as g:
        out = gw.talk(g.addr("proxied"),
                      b"PROXY TCP4 192.0.2.7 198.51.100.1 4242 80\r\nafter the header\n")
        assert out == b"192.0.2.7 4242\nafter the header\n", out
        spawn = g.wait_event("spawn", route="proxied")[0]
        assert spawn["peer"] == "192.0.2.7:4242" and spawn["via"].startswith("127.0.0.1:"), spawn
        assert g.stop() == 0


def test_killed_worker_is_replaced_and_its_child_taken_over():
    with gateway() as g:
        before = worker_pids(g)
        c = g.connect("hold", timeout=30)
        assert recv_until(c, b"started\n")
        spawn = g.wait_event("spawn", route="hold")[0]
        child = int(spawn["pid"])
        # The worker that spawned it is its parent.
        with open("/proc/%d/stat" % child) as f:
            parent = int(f.read().split(") ")[1].split()[1])
        assert parent in before
        os.kill(parent, signal.SIGKILL)
        g.wait_event("worker", 3)
        assert any("restarting" in e.get("msg", "") for e in g.events("warning"))
        after = worker_pids(g) - before
        assert len(after) == 1 and alive(after.pop())
        # The child carries on, now the main process's; its end is logged
        # and reaped there.
        c.sendall(b"hi\n")
        assert recv_all(c) == b"got hi\n"
        c.close()
        ex = g.wait_event("exit", route="hold", timeout=20)[0]
        assert ex["pid"] == str(child) and ex["status"] == "0", ex
        gw.wait_for(lambda: not alive(child) and child not in [p for p, _ in g.children()],
                    20, "the taken-over child to be reaped")
        # New connections are served by the workers, old and new.
        for _ in range(4):
            assert gw.talk(g.addr("echo")) == b"v1\n"
        assert g.stop() == 0


# Ends on the TERM; what it started, in its process group, does not.
LEAVES = """
[leaves]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c '(trap "" TERM\\; exec sleep 60) & echo $!\\; sleep 60'
"""


def orphan_with_a_grandchild(g):
    """A client of route leaves whose child's worker was killed: the main
    process has taken the child over. Returns (client, child, grandchild)."""
    c = g.connect("leaves", timeout=30)
    grandchild = int(recv_until(c, b"\n").split()[0])
    child = int(g.wait_event("spawn", route="leaves")[0]["pid"])
    with open("/proc/%d/stat" % child) as f:
        worker = int(f.read().split(") ")[1].split()[1])
    assert worker in worker_pids(g)
    os.kill(worker, signal.SIGKILL)
    # Logged where the main process takes its children over.
    gw.wait_for(lambda: [e for e in g.events("warning")
                         if "(pid %d) ended" % worker in e.get("msg", "")],
                10, "the worker's end to be seen")
    return c, child, grandchild


def test_taken_over_child_timeout_kills_its_group():
    """The main process applies a taken-over child's timeout as its worker
    would: TERM to the group, then, once kill_grace is over, KILL to the
    group even though the child itself ended of the TERM; the child stays
    unreaped (a zombie: its group id cannot be reused) until then."""
    config = CONFIG.replace("kill_grace = 1", "kill_grace = 3") + LEAVES + "timeout = 2\n"
    with gateway(config) as g:
        c, child, grandchild = orphan_with_a_grandchild(g)
        try:
            ex = g.wait_event("exit", route="leaves", timeout=20)[0]
            assert ex["pid"] == str(child), ex
            assert ex["signal"] == "TERM" and ex["reason"] == "timeout", ex
            assert state_of(grandchild) not in (None, "Z"), state_of(grandchild)
            assert state_of(child) == "Z", "child %d: %s" % (child, state_of(child))
            wait_gone(grandchild, 15)
            assert recv_all(c) == b""
            gw.wait_for(lambda: state_of(child) is None, 10, "the child to be reaped")
        finally:
            c.close()
            ensure_dead(grandchild)
        assert g.stop() == 0


def test_taken_over_child_group_killed_on_stop():
    """The stop's TERM ends a taken-over child but not what it started:
    kill_grace later its group still gets the KILL, before the main
    process exits."""
    config = CONFIG.replace("kill_grace = 1", "kill_grace = 0.5\nshutdown_grace = 0.2") + LEAVES
    with gateway(config) as g:
        c, child, grandchild = orphan_with_a_grandchild(g)
        try:
            g.kill(signal.SIGTERM)
            ex = g.wait_event("exit", route="leaves", timeout=20)[0]
            assert ex["pid"] == str(child), ex
            assert ex.get("signal") == "TERM" and ex.get("reason") == "shutdown", ex
            assert g.wait_exit(30) == 0
            wait_gone(grandchild, 5)
            assert recv_all(c) == b""
        finally:
            c.close()
            ensure_dead(grandchild)


def log_ms(e):
    """An event's timestamp, in ms since midnight."""
    t = e["ts"].split("T")[1].rstrip("Z")
    h, m, sec = t.split(":")
    return (int(h) * 3600 + int(m) * 60 + float(sec)) * 1000


def test_worker_that_dies_young_is_restarted_after_a_pause():
    """A worker that ends within a second of its start is not forked
    again at once (no restart storm); one that lived longer is."""
    with gateway() as g:
        first = sorted(worker_pids(g))[0]
        os.kill(first, signal.SIGKILL)
        g.wait_event("worker", 3)
        warn = [e for e in g.events("warning") if "restarting it in 1 s" in e.get("msg", "")]
        assert len(warn) == 1 and str(first) in warn[0]["msg"], g.log()
        restarted = g.events("worker")[2]
        assert log_ms(restarted) - log_ms(warn[0]) >= 990, (warn, restarted)
        # The other worker served meanwhile, and the new one lives.
        assert gw.talk(g.addr("echo")) == b"v1\n"
        assert alive(int(restarted["pid"]))
        assert g.stop() == 0


def test_clients_wait_while_no_worker_runs():
    """Both workers dead and not yet restarted: the main process keeps
    the client (no spawn_error, no close) and hands it to a worker once
    one is back."""
    with gateway() as g:
        for pid in worker_pids(g):
            os.kill(pid, signal.SIGKILL)
        gw.wait_for(lambda: len([e for e in g.events("warning")
                                 if "restarting it in 1 s" in e.get("msg", "")]) == 2,
                    10, "both workers to be found dead")
        c = g.connect("echo", timeout=30)
        assert recv_all(c) == b"v1\n"
        c.close()
        assert [e for e in g.events("warning") if "no worker is running" in e.get("msg", "")]
        assert not g.events("spawn_error"), g.log()
        assert len(g.events("worker")) == 4
        assert g.stop() == 0


def test_worker_restarts_after_its_program_was_removed():
    """The main process checked the config when it loaded it; a worker
    started later parses the same text without looking for the programs
    again, so a removed program is a spawn_error, not a worker that
    cannot start."""
    with gateway() as g:
        os.remove(os.path.join(g.dir, "slow.sh"))
        for pid in worker_pids(g):
            os.kill(pid, signal.SIGKILL)
        g.wait_event("worker", 4)
        for _ in range(4):
            assert gw.talk(g.addr("slow")) == b""
            assert gw.talk(g.addr("echo")) == b"v1\n"
        errors = g.wait_event("spawn_error", 4, route="slow")
        assert all("no such file" in e["error"] for e in errors), errors
        assert len(g.events("worker")) == 4, g.log()
        assert not [e for e in g.events("warning") if "config from the main" in e.get("msg", "")]
        assert g.stop() == 0


def fds_of(pid):
    return sorted(int(x) for x in os.listdir("/proc/%d/fd" % pid))


def cpu_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_fds(pid, count):
    """The count lowest descriptor numbers the process has free."""
    used, out, fd = set(fds_of(pid)), [], 0
    while len(out) < count:
        if fd not in used:
            out.append(fd)
        fd += 1
    return out


def test_worker_short_of_descriptors_keeps_the_client():
    """A worker that cannot spawn for want of descriptors keeps the
    client, as a single process does, and serves it once they are back.
    One with no room even for the socket sends it back, and the main
    process tries again a second later. None is dropped, and nothing
    spins meanwhile."""
    with gateway() as g:
        workers = sorted(worker_pids(g))
        for _ in range(4):  # whatever a first spawn opens, opened now
            assert gw.talk(g.addr("echo")) == b"v1\n"
        g.wait_event("exit", 4, route="echo")
        last = [None]

        def settled():
            now = [fds_of(w) for w in workers]
            same = now == last[0]
            last[0] = now
            return same
        gw.wait_for(settled, 10, "the workers' descriptors to settle")
        # Room for one socket from the main process, none for its spawn:
        # each worker keeps one client, and the third finds no room.
        limits = {w: resource.prlimit(w, resource.RLIMIT_NOFILE) for w in workers}
        for w in workers:
            room = free_fds(w, 2)[1]
            resource.prlimit(w, resource.RLIMIT_NOFILE, (room, limits[w][1]))
        clients = [g.connect("echo", timeout=30) for _ in range(3)]
        errors = g.wait_event("spawn_error", route="echo")
        assert "too many open files" in errors[0]["error"].lower(), errors
        gw.wait_for(lambda: [e for e in g.events("warning")
                             if "no descriptor free" in e.get("msg", "")], 10,
                    "a worker to send a socket back")
        assert all(nothing_arrives(c, 1.0) for c in clients), g.log()
        cpu0 = sum(cpu_of(p) for p in [g.pid()] + workers)
        time.sleep(2)
        cpu = sum(cpu_of(p) for p in [g.pid()] + workers) - cpu0
        assert cpu < 0.5, cpu
        assert all(alive(w) for w in workers)
        for w in workers:
            resource.prlimit(w, resource.RLIMIT_NOFILE, limits[w])
        for c in clients:
            c.settimeout(30)
            assert recv_all(c) == b"v1\n"
            c.close()
        g.wait_event("exit", 7, route="echo")
        assert len(g.events("spawn", route="echo")) == 7
        assert g.stop() == 0


def test_taken_over_child_keeps_its_stderr_log():
    """A worker dies while its child runs with stderr = log: the main
    process reads the child's stderr pipe from then on, so its later
    lines reach the log (before its exit) and its writes do not fail."""
    with gateway() as g:
        c = g.connect("chatty", timeout=30)
        assert recv_until(c, b"started\n")
        g.wait_event("stderr", route="chatty", line="before")
        child = int(g.wait_event("spawn", route="chatty")[0]["pid"])
        with open("/proc/%d/stat" % child) as f:
            parent = int(f.read().split(") ")[1].split()[1])
        os.kill(parent, signal.SIGKILL)
        gw.wait_for(lambda: [e for e in g.events("warning") if str(parent) in e.get("msg", "")],
                    10, "the worker's death to be noticed")
        c.sendall(b"hi\n")
        assert recv_all(c) == b"got hi\n"
        c.close()
        ex = g.wait_event("exit", route="chatty", timeout=20)[0]
        assert ex["pid"] == str(child) and ex["status"] == "0", ex
        line = g.wait_event("stderr", route="chatty", line="after-hi")[0]
        assert line["pid"] == str(child) and line["conn"] == ex["conn"], line
        events = [e["event"] for e in g.events() if e.get("route") == "chatty"]
        assert events.index("exit") > len(events) - 1 - events[::-1].index("stderr"), events
        assert g.stop() == 0


def test_reload_reaches_every_worker():
    with gateway() as g:
        assert gw.talk(g.addr("echo")) == b"v1\n"
        with open(g.config) as f:
            text = f.read()
        with open(g.config, "w") as f:
            f.write(text.replace("args = v1", "args = v2"))
        g.kill(signal.SIGHUP)
        g.wait_event("reload")
        # Round robin: eight connections reach both workers.
        answers = {gw.talk(g.addr("echo")) for _ in range(8)}
        assert answers == {b"v2\n"}, answers
        assert g.stop() == 0


def test_stop_reaches_every_worker():
    with gateway() as g:
        pids = worker_pids(g)
        c = g.connect("slow", timeout=30)
        assert recv_until(c, b"conn ")
        g.kill(signal.SIGTERM)
        # The running child finishes; then every worker ends, and the
        # main process with status 0.
        assert recv_all(c).endswith(b"done\n")
        c.close()
        assert g.wait_exit(30) == 0
        gw.wait_for(lambda: not any(alive(p) for p in pids), 10, "workers to end")


def test_second_signal_ends_children_in_workers():
    with gateway(CONFIG.replace("kill_grace = 1", "kill_grace = 1\nshutdown_grace = 60")) as g:
        c = g.connect("hold", timeout=30)
        assert recv_until(c, b"started\n")
        g.kill(signal.SIGTERM)
        time.sleep(0.3)
        assert g.proc.poll() is None  # waiting for the child
        g.kill(signal.SIGTERM)
        ex = g.wait_event("exit", route="hold", timeout=20)[0]
        assert ex.get("signal") == "TERM" and ex.get("reason") == "shutdown", ex
        assert g.wait_exit(30) == 0
        c.close()


if __name__ == "__main__":
    gw.main(globals())
