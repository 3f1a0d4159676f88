"""HTTP routes (protocol = cgi | nph): routing by the longest whole-segment
path prefix among routes sharing one address, the CGI/1.1 variables, the
request body left in the socket (CONTENT_LENGTH) or decoded from chunked
into a pipe, the program's response turned into HTTP/1.1 (Status:,
Location:, hop-by-hop headers, HEAD, a bad header block, two
Content-Lengths), the gateway's
own answers (400, 403, 404, 408, 431, 500, 501, 503), Expect:
100-continue and on_busy = wait. Driven with curl and raw sockets."""
import hashlib
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
import http_helpers as hh  # noqa: E402
from limits_helpers import recv_until, nothing_arrives, stop_ok  # noqa: E402

# Several routes share {port}; the others listen on port 0 each.
CONFIG = """
[root]
listen = 127.0.0.1:{port}
protocol = cgi
exec = envcgi

[hi]
listen = 127.0.0.1:{port}
protocol = cgi
path = /hi
exec = envcgi

[resp]
listen = 127.0.0.1:{port}
protocol = cgi
path = /resp
exec = resp

[sum]
listen = 127.0.0.1:{port}
protocol = cgi
path = /sum
exec = sum

[nph]
listen = 127.0.0.1:{port}
protocol = nph
path = /nph
exec = nphs

[py]
listen = 127.0.0.1:{port}
protocol = cgi
path = /py
exec = pyform

[flags]
listen = 127.0.0.1:{port}
protocol = cgi
path = /flags
exec = flags

[nphflags]
listen = 127.0.0.1:{port}
protocol = nph
path = /nphflags
exec = flags

[only]
listen = 127.0.0.1:0
protocol = cgi
path = /only
exec = envcgi

[denied]
listen = 127.0.0.1:0
protocol = cgi
exec = envcgi
deny = 127.0.0.0/8

[busy]
listen = 127.0.0.1:0
protocol = cgi
exec = slow
env = GATE={dir}/go
max_children = 1
on_busy = refuse

[queued]
listen = 127.0.0.1:0
protocol = cgi
exec = slow
env = GATE={dir}/go
max_children = 1
on_busy = wait

[gone]
listen = 127.0.0.1:0
protocol = cgi
exec = gone
"""

ENVCGI = b"""#!/bin/sh
printf 'Content-Type: text/plain\\r\\nX-Route: %s\\r\\n\\r\\n' "$GATEWAY_ROUTE"
exec /usr/bin/env
"""

# Reads the body as a CGI program must: CONTENT_LENGTH bytes, or to EOF
# when there is no length (a chunked request). ?echo sends it back.
SUM = b"""#!/bin/sh
if [ "$QUERY_STRING" = echo ]; then
    printf 'Content-Type: application/octet-stream\\r\\n\\r\\n'
    exec head -c "$CONTENT_LENGTH"
fi
printf 'Content-Type: text/plain\\r\\n\\r\\n'
if [ -n "${CONTENT_LENGTH+set}" ]; then
    head -c "$CONTENT_LENGTH" | sha256sum | cut -d' ' -f1
else
    cat | sha256sum | cut -d' ' -f1
fi
echo "cl=${CONTENT_LENGTH-unset}"
echo "te=${HTTP_TRANSFER_ENCODING-unset}"
"""

NPHS = b"""#!/bin/sh
printf 'HTTP/1.1 207 Multi-Status\\r\\nContent-Type: text/x-nph\\r\\nX-Nph: %s\\r\\nConnection: close\\r\\n\\r\\nnph body\\n' "$PATH_INFO"
"""

