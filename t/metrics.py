"""`[gateway] metrics = ADDR`: GET /metrics in Prometheus' text format,
answered by the gateway's own loop, and GET /healthz. The figures are
those a user would count from the log: connections accepted and
refused (by reason), spawn errors, children running, exits by outcome
and their durations, HTTP responses by class, reloads; with workers,
the whole gateway's. `promtool check metrics` finds nothing to say."""
import os
import re
import resource
import signal
import socket
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
import http_helpers as hh  # noqa: E402

CONFIG = """
[gateway]
metrics = 127.0.0.1:0
max_children = 50
kill_grace = 1
{extra}

[echo]
listen = 127.0.0.1:0
exec = /bin/echo
args = hi
stderr = null

[fail]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'exit 3'
stderr = null

[killed]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'kill -9 $$'
stderr = null

[slow]
listen = 127.0.0.1:0
exec = /bin/sleep
args = 30
timeout = 0.2
stderr = null

[hold]
listen = 127.0.0.1:0
exec = /bin/cat
max_children = 2
on_busy = refuse
stderr = null

[denied]
listen = 127.0.0.1:0
exec = /bin/echo
deny = 127.0.0.0/8
stderr = null

[rated]
listen = 127.0.0.1:0
exec = /bin/echo
max_rate = 1/m
stderr = null

[busy]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'
stderr = null

[web]
listen = 127.0.0.1:0
protocol = cgi
exec = {dir}/web.sh
stderr = null
"""

WEB = b"""#!/bin/sh
case "$PATH_INFO" in
/missing) printf 'Status: 404 Not Found\\r\\nContent-Type: text/plain\\r\\n\\r\\nno\\n' ;;
/broken) echo 'not a header' ;;
*) printf 'Content-Type: text/plain\\r\\n\\r\\nyes\\n' ;;
esac
"""

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def parse(text):
    """{(name, frozenset of label pairs): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def metrics_addr(g):
    return gw.split_addr([e for e in g.events("listen") if "metrics" in e][0]["metrics"])


def scrape(g):
    r = hh.get(metrics_addr(g), "/metrics")
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/plain; version=0.0.4"), r
    return r.body.decode()


def value(figures, name, **labels):
    return figures.get((name, frozenset(labels.items())), 0.0)


def expect(figures, name, want, **labels):
    got = value(figures, name, **labels)
    assert got == want, "%s%s: %s, not %s" % (name, labels, got, want)


def wait_value(g, name, want, **labels):
    gw.wait_for(lambda: value(parse(scrape(g)), name, **labels) == want,
                what=lambda: "%s%s == %s in:\n%s" % (name, labels, want, scrape(g)))


def gateway(extra="", **kw):
    return gw.Gateway(CONFIG.replace("{extra}", extra), files={"web.sh": (WEB, 0o755)}, **kw)


def client_parse(text):
    """The exposition as Python's prometheus_client (Debian
    python3-prometheus-client) reads it: {(name, labels): value}, the
    samples of every family, _bucket/_sum/_count included."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        # Debian's package, for a python3 other than Debian's own.
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            from prometheus_client.parser import text_string_to_metric_families
        except ImportError:
            gw.skip("prometheus_client (Debian python3-prometheus-client) is not installed",
                    machine=True)
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def promtool_check(text):
    if not subprocess.run(["sh", "-c", "command -v promtool"], capture_output=True).stdout:
        gw.skip("promtool (Debian prometheus) is not installed", machine=True)
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), \
        (p.returncode, p.stdout, p.stderr)


