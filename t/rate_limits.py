"""max_rate and max_rate_per_source: token buckets of N connections a
second or a minute (burst N). Over the rate a connection is refused at
once (refuse reason=rate): busy_message on raw routes, 429 with
Retry-After on HTTP ones; only the excess, never the route. Per-source
buckets are apart; buckets refill; workers keep the count exact; a reload
keeps them while the rate is the same; a bad value is a config error."""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from http_helpers import Response  # noqa: E402
from limits_helpers import connect_from, recv_all, stop_ok, talk_from  # noqa: E402

CGI = b"""#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\nhi\\n'
"""

NPH = b"""#!/bin/sh
printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nnph\\n'
"""

CONFIG = """
[minute]
listen = 127.0.0.1:0
exec = /bin/echo
args = served
max_rate = 3/m
busy_message = slow down\\r\\n

[each]
listen = 127.0.0.1:0
exec = /bin/echo
args = served
max_rate_per_source = 2/m
busy_message = one by one\\n

[second]
listen = 127.0.0.1:0
exec = /bin/echo
args = served
max_rate = 2/s
busy_message = wait\\n

[cgi]
listen = 127.0.0.1:0
exec = hi.cgi
protocol = cgi
max_rate = 2/m

[nph]
listen = 127.0.0.1:0
exec = hi.nph
protocol = nph
max_rate = 1/s
"""

FILES = {"hi.cgi": (CGI, 0o755), "hi.nph": (NPH, 0o755)}


def burst(addr, n, source="127.0.0.1", request=b""):
    """n connections opened at once (all connected before any is read),
    then each one's whole answer, in order."""
    socks = []
    for _ in range(n):
        s = connect_from(addr, source)
        if request:
            s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        socks.append(s)
    out = []
    for s in socks:
        out.append(recv_all(s))
        s.close()
    return out


def reasons(g, route):
    return [e["reason"] for e in g.events("refuse", route=route)]


def test_raw_burst_serves_exactly_n():
    with gw.Gateway(CONFIG, files=FILES) as g:
        answers = burst(g.addr("minute"), 5)
        assert sorted(answers) == [b"served\n"] * 3 + [b"slow down\r\n"] * 2, answers
        g.wait_event("refuse", 2, route="minute")
        g.wait_event("exit", 3, route="minute")
        assert reasons(g, "minute") == ["rate", "rate"], g.log()
        assert len(g.events("spawn", route="minute")) == 3
        # The route is not disabled: still refused only for its rate.
        assert gw.talk(g.addr("minute")) == b"slow down\r\n"
        g.wait_event("refuse", 3, route="minute")
        assert reasons(g, "minute") == ["rate"] * 3
        stop_ok(g)


def http_get(addr, path="/"):
    return Response(gw.talk(addr, b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode()))


def test_http_over_the_rate_is_429_with_retry_after():
    with gw.Gateway(CONFIG, files=FILES) as g:
        req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        answers = [Response(a) for a in burst(g.addr("cgi"), 4, request=req)]
        ok = [a for a in answers if a.status == 200]
        over = [a for a in answers if a.status != 200]
        assert len(ok) == 2 and all(a.body == b"hi\n" for a in ok), answers
        assert len(over) == 2, answers
        for a in over:
            assert a.status == 429 and a.reason == "Too Many Requests", a
            assert a.header("Connection") == "close", a
            # 2/m: a token is back 30 s after the last one went.
            after = a.header("Retry-After")
            assert after is not None and after.isdigit() and 1 <= int(after) <= 30, a
            assert int(after) >= 29, a
        g.wait_event("refuse", 2, route="cgi")
        assert reasons(g, "cgi") == ["rate", "rate"], g.log()
        assert len(g.events("spawn", route="cgi")) == 2
        # nph alike; at 1/s a token is back within a second: Retry-After 1.
        first, second = sorted((Response(a) for a in burst(g.addr("nph"), 2, request=req)),
                               key=lambda a: a.status)
        assert (first.status, first.body) == (200, b"nph\n"), first
        assert second.status == 429 and second.header("Retry-After") == "1", second
        g.wait_event("refuse", route="nph")
        stop_ok(g)


def test_per_source_buckets_are_apart():
    with gw.Gateway(CONFIG, files=FILES) as g:
        addr = g.addr("each")
        assert burst(addr, 3, "127.0.0.1") == [b"served\n"] * 2 + [b"one by one\n"]
        refused = g.wait_event("refuse", route="each")
        assert refused[0]["reason"] == "rate" and refused[0]["peer"].startswith("127.0.0.1:")
        # Another source has a bucket of its own, full...
        assert burst(addr, 3, "127.0.0.2") == [b"served\n"] * 2 + [b"one by one\n"]
        refused = g.wait_event("refuse", 2, route="each")
        assert refused[1]["reason"] == "rate" and refused[1]["peer"].startswith("127.0.0.2:")
        # ...and emptying it changed nothing for the first, still empty.
        assert talk_from(addr, "127.0.0.1") == b"one by one\n"
        g.wait_event("refuse", 3, route="each")
        assert len(g.events("spawn", route="each")) == 4
        stop_ok(g)