RESP = b"""#!/bin/sh
case "$QUERY_STRING" in
teapot)   printf "Status: 418 I'm a teapot\\r\\nContent-Type: text/plain\\r\\n\\r\\nshort and stout\\n" ;;
redirect) printf 'Location: http://example.org/elsewhere\\r\\n\\r\\n' ;;
local)    printf 'Location: /elsewhere\\r\\n\\r\\n' ;;
crstatus) printf 'Status: 200 OK\\rInjected: yes\\r\\nContent-Type: text/plain\\r\\n\\r\\nx\\n' ;;
crheader) printf 'Content-Type: text/plain\\r\\nX-Evil: a\\rSet-Cookie: b\\r\\n\\r\\nx\\n' ;;
nohead)   printf 'this is a body without any header block\\n' ;;
silent)   exit 0 ;;
hop)      printf 'Content-Type: text/plain\\r\\nConnection: keep-alive\\r\\nKeep-Alive: timeout=5\\r\\nTransfer-Encoding: chunked\\r\\nX-Kept: 1\\r\\n\\r\\nhop body\\n' ;;
lf)       printf 'Content-Type: text/plain\\nX-Lf: 1\\n\\nlf body\\n' ;;
twocl)    printf 'Content-Type: text/plain\\r\\nContent-Length: 5\\r\\nContent-Length: 50\\r\\n\\r\\nhello and 45 bytes more that never come\\n' ;;
samecl)   printf 'Content-Type: text/plain\\r\\nContent-Length: 6\\r\\ncontent-length: 6\\r\\n\\r\\nhello\\n' ;;
*)        printf 'Content-Type: text/x-resp\\r\\nX-Method: %s\\r\\n\\r\\nresp body\\n' "$REQUEST_METHOD" ;;
esac
"""

SLOW = b"""#!/bin/sh
while [ ! -e "$GATE" ]; do sleep 0.05; done
printf 'Content-Type: text/plain\\r\\n\\r\\nserved %s\\n' "$GATEWAY_CONN"
"""

FLAGS = b"""#!/usr/bin/python3
import fcntl, os
f = [fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK for fd in (0, 1)]
if os.environ["GATEWAY_ROUTE"] == "nphflags":
    os.write(1, b"HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\n")
else:
    os.write(1, b"Content-Type: text/plain\\r\\n\\r\\n")
os.write(1, ("%d %d\\n" % tuple(f)).encode())
"""

# A Python CGI as they are written: cgi.FieldStorage reads the query
# string and a form body (by CONTENT_LENGTH) from the environment.
PYFORM = b"""#!/usr/bin/python3
import os, sys, warnings
warnings.simplefilter("ignore")
try:
    import cgi
    form = cgi.FieldStorage()
    fields = {k: form.getfirst(k) for k in form.keys()}
except ImportError:  # Python 3.13 dropped the module
    from urllib.parse import parse_qsl
    body = sys.stdin.read(int(os.environ.get("CONTENT_LENGTH") or 0))
    fields = dict(parse_qsl(os.environ["QUERY_STRING"]) + parse_qsl(body))
print("Content-Type: text/plain")
print("Status: 201 Created")
print()
for k in sorted(fields):
    print("%s=%s" % (k, fields[k]))
sys.stdout.flush()
"""

FILES = {
    "pyform": (PYFORM, 0o755),
    "flags": (FLAGS, 0o755),
    "envcgi": (ENVCGI, 0o755),
    "sum": (SUM, 0o755),
    "nphs": (NPHS, 0o755),
    "resp": (RESP, 0o755),
    "slow": (SLOW, 0o755),
    "gone": (b"#!/bin/sh\nexit 0\n", 0o755),
}


def start():
    return hh.gateway_on_free_port(CONFIG, FILES)


def env_get(addr, target, headers=(), version="HTTP/1.1"):
    r = hh.get(addr, target, headers, version=version)
    assert r.status == 200, r
    return hh.cgi_env(r)


# ---- curl ----

def test_curl_get():
    g, port = start()
    with g:
        addr = g.addr("root")
        p = hh.curl("-i", hh.url(addr, "/resp"))
        assert p.returncode == 0, p
        r = hh.Response(p.stdout)
        assert r.status == 200 and r.version == "HTTP/1.1", r
        assert r.header("Content-Type") == "text/x-resp", r
        assert r.header("X-Method") == "GET", r
        assert r.header("Connection") == "close", r
        assert r.body == b"resp body\n", r
        ev = g.wait_event("response", route="resp")[0]
        assert ev["status"] == "200" and ev["bytes"] == str(len(b"resp body\n")), ev
        stop_ok(g)