def test_counts_what_the_log_says():
    with gateway() as g:
        for _ in range(3):
            assert gw.talk(g.addr("echo")) == b"hi\n"
        for _ in range(2):
            assert gw.talk(g.addr("fail")) == b""
        assert gw.talk(g.addr("killed")) == b""
        assert gw.talk(g.addr("denied")) == b""
        assert hh.get(g.addr("web"), "/ok").status == 200
        assert hh.get(g.addr("web"), "/missing").status == 404
        assert hh.get(g.addr("web"), "/broken").status == 502
        assert gw.talk(g.addr("rated")) == b"\n"
        assert gw.talk(g.addr("rated")) == b""
        assert gw.talk(g.addr("busy")) == b""
        s = g.connect("slow")
        assert gw.recv_all(s) == b""
        s.close()
        g.wait_event("exit", route="slow")
        g.wait_event("exit", 12)
        f = parse(scrape(g))
        for route, n in (("echo", 3), ("fail", 2), ("killed", 1), ("denied", 1),
                         ("web", 3), ("slow", 1)):
            assert value(f, "gatewayd_connections_accepted_total", route=route) == n, route
        expect(f, "gatewayd_child_exits_total", 3, route="echo", outcome="success")
        expect(f, "gatewayd_child_exits_total", 2, route="fail", outcome="failure")
        expect(f, "gatewayd_child_exits_total", 1, route="killed", outcome="signal")
        expect(f, "gatewayd_child_exits_total", 1, route="slow", outcome="timeout")
        expect(f, "gatewayd_child_exits_total", 0, route="slow", outcome="signal")
        expect(f, "gatewayd_connections_refused_total", 1, route="denied", reason="deny")
        expect(f, "gatewayd_connections_refused_total", 1, route="rated", reason="rate")
        expect(f, "gatewayd_child_exits_total", 1, route="rated", outcome="success")
        # A child's CPU time, where the spawn path's wait tells it.
        spent = value(f, "gatewayd_child_cpu_seconds_total", route="busy", mode="user") + \
            value(f, "gatewayd_child_cpu_seconds_total", route="busy", mode="system")
        exit_line = g.events("exit", route="busy")[0]
        if "utime" in exit_line:
            assert spent >= 0.05 and abs(spent - float(exit_line["utime"]) -
                                         float(exit_line["stime"])) < 0.002, (spent, exit_line)
        else:
            assert spent == 0
        expect(f, "gatewayd_http_responses_total", 1, route="web", **{"class": "2xx"})
        expect(f, "gatewayd_http_responses_total", 1, route="web", **{"class": "4xx"})
        expect(f, "gatewayd_http_responses_total", 1, route="web", **{"class": "5xx"})
        # The histogram: cumulative buckets, the slow one above 0.1 s.
        expect(f, "gatewayd_child_duration_seconds_count", 1, route="slow")
        expect(f, "gatewayd_child_duration_seconds_bucket", 0, route="slow", le="0.1")
        expect(f, "gatewayd_child_duration_seconds_bucket", 1, route="slow", le="+Inf")
        assert value(f, "gatewayd_child_duration_seconds_sum", route="slow") >= 0.2
        expect(f, "gatewayd_child_duration_seconds_bucket", 3, route="echo", le="+Inf")
        expect(f, "gatewayd_reloads_total", 0, result="ok")
        assert value(f, "gatewayd_start_time_seconds") > 1.7e9
        assert value(f, "gatewayd_open_fds") > 3


def test_promtool_finds_nothing_to_say():
    with gateway() as g:
        assert gw.talk(g.addr("echo")) == b"hi\n"
        assert gw.talk(g.addr("denied")) == b""
        assert hh.get(g.addr("web"), "/ok").status == 200
        g.wait_event("exit", 2)
        promtool_check(scrape(g))


def test_prometheus_client_reads_figures_that_move():
    """Read by prometheus_client's own parser, the figures agree with
    ours and move as connections come and go."""
    with gateway() as g:
        before = client_parse(scrape(g))
        assert value(before, "gatewayd_connections_accepted_total", route="echo") == 0
        held = g.connect("hold")
        g.wait_event("spawn", route="hold")
        for _ in range(4):
            assert gw.talk(g.addr("echo")) == b"hi\n"
        g.wait_event("exit", 4, route="echo")
        text = scrape(g)
        during = client_parse(text)
        assert during == parse(text)
        assert value(during, "gatewayd_connections_accepted_total", route="echo") == 4
        assert value(during, "gatewayd_route_children", route="hold") == 1
        assert value(during, "gatewayd_child_duration_seconds_count", route="echo") == 4
        held.close()
        g.wait_event("exit", route="hold")
        after = client_parse(scrape(g))
        assert value(after, "gatewayd_route_children", route="hold") == 0
        assert value(after, "gatewayd_child_exits_total", route="hold", outcome="success") == 1