def test_bucket_refills():
    """2/s: the burst takes both tokens; one is back half a second later,
    and meanwhile only the excess is refused."""
    with gw.Gateway(CONFIG, files=FILES) as g:
        addr = g.addr("second")
        t0 = time.monotonic()
        assert burst(addr, 3) == [b"served\n"] * 2 + [b"wait\n"]
        gw.wait_for(lambda: gw.talk(addr) == b"served\n", 10, "a token to come back")
        waited = time.monotonic() - t0
        assert waited >= 0.45, waited
        g.wait_event("exit", 3, route="second")
        assert set(reasons(g, "second")) == {"rate"}, g.log()
        stop_ok(g)


WORKERS = """
[gateway]
workers = 2

[w]
listen = 127.0.0.1:0
exec = /bin/echo
args = served
max_rate = 4/m
busy_message = busy\\n
"""


def test_workers_keep_the_limit_exact():
    with gw.Gateway(WORKERS) as g:
        g.wait_event("worker", 2)
        answers = burst(g.addr("w"), 7)
        assert sorted(answers) == [b"busy\n"] * 3 + [b"served\n"] * 4, answers
        g.wait_event("exit", 4, route="w")
        g.wait_event("refuse", 3, route="w")
        assert reasons(g, "w") == ["rate"] * 3
        # Exits logged by both workers' children count the same: still 4.
        assert len(g.events("spawn", route="w")) == 4
        assert gw.talk(g.addr("w")) == b"busy\n"
        stop_ok(g)


WAITING = """
[slow]
listen = 127.0.0.1:0
exec = read.cgi
protocol = cgi
request_body = socket
max_children = 1
on_busy = wait
max_rate = 1/m
"""

# Reads its body from the socket, then answers.
READ = b"""#!/bin/sh
read -r line
printf 'Content-Type: text/plain\\r\\n\\r\\ngot %s\\n' "$line"
"""


def test_over_the_rate_never_waits_for_a_slot():
    """on_busy = wait keeps a request for a full route waiting; one over
    the rate is refused at once instead."""
    with gw.Gateway(WAITING, files={"read.cgi": (READ, 0o755)}) as g:
        addr = g.addr("slow")
        first = gw.connect(addr)
        first.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n")
        g.wait_event("spawn", route="slow")
        # The route is full, and its one token is gone.
        second = Response(gw.talk(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        assert second.status == 429 and int(second.header("Retry-After")) >= 59, second
        assert reasons(g, "slow") == ["rate"]
        first.sendall(b"ab\n")
        assert Response(recv_all(first)).body == b"got ab\n"
        first.close()
        g.wait_event("exit", route="slow")
        stop_ok(g)


RELOAD = """
[r]
listen = 127.0.0.1:0
exec = /bin/echo
args = {args}
max_rate = {rate}
busy_message = busy\\n
"""


def reload(g, args, rate):
    n = len(g.events("reload"))
    tmp = g.config + ".new"
    with open(tmp, "w") as f:
        f.write(RELOAD.replace("{args}", args).replace("{rate}", rate))
    os.replace(tmp, g.config)
    g.kill(signal.SIGHUP)
    g.wait_event("reload", n + 1)


def test_reload_keeps_buckets_while_the_rate_is_the_same():
    with gw.Gateway(RELOAD.replace("{args}", "v1").replace("{rate}", "2/m")) as g:
        addr = g.addr("r")
        assert burst(addr, 2) == [b"v1\n"] * 2
        # Same rate, other args: the empty bucket stays empty.
        reload(g, "v2", "2/m")
        assert gw.talk(addr) == b"busy\n"
        # Another rate: buckets start over, full.
        reload(g, "v3", "3/m")
        assert burst(addr, 4) == [b"v3\n"] * 3 + [b"busy\n"]
        assert not g.events("reload_error")
        stop_ok(g)


BAD = """
[gateway]
max_children = 10

[x]
listen = 127.0.0.1:0
exec = /bin/true
{key} = {value}
"""


def test_bad_values_are_config_errors():
    for key in ("max_rate", "max_rate_per_source"):
        for value in ("10", "0/s", "10/h", "1.5/s", "-3/m", "ten/s", "10/sec", "5/s/m",
                      "2000000/s", "10 /s"):
            text = BAD.replace("{key}", key).replace("{value}", value)
            rc, out, err, d = gw.run_config_check(text)
            assert rc == 1 and out == "", (key, value, rc, out, err)
            want = "%s:8: %s: expected N/s or N/m, N from 1 to 1000000, not '%s'" % (
                os.path.join(d, "gateway.ini"), key, value)
            assert want in err, (want, err)
    rc, out, err, _ = gw.run_config_check(BAD.replace("{key}", "max_rate").replace(
        "{value}", "10/s\nmax_rate_per_source = 1000000/m"))
    assert rc == 0 and out.startswith("x "), (rc, out, err)


if __name__ == "__main__":
    gw.main(globals())
