"""Helpers for the tests of HTTP routes and the PROXY protocol: free ports,
raw HTTP exchanges, curl, PROXY v1/v2 headers. gw.py has the rest."""
import socket
import struct
import subprocess

import gw


def free_port(host="127.0.0.1"):
    """A port nobody listens on right now (the kernel's choice). Used where
    port 0 cannot be: several routes sharing one address, haproxy."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def listening(port, host="127.0.0.1"):
    """True if something listens on host:port (read from /proc/net/tcp, so
    that checking makes no connection)."""
    want = "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(host))[0], port)
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == want and fields[3] == "0A":
                return True
    return False


def gateway_on_free_port(config, files=None, tries=5):
    """A Gateway whose config has {port} filled with a free port: retried
    if another process took the port meanwhile. Returns (g, port)."""
    last = None
    for _ in range(tries):
        port = free_port()
        text = config.replace("{port}", str(port))
        g = gw.Gateway(text, start=False, files=files)
        try:
            g.start()
            return g, port
        except AssertionError as e:
            last = e
            g.expected_status = None    # exited 1: the port was taken
            g.close()
    raise last


# ---- HTTP over a raw socket ----

class Response:
    def __init__(self, raw):
        self.raw = raw
        head, sep, self.body = raw.partition(b"\r\n\r\n")
        if not sep:
            raise AssertionError("no complete HTTP head in %r" % raw[:2000])
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0]
        parts = lines[0].split(" ", 2)
        self.version = parts[0]
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers.append((k.strip(), v.strip()))

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_names(self):
        return [k.lower() for k, _ in self.headers]

    def __repr__(self):
        return "Response(%r)" % self.raw[:3000]


def recv_all(s):
    chunks = []
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks)


def exchange(addr, data, timeout=30, half_close=False):
    """Sends raw bytes, reads to EOF: the raw answer. The socket stays open
    for writing unless half_close (a CGI program reads by CONTENT_LENGTH,
    not to EOF)."""
    s = gw.connect(addr, timeout)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        return recv_all(s)
    finally:
        s.close()


def refused_talk(addr, data, timeout=30):
    """Like gw.talk, for a connection the server may close (or reset)
    before reading: what arrived, b"" after a reset."""
    s = gw.connect(addr, timeout)
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return recv_all(s)
    finally:
        s.close()


def request(addr, method="GET", target="/", headers=(), body=b"",
            version="HTTP/1.1", timeout=30):
    """One request (Host added unless given): a Response."""
    lines = ["%s %s %s" % (method, target, version)]
    if not any(k.lower() == "host" for k, _ in headers):
        lines.append("Host: test.example")
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    if body and not any(k.lower() in ("content-length", "transfer-encoding")
                        for k, _ in headers):
        lines.append("Content-Length: %d" % len(body))
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    return Response(exchange(addr, data, timeout))


def get(addr, target="/", headers=(), **kw):
    return request(addr, "GET", target, headers, **kw)


def cgi_env(resp):
    """The environment an env-dumping CGI program printed as its body."""
    assert resp.status == 200, resp
    out = {}
    for line in resp.body.decode("utf-8", "replace").split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def curl(*args, timeout=120, input=None):
    """Runs curl (silent, errors shown): the CompletedProcess, output bytes."""
    return subprocess.run(["curl", "-sS", "--max-time", str(timeout)] + list(args),
                          input=input, capture_output=True, timeout=timeout + 30)


def url(addr, path="/"):
    host, port = addr
    return "http://%s:%d%s" % (host, port, path)


# ---- PROXY protocol headers ----

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, dst, sport, dport):
    fam = "TCP6" if ":" in src else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n" % (fam, src, dst, sport, dport)).encode()


def v2(src=None, dst=None, sport=0, dport=0, command=1, family=None, tlvs=b""):
    """A v2 header: command 1 = PROXY, 0 = LOCAL. With no addresses the
    family is UNSPEC. tlvs: raw bytes appended after the addresses."""
    if src is None:
        fam, addrs = (family if family is not None else 0x00), b""
    elif ":" in src:
        fam = 0x21
        addrs = (socket.inet_pton(socket.AF_INET6, src) +
                 socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!HH", sport, dport))
    else:
        fam = 0x11
        addrs = (socket.inet_aton(src) + socket.inet_aton(dst) +
                 struct.pack("!HH", sport, dport))
    body = addrs + tlvs
    return V2_SIG + bytes([0x20 | command, fam]) + struct.pack("!H", len(body)) + body


def tlv(kind, value):
    return bytes([kind]) + struct.pack("!H", len(value)) + value


def ssl_tlv(client=0x01, verify=0, subs=b""):
    """PP2_TYPE_SSL: the client bits (0x01, PP2_CLIENT_SSL: the client
    came over TLS), the verify result, then sub-TLVs (tlv(0x21, b"TLSv1.3"))."""
    return tlv(0x20, bytes([client]) + struct.pack("!I", verify) + subs)


def blocked_in(pid, prog):
    """The process runs prog and sleeps (in its read), or is gone."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read()
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in "ZX" or (cmd.split(b"\0")[0].endswith(prog) and state == "S")