def test_gauges_and_busy_and_spawn_errors():
    with gateway() as g:
        held = [g.connect("hold") for _ in range(2)]
        g.wait_event("spawn", 2, route="hold")
        f = parse(scrape(g))
        assert value(f, "gatewayd_route_children", route="hold") == 2
        assert value(f, "gatewayd_children") == 2
        # A third is refused busy (on_busy = refuse).
        assert gw.talk(g.addr("hold")) == b""
        g.wait_event("refuse", route="hold")
        # A connection whose PROXY header is still being read: none here,
        # but a client that has not sent its HTTP head is being read.
        half = g.connect("web")
        half.sendall(b"GET / HTTP/1.1\r\n")
        wait_value(g, "gatewayd_connections_reading", 1)
        half.close()
        for s in held:
            s.close()
        g.wait_event("exit", 2, route="hold")
        f = parse(scrape(g))
        assert value(f, "gatewayd_route_children", route="hold") == 0
        assert value(f, "gatewayd_connections_refused_total", route="hold", reason="busy") == 1
        # The program removed: a spawn error.
        os.rename(os.path.join(g.dir, "web.sh"), os.path.join(g.dir, "web.away"))
        assert hh.get(g.addr("web"), "/").status == 500
        g.wait_event("spawn_error", route="web")
        f = parse(scrape(g))
        assert value(f, "gatewayd_spawn_errors_total", route="web") == 1
        assert value(f, "gatewayd_http_responses_total", route="web", **{"class": "5xx"}) == 1


def test_reloads_counted_and_series_kept():
    with gateway() as g:
        assert gw.talk(g.addr("echo")) == b"hi\n"
        g.wait_event("exit", 1)
        loaded = value(parse(scrape(g)), "gatewayd_config_load_time_seconds")
        g.kill(signal.SIGHUP)
        g.wait_event("reload")
        f = parse(scrape(g))
        assert value(f, "gatewayd_reloads_total", result="ok") == 1
        assert value(f, "gatewayd_config_load_time_seconds") > loaded
        # Counters carry over a reload.
        assert value(f, "gatewayd_connections_accepted_total", route="echo") == 1
        with open(g.config, "a") as cf:
            cf.write("\n[broken]\nexec = /nonexistent\n")
        g.kill(signal.SIGHUP)
        g.wait_event("reload_error")
        f = parse(scrape(g))
        assert value(f, "gatewayd_reloads_total", result="error") == 1
        assert value(f, "gatewayd_reloads_total", result="ok") == 1


def test_healthz_and_draining_while_stopping():
    cfg = CONFIG.replace("{extra}", "shutdown_grace = 5")
    with gw.Gateway(cfg, files={"web.sh": (WEB, 0o755)}) as g:
        r = hh.get(metrics_addr(g), "/healthz")
        assert (r.status, r.body) == (200, b"ok\n"), r
        s = g.connect("hold")
        g.wait_event("spawn", route="hold")
        addr = metrics_addr(g)
        g.kill(signal.SIGTERM)
        g.wait_event("stop")
        # Stopping, a child still running: the endpoint says so.
        r = hh.get(addr, "/healthz")
        assert (r.status, r.body) == (503, b"draining\n"), r
        s.close()
        assert g.wait_exit() == 0


def test_healthz_draining_during_drain_delay():
    """drain_delay: told to stop, the gateway still serves for a while and
    /healthz already says draining, so a load balancer takes it out."""
    cfg = CONFIG.replace("{extra}", "drain_delay = 30")
    with gw.Gateway(cfg, files={"web.sh": (WEB, 0o755)}) as g:
        addr = metrics_addr(g)
        assert hh.get(addr, "/healthz").status == 200
        g.kill(signal.SIGTERM)
        g.wait_event("drain")
        r = hh.get(addr, "/healthz")
        assert (r.status, r.body) == (503, b"draining\n"), r
        assert gw.talk(g.addr("echo")) == b"hi\n"
        g.kill(signal.SIGINT)
        assert g.wait_exit() == 0