def test_python_cgi_form():
    g, port = start()
    with g:
        addr = g.addr("root")
        p = hh.curl("-i", "--data", "name=gateway&greeting=hello+world%21",
                    hh.url(addr, "/py/form?lang=c&x=1"))
        assert p.returncode == 0, (p, g.log())
        r = hh.Response(p.stdout)
        assert r.status == 201, (r, g.log())
        assert r.body.decode().splitlines() == [
            "greeting=hello world!", "lang=c", "name=gateway", "x=1"], (r, g.log())
        stop_ok(g)


def test_curl_post_1mb_read_by_content_length():
    body = os.urandom(1 << 20)
    g, port = start()
    with g:
        addr = g.addr("root")
        path = os.path.join(g.dir, "body.bin")
        with open(path, "wb") as f:
            f.write(body)
        p = hh.curl("--data-binary", "@" + path, "-H", "Content-Type: application/x-test",
                    hh.url(addr, "/sum?echo"))
        assert p.returncode == 0, (p, g.log())
        assert len(p.stdout) == len(body) and p.stdout == body, (len(p.stdout), g.log())
        p = hh.curl("--data-binary", "@" + path, hh.url(addr, "/sum"))
        assert p.returncode == 0, (p, g.log())
        lines = p.stdout.decode().split("\n")
        assert lines[0] == hashlib.sha256(body).hexdigest(), (p.stdout, g.log())
        assert lines[1] == "cl=%d" % len(body), p.stdout
        stop_ok(g)


def test_curl_chunked_post():
    body = os.urandom(5 * (1 << 20) + 12345)
    g, port = start()
    with g:
        addr = g.addr("root")
        path = os.path.join(g.dir, "body.bin")
        with open(path, "wb") as f:
            f.write(body)
        p = hh.curl("-H", "Transfer-Encoding: chunked", "--data-binary", "@" + path,
                    hh.url(addr, "/sum"))
        assert p.returncode == 0, (p, g.log())
        lines = p.stdout.decode().split("\n")
        assert lines[0] == hashlib.sha256(body).hexdigest(), (p.stdout, g.log())
        # No CONTENT_LENGTH: the body ends at EOF of the pipe.
        assert lines[1] == "cl=unset", p.stdout
        stop_ok(g)


def test_raw_chunked_with_extensions_and_trailer():
    g, port = start()
    with g:
        addr = g.addr("root")
        parts = [b"hello ", b"", b"chunked ", b"world\n"]
        data = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in parts if c)
        data += b"0\r\nX-Trailer: t\r\n\r\n"
        r = hh.request(addr, "POST", "/sum", [("Transfer-Encoding", "chunked")], data)
        assert r.status == 200, r
        lines = r.body.decode().split("\n")
        assert lines[0] == hashlib.sha256(b"hello chunked world\n").hexdigest(), r
        assert lines[1] == "cl=unset", r
        stop_ok(g)


def test_expect_100_continue():
    body = os.urandom(50000)
    g, port = start()
    with g:
        addr = g.addr("root")
        path = os.path.join(g.dir, "body.bin")
        with open(path, "wb") as f:
            f.write(body)
        # A long expect timeout: curl must wait for the 100, not send anyway.
        p = hh.curl("-v", "--expect100-timeout", "60", "-H", "Expect: 100-continue",
                    "--data-binary", "@" + path, hh.url(addr, "/sum"))
        assert p.returncode == 0, (p, g.log())
        assert b"HTTP/1.1 100 Continue" in p.stderr, p.stderr
        assert p.stdout.decode().split("\n")[0] == hashlib.sha256(body).hexdigest(), p
        # Raw: the 100 comes before the final answer, once.
        s = gw.connect(addr, 30)
        try:
            s.sendall(b"POST /sum HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            got = recv_until(s, b"\r\n\r\n", 30)
            assert got.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), got
            s.sendall(b"abcde")
            rest = hh.recv_all(s)
        finally:
            s.close()
        r = hh.Response((got + rest)[len(b"HTTP/1.1 100 Continue\r\n\r\n"):])
        assert r.status == 200, r
        assert r.body.split(b"\n")[0] == hashlib.sha256(b"abcde").hexdigest().encode(), r
        stop_ok(g)


