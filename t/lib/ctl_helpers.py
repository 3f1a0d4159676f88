"""Helpers of the control socket's tests: gatewayctl run against a
gateway, and the raw line protocol through socat."""
import os
import subprocess

import gw


def ctl_binary():
    """build/gatewayctl beside the gateway under test (a uv or ASan tree
    that built only gatewayd uses the top build's)."""
    for d in (os.path.dirname(gw.BIN), os.path.join(gw.TOP, "build")):
        p = os.path.join(d, "gatewayctl")
        if os.access(p, os.X_OK):
            return p
    raise AssertionError("no gatewayctl beside %s: run make" % gw.BIN)


def control_path(g):
    """The control socket's path, as its control event logs it."""
    return g.wait_event("control")[0]["addr"][len("unix:"):]


def ctl(g, *args, preexec_fn=None, timeout=30):
    """gatewayctl -s PATH ARGS: (exit status, stdout, stderr)."""
    p = subprocess.run([ctl_binary(), "-s", control_path(g)] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout,
                       preexec_fn=preexec_fn)
    return p.returncode, p.stdout, p.stderr


def ctl_ok(g, *args, **kw):
    """gatewayctl that must succeed: its output's lines."""
    rc, out, err = ctl(g, *args, **kw)
    assert rc == 0 and err == "", "gatewayctl %s: %d %r %r\n%s" % (
        " ".join(map(str, args)), rc, out, err, g.log())
    return out.splitlines()


def ctl_fails(g, *args, **kw):
    """gatewayctl that must fail: its stderr."""
    rc, out, err = ctl(g, *args, **kw)
    assert rc == 1, "gatewayctl %s: %d %r %r" % (" ".join(map(str, args)), rc, out, err)
    return err


def socat(g, line, timeout=30):
    """The raw protocol: one line through socat, the answer's lines."""
    prog = gw.need_program("socat")
    p = subprocess.run([prog, "-t", "10", "-", "UNIX-CONNECT:" + control_path(g)],
                       input=line.encode(), capture_output=True, timeout=timeout)
    assert p.returncode == 0, (p.returncode, p.stderr)
    return p.stdout.decode().splitlines()


def status(g):
    """`status` as {key: value}, and {route: {key: value}}."""
    top, routes = {}, {}
    for line in ctl_ok(g, "status"):
        if line.startswith("route "):
            _, name, *pairs = line.split(" ")
            routes[name] = dict(p.split("=", 1) for p in pairs)
        else:
            k, _, v = line.partition(" ")
            top[k] = v
    return top, routes


def conns(g, *route):
    """`conns [ROUTE]` as rows: [id, route, peer, pid, age, state]."""
    return [line.split(" ") for line in ctl_ok(g, "conns", *route)]