def test_no_descriptor_free_pauses_rather_than_spins():
    """Out of descriptors, a scrape waits in the backlog: the endpoint
    pauses accepting and tries again a second later, rather than wake the
    loop over and over; the scrape is answered once descriptors are back."""
    limit = 256
    with gw.Gateway(CONFIG.replace("{extra}", ""), files={"web.sh": (WEB, 0o755)},
                    preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                          (limit, limit))) as g:
        addr = metrics_addr(g)
        assert hh.get(addr, "/healthz").status == 200
        last = [None]

        def settled():
            now = g.fds()
            same = now == last[0]
            last[0] = now
            return same
        gw.wait_for(settled, 10, "the gateway's descriptors to settle")
        lowest_free = min(set(range(limit + 1)) - {int(f) for f in g.fds()})
        resource.prlimit(g.pid(), resource.RLIMIT_NOFILE, (lowest_free, limit))
        cpu = g.cpu_seconds()
        s = gw.connect(addr)
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        # Tried again after a second: a second warning, and no more.
        def warned():
            return [e for e in g.events("warning") if "metrics: accept" in e.get("msg", "")]
        gw.wait_for(lambda: len(warned()) >= 2, 10, "a second try")
        spent = g.cpu_seconds() - cpu
        assert len(warned()) <= 3 and spent < 0.5, (len(warned()), spent)
        resource.prlimit(g.pid(), resource.RLIMIT_NOFILE, (limit, limit))
        got = gw.recv_all(s)
        s.close()
        assert got.startswith(b"HTTP/1.0 200 "), got[:100]


def test_other_requests():
    with gateway() as g:
        a = metrics_addr(g)
        assert hh.get(a, "/nothing").status == 404
        assert hh.request(a, "POST", "/metrics", body=b"x").status == 405
        r = hh.request(a, "HEAD", "/metrics")
        assert r.status == 200 and r.body == b"", r
        assert hh.get(a, "/metrics?name[]=x").status == 200
        # A client that sends nothing does not hold the others up.
        idle = gw.connect(a)
        assert hh.get(a, "/healthz").status == 200
        idle.close()


def test_unix_socket_mode():
    cfg = """
[gateway]
metrics = unix:{dir}/metrics.sock
%s
[echo]
listen = 127.0.0.1:0
exec = /bin/echo
"""
    for extra, mode in (("", 0o600), ("metrics_mode = 0660", 0o660)):
        with gw.Gateway(cfg % extra) as g:
            path = os.path.join(g.dir, "metrics.sock")
            st = os.stat(path)
            assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == mode, oct(st.st_mode)
            r = hh.get(path, "/healthz")
            assert r.status == 200, r
        assert not os.path.exists(path)


def test_bad_address_is_a_config_error():
    status, out, err, _ = gw.run_config_check(
        "[gateway]\nmetrics = nowhere\n[echo]\nlisten = 127.0.0.1:0\nexec = /bin/echo\n")
    assert status != 0 and "metrics" in err, (status, out, err)


def test_workers_count_for_the_whole_gateway():
    with gateway("workers = 2") as g:
        n = 12
        for _ in range(n):
            assert gw.talk(g.addr("echo")) == b"hi\n"
        assert hh.get(g.addr("web"), "/ok").status == 200
        g.wait_event("exit", n + 1)
        # The workers send what they counted within a second.
        wait_value(g, "gatewayd_child_exits_total", n, route="echo", outcome="success")
        wait_value(g, "gatewayd_http_responses_total", 1, route="web", **{"class": "2xx"})
        f = parse(scrape(g))
        assert value(f, "gatewayd_connections_accepted_total", route="echo") == n
        assert value(f, "gatewayd_workers") == 2
        assert value(f, "gatewayd_child_duration_seconds_count", route="echo") == n
        text = scrape(g)
        assert client_parse(text) == parse(text)
        promtool_check(text)


if __name__ == "__main__":
    gw.main(globals())