def test_nph():
    g, port = start()
    with g:
        addr = g.addr("root")
        p = hh.curl("-i", hh.url(addr, "/nph/p"))
        assert p.returncode == 0, p
        r = hh.Response(p.stdout)
        assert r.status_line == "HTTP/1.1 207 Multi-Status", r
        assert r.header("X-Nph") == "/p" and r.header("Content-Type") == "text/x-nph", r
        assert r.body == b"nph body\n", r
        # Exactly what the program wrote, nothing of the gateway's.
        raw = hh.exchange(addr, b"GET /nph/q HTTP/1.1\r\nHost: h\r\n\r\n")
        assert raw == (b"HTTP/1.1 207 Multi-Status\r\nContent-Type: text/x-nph\r\n"
                       b"X-Nph: /q\r\nConnection: close\r\n\r\nnph body\n"), raw
        assert not g.events("response"), g.log()
        stop_ok(g)


def test_child_socket_is_blocking():
    # SPEC: what the child gets on stdin (the body's pipe, or end of file)
    # and an nph child's stdout (the connection) are in blocking mode,
    # whatever the gateway did with the socket while it read the head.
    g, port = start()
    with g:
        addr = g.addr("root")
        cgi = hh.get(addr, "/flags")
        nph = hh.get(addr, "/nphflags")
        # "stdin stdout" O_NONBLOCK bits; a cgi child's stdout is a pipe.
        assert (cgi.body, nph.body) == (b"0 0\n", b"0 0\n"), (cgi, nph)
        stop_ok(g)


def test_body_sent_after_spawn():
    # A client whose body comes after the child has started (a slow
    # network, or curl waiting for 100 Continue): the child's read
    # must wait for it, not fail.
    body = os.urandom(300000)
    g, port = start()
    with g:
        addr = g.addr("root")
        s = gw.connect(addr, 60)
        try:
            s.sendall(b"POST /sum?echo HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n"
                      % len(body))
            pid = int(g.wait_event("spawn", route="sum", timeout=30)[0]["pid"])
            # Until the program waits in its read (head, exec'd by the
            # script), or has given up.
            gw.wait_for(lambda: hh.blocked_in(pid, b"head"), 30, "head to read")
            s.sendall(body)
            r = hh.Response(hh.recv_all(s))
        finally:
            s.close()
        assert r.status == 200, (r, g.log())
        assert r.body == body, (len(r.body), g.log())
        stop_ok(g)


# ---- routing ----

def test_longest_whole_segment_prefix():
    g, port = start()
    with g:
        addr = g.addr("root")
        for target, route, script, info in (
                ("/hi", "hi", "/hi", ""),
                ("/hi/", "hi", "/hi", "/"),
                ("/hi/x", "hi", "/hi", "/x"),
                ("/hi/x/y", "hi", "/hi", "/x/y"),
                ("/hiya", "root", "", "/hiya"),
                ("/hi.x", "root", "", "/hi.x"),
                ("/", "root", "", "/"),
                ("/other/hi", "root", "", "/other/hi")):
            r = hh.get(addr, target)
            assert r.header("X-Route") == route, (target, r)
            e = hh.cgi_env(r)
            assert e["GATEWAY_ROUTE"] == route, (target, e)
            assert e["SCRIPT_NAME"] == script and e["PATH_INFO"] == info, (target, e)
        # Only the first route of the shared socket logs a listen line.
        assert [e["route"] for e in g.events("listen")
                if e["addr"] == "127.0.0.1:%d" % port] == ["root"], g.log()
        stop_ok(g)


def test_404_when_no_route():
    g, port = start()
    with g:
        addr = g.addr("only")
        assert hh.get(addr, "/only/x").status == 200
        r = hh.get(addr, "/other")
        assert r.status == 404 and r.header("Connection") == "close", r
        assert r.status_line == "HTTP/1.1 404 Not Found", r
        r = hh.get(addr, "/onlyx")
        assert r.status == 404, r
        errs = g.wait_event("http_error", count=2)
        assert [e["status"] for e in errs] == ["404", "404"], errs
        assert len(g.events("spawn")) == 1, g.log()
        stop_ok(g)


def test_path_normalisation():
    g, port = start()
    with g:
        addr = g.addr("root")
        p = hh.curl("--path-as-is", "-i", hh.url(addr, "/hi/./a/../b"))
        assert p.returncode == 0, p
        r = hh.Response(p.stdout)
        e = hh.cgi_env(r)
        assert e["GATEWAY_ROUTE"] == "hi" and e["PATH_INFO"] == "/b", e
        assert e["REQUEST_URI"] == "/hi/./a/../b", e
        # Dot segments that leave the route for another.
        e = env_get(addr, "/hi/../hiya/./x")
        assert e["GATEWAY_ROUTE"] == "root" and e["PATH_INFO"] == "/hiya/x", e
        # Percent-decoded once, then chosen: %68 is 'h'.
        e = env_get(addr, "/%68i/%2e%2e/hi/a%20b")
        assert e["GATEWAY_ROUTE"] == "hi" and e["PATH_INFO"] == "/a b", e
        e = env_get(addr, "/hi/%2541")
        assert e["PATH_INFO"] == "/%41", e
        for target, status in (("/hi/../../x", 400), ("/..", 400), ("/a/%2e%2e/%2e%2e/b", 400),
                               ("/hi%2Fx", 404), ("/hi/a%2fb", 404),
                               ("/a%00b", 400), ("/a%0ab", 400), ("/a%zzb", 400)):
            p = hh.curl("--path-as-is", "-i", hh.url(addr, target))
            assert p.returncode == 0, (target, p)
            r = hh.Response(p.stdout)
            assert r.status == status, (target, r)
        g.wait_event("http_error", count=8)
        stop_ok(g)


# ---- CGI variables ----

def test_cgi_variables():
    g, port = start()
    with g:
        addr = g.addr("root")
        s = gw.connect(addr, 30)
        try:
            me = s.getsockname()
            s.sendall(b"GET /hi/x/y?a=b&c=%20d HTTP/1.1\r\n"
                      b"Host: myhost.example:8080\r\n"
                      b"X-Rep: one\r\n"
                      b"Accept: text/plain\r\n"
                      b"X-Rep: two\r\n"
                      b"x-rep: three\r\n"
                      b"X_Under: dropped\r\n"
                      b"Proxy: http://evil.example:3128\r\n"
                      b"Authorization: Basic dXNlcjpwYXNz\r\n"
                      b"X-Empty:\r\n"
                      b"\r\n")
            r = hh.Response(hh.recv_all(s))
        finally:
            s.close()
        e = hh.cgi_env(r)
        expect = {
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "/hi",
            "PATH_INFO": "/x/y",
            "QUERY_STRING": "a=b&c=%20d",
            "REQUEST_URI": "/hi/x/y?a=b&c=%20d",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_NAME": "myhost.example",
            "SERVER_PORT": str(port),
            "SERVER_ADDR": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": str(me[1]),
            "HTTP_HOST": "myhost.example:8080",
            "HTTP_X_REP": "one, two, three",
            "HTTP_ACCEPT": "text/plain",
            "HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz",
            "HTTP_X_EMPTY": "",
            "PROTO": "TCP",
            "GATEWAY_ROUTE": "hi",
        }
        for k, v in expect.items():
            assert e.get(k) == v, (k, e.get(k), v, e)
        assert e["SERVER_SOFTWARE"].startswith("gatewayd/"), e
        assert "HTTP_PROXY" not in e, e
        assert "HTTP_X_UNDER" not in e and not any("UNDER" in k for k in e), e
        assert "CONTENT_LENGTH" not in e and "CONTENT_TYPE" not in e, e
        assert "PATH" in e and "HOME" not in e, e
        stop_ok(g)


def test_cgi_variables_post_and_http10():
    g, port = start()
    with g:
        addr = g.addr("root")
        r = hh.request(addr, "POST", "/x?q", [("Content-Type", "application/json")],
                       b"{}", version="HTTP/1.0")
        e = hh.cgi_env(r)
        assert e["REQUEST_METHOD"] == "POST" and e["SERVER_PROTOCOL"] == "HTTP/1.0", e
        assert e["CONTENT_LENGTH"] == "2" and e["CONTENT_TYPE"] == "application/json", e
        assert "HTTP_CONTENT_TYPE" not in e and "HTTP_CONTENT_LENGTH" not in e, e
        assert e["QUERY_STRING"] == "q" and e["PATH_INFO"] == "/x", e
        # No Host: SERVER_NAME is the local address.
        raw = hh.exchange(addr, b"GET /n HTTP/1.0\r\n\r\n")
        e = hh.cgi_env(hh.Response(raw))
        assert e["SERVER_NAME"] == "127.0.0.1" and e["QUERY_STRING"] == "", e
        assert "HTTP_HOST" not in e, e
        stop_ok(g)


# ---- the program's response ----

def test_status_from_program():
    g, port = start()
    with g:
        addr = g.addr("root")
        r = hh.get(addr, "/resp?teapot")
        assert r.status_line == "HTTP/1.1 418 I'm a teapot", r
        assert "status" not in r.header_names(), r
        assert r.body == b"short and stout\n", r
        assert g.wait_event("response", route="resp")[0]["status"] == "418"
        stop_ok(g)


def test_location_redirects():
    g, port = start()
    with g:
        addr = g.addr("root")
        r = hh.get(addr, "/resp?redirect")
        assert r.status == 302, r
        assert r.header("Location") == "http://example.org/elsewhere", r
        r = hh.get(addr, "/resp?local")
        assert r.status == 500, r
        assert r.header("Location") is None, r
        err = g.wait_event("http_error", route="resp")[0]
        assert err["status"] == "500", err
        stop_ok(g)


def test_bad_header_block_is_502():
    g, port = start()
    with g:
        addr = g.addr("root")
        for q in ("crstatus", "crheader", "nohead", "silent"):
            r = hh.get(addr, "/resp?" + q)
            assert r.status == 502, (q, r)
            assert b"Injected" not in r.raw and b"Set-Cookie" not in r.raw, (q, r)
        errs = g.wait_event("http_error", count=4, route="resp")
        assert [e["status"] for e in errs] == ["502"] * 4, errs
        stop_ok(g)


def test_program_content_length_checked():
    g, port = start()
    with g:
        addr = g.addr("root")
        # Two lengths that differ: the client would have to pick one.
        r = hh.get(addr, "/resp?twocl")
        assert r.status == 502, r
        assert b"hello" not in r.raw, r
        err = g.wait_event("http_error", route="resp")[0]
        assert err["status"] == "502", err
        # The same length twice is passed on once.
        r = hh.get(addr, "/resp?samecl")
        assert r.status == 200, r
        assert r.header_names().count("content-length") == 1, r
        assert r.header("Content-Length") == "6" and r.body == b"hello\n", r
        p = hh.curl("-i", hh.url(addr, "/resp?samecl"))
        assert p.returncode == 0 and p.stdout.endswith(b"\r\n\r\nhello\n"), p
        stop_ok(g)


def test_hop_by_hop_dropped_and_lf_lines():
    g, port = start()
    with g:
        addr = g.addr("root")
        r = hh.get(addr, "/resp?hop")
        assert r.status == 200, r
        names = r.header_names()
        assert "keep-alive" not in names and "transfer-encoding" not in names, r
        assert names.count("connection") == 1 and r.header("Connection") == "close", r
        assert r.header("X-Kept") == "1", r
        assert r.body == b"hop body\n", r
        r = hh.get(addr, "/resp?lf")
        assert r.status == 200 and r.header("X-Lf") == "1" and r.body == b"lf body\n", r
        stop_ok(g)


def test_head_has_no_body():
    g, port = start()
    with g:
        addr = g.addr("root")
        r = hh.request(addr, "HEAD", "/resp")
        assert r.status == 200, r
        assert r.header("Content-Type") == "text/x-resp" and r.header("X-Method") == "HEAD", r
        assert r.body == b"", r
        p = hh.curl("-I", hh.url(addr, "/resp"))
        assert p.returncode == 0, p
        assert hh.Response(p.stdout).status == 200, p
        stop_ok(g)


# ---- the gateway's own answers ----

def test_head_too_large_431():
    g, port = start()
    with g:
        addr = g.addr("root")
        data = (b"GET / HTTP/1.1\r\nHost: h\r\n" +
                b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(20)) + b"\r\n")
        r = hh.Response(hh.refused_talk(addr, data))
        assert r.status == 431 and r.header("Connection") == "close", r
        g.wait_event("http_error", status=431)
        assert not g.events("spawn"), g.log()
        stop_ok(g)


def test_head_not_finished_408():
    g, port = start()
    with g:
        addr = g.addr("root")
        s = gw.connect(addr, 60)
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n")
            raw = hh.recv_all(s)
        finally:
            s.close()
        r = hh.Response(raw)
        assert r.status == 408 and r.header("Connection") == "close", r
        g.wait_event("http_error", status=408)
        assert not g.events("spawn"), g.log()
        stop_ok(g)


def test_framing_errors():
    g, port = start()
    with g:
        addr = g.addr("root")
        r = hh.Response(hh.refused_talk(
            addr, b"POST /sum HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"))
        assert r.status == 501, r
        r = hh.Response(hh.refused_talk(
            addr, b"POST /sum HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
        assert r.status == 400, r
        r = hh.Response(hh.refused_talk(
            addr, b"POST /sum HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                  b"Content-Length: 6\r\n\r\nhello!"))
        assert r.status == 400, r
        r = hh.Response(hh.refused_talk(addr, b"GARBAGE\x01 / HTTP/1.1\r\n\r\n"))
        assert r.status == 400, r
        errs = g.wait_event("http_error", count=4)
        assert [e["status"] for e in errs] == ["501", "400", "400", "400"], errs
        assert not g.events("spawn"), g.log()
        stop_ok(g)


def test_deny_403():
    g, port = start()
    with g:
        r = hh.get(g.addr("denied"), "/")
        assert r.status == 403 and r.header("Connection") == "close", r
        ref = g.wait_event("refuse", route="denied")[0]
        assert ref["reason"] == "deny", ref
        assert not g.events("spawn"), g.log()
        stop_ok(g)


def test_busy_503():
    g, port = start()
    with g:
        addr = g.addr("busy")
        s = gw.connect(addr, 60)
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            g.wait_event("spawn", route="busy", timeout=30)
            r = hh.get(addr, "/")
            assert r.status == 503 and r.header("Retry-After"), r
            ref = g.wait_event("refuse", route="busy")[0]
            assert ref["reason"] == "busy", ref
            open(os.path.join(g.dir, "go"), "w").close()
            r = hh.Response(hh.recv_all(s))
            assert r.status == 200 and r.body.startswith(b"served "), r
        finally:
            s.close()
        assert len(g.events("spawn", route="busy")) == 1, g.log()
        stop_ok(g)


def test_on_busy_wait_queues_request():
    g, port = start()
    with g:
        addr = g.addr("queued")
        a = gw.connect(addr, 60)
        b = gw.connect(addr, 60)
        try:
            a.sendall(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
            g.wait_event("spawn", route="queued", timeout=30)
            b.sendall(b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
            # b waits: no answer, no second child, no refusal.
            assert nothing_arrives(b, 1.0)
            assert len(g.events("spawn", route="queued")) == 1, g.log()
            assert not g.events("refuse") and not g.events("http_error"), g.log()
            open(os.path.join(g.dir, "go"), "w").close()
            ra = hh.Response(hh.recv_all(a))
            rb = hh.Response(hh.recv_all(b))
        finally:
            a.close()
            b.close()
        assert ra.status == 200 and rb.status == 200, (ra, rb)
        sps = g.wait_event("spawn", count=2, route="queued")
        assert ra.body == b"served %s\n" % sps[0]["conn"].encode(), (ra, sps)
        assert rb.body == b"served %s\n" % sps[1]["conn"].encode(), (rb, sps)
        stop_ok(g)


NEIGHBOURS = """
[slow]
listen = 127.0.0.1:{port}
protocol = cgi
exec = slow
env = GATE={dir}/go
max_children = 1
on_busy = wait

[fast]
listen = 127.0.0.1:{port}
protocol = cgi
path = /fast
exec = envcgi
"""


def test_full_route_does_not_stall_its_neighbours():
    """[slow] and [fast] share a listener; [slow] is full (max_children =
    1, on_busy = wait) with one more request of its own waiting: /fast is
    still answered at once, while [slow]'s child runs."""
    g, port = hh.gateway_on_free_port(NEIGHBOURS, FILES)
    with g:
        addr = ("127.0.0.1", port)
        a, b = gw.connect(addr, 60), gw.connect(addr, 60)
        try:
            a.sendall(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
            first = g.wait_event("spawn", route="slow", timeout=30)[0]
            b.sendall(b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
            for _ in range(3):
                r = hh.get(addr, "/fast/x", timeout=20)
                assert r.status == 200 and r.header("X-Route") == "fast", r
            # All the while [slow]'s first child ran and the second waited.
            assert not g.events("exit", route="slow"), g.log()
            assert len(g.events("spawn", route="slow")) == 1, g.log()
            open(os.path.join(g.dir, "go"), "w").close()
            ra, rb = hh.Response(hh.recv_all(a)), hh.Response(hh.recv_all(b))
        finally:
            a.close()
            b.close()
        assert ra.body == b"served %s\n" % first["conn"].encode(), ra
        assert rb.status == 200, rb
        stop_ok(g)


def test_queued_client_that_leaves_gets_no_child():
    """A request waiting for its route's slot (on_busy = wait) whose client
    closes: logged gone, and no child is started for it when the slot
    frees; the request queued behind it is served."""
    g, port = start()
    with g:
        addr = g.addr("queued")
        a, b, c = gw.connect(addr, 60), gw.connect(addr, 60), gw.connect(addr, 60)
        try:
            a.sendall(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
            g.wait_event("spawn", route="queued", timeout=30)
            b.sendall(b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
            b.close()
            gone = g.wait_event("gone", route="queued")[0]
            assert gone["reason"] == "closed", gone
            c.sendall(b"GET /c HTTP/1.1\r\nHost: h\r\n\r\n")
            open(os.path.join(g.dir, "go"), "w").close()
            ra, rc = hh.Response(hh.recv_all(a)), hh.Response(hh.recv_all(c))
        finally:
            a.close()
            c.close()
        assert ra.status == 200 and rc.status == 200, (ra, rc)
        sps = g.wait_event("spawn", count=2, route="queued")
        assert len(sps) == 2 and gone["conn"] not in [e["conn"] for e in sps], g.log()
        assert rc.body == b"served %s\n" % sps[1]["conn"].encode(), (rc, sps)
        stop_ok(g)


FED = """
[fed]
listen = 127.0.0.1:0
protocol = cgi
exec = fed.sh
env = DIR={dir}
stderr = null
"""

# Reads its chunked body to the end, says so, and answers when told.
FED_SH = b"""#!/bin/sh
cat >/dev/null
touch "$DIR/read"
while [ ! -e "$DIR/go" ]; do sleep 0.05; done
printf 'Content-Type: text/plain\\n\\nfed\\n'
"""


def test_client_fin_after_chunked_body_does_not_spin():
    """The body feeder ends when the body does; the client's FIN that
    follows (while the cgi program still works) must not wake the loop
    over and over: the feeder's poll is closed before its descriptor."""
    with gw.Gateway(FED, files={"fed.sh": (FED_SH, 0o755)}) as g:
        s = g.connect("fed", timeout=30)
        try:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"5\r\nhello\r\n")
            g.wait_event("spawn", route="fed")
            s.sendall(b"0\r\n\r\n")     # the end comes in a read of its own
            gw.wait_for(lambda: os.path.exists(os.path.join(g.dir, "read")), 20,
                        "the body to be read")
            s.shutdown(socket.SHUT_WR)
            cpu = g.cpu_seconds()
            nothing_arrives(s, 1.5)
            used = g.cpu_seconds() - cpu
            assert used < 0.5, "the gateway used %.2f s of CPU in 1.5 s: it spins" % used
            open(os.path.join(g.dir, "go"), "w").close()
            r = hh.Response(hh.recv_all(s))
        finally:
            s.close()
        assert r.status == 200 and r.body == b"fed\n", r
        stop_ok(g)


def test_program_cannot_start_500():
    g, port = start()
    with g:
        os.remove(os.path.join(g.dir, "gone"))
        r = hh.get(g.addr("gone"), "/")
        assert r.status == 500 and r.header("Connection") == "close", r
        err = g.wait_event("spawn_error", route="gone")[0]
        assert err.get("error"), err
        # The gateway carries on.
        assert hh.get(g.addr("root"), "/").status == 200
        stop_ok(g)


if __name__ == "__main__":
    gw.main(globals())
