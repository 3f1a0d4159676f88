"""The child's environment is built from scratch, as the SPEC lists it."""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402

CONFIG = """
[tcp]
listen = 127.0.0.1:0
exec = /usr/bin/env
pass_env = GW_TEST_PASSED GW_TEST_UNSET
env = GREETING=a b\\; c
stderr = null

[v6]
listen = [::1]:0
exec = /usr/bin/env

[ipc]
listen = unix:{dir}/env.sock
exec = /usr/bin/env
env = PATH=/opt/bin

[abstract]
listen = unix:@gwt-env-{dir}
exec = /usr/bin/env
"""


def env_of(g, route):
    out = gw.talk(g.addr(route)).decode()
    return dict(line.split("=", 1) for line in out.splitlines())


def start():
    os.environ["GW_TEST_PASSED"] = "yes"
    os.environ["GW_TEST_SECRET"] = "must not leak"
    return gw.Gateway(CONFIG)


def test_tcp_v4():
    with start() as g:
        host, port = g.addr("tcp")
        e = env_of(g, "tcp")
        assert e["PROTO"] == "TCP"
        assert e["TCPREMOTEIP"] == "127.0.0.1" and e["REMOTE_ADDR"] == "127.0.0.1"
        assert e["TCPLOCALIP"] == "127.0.0.1" and e["SERVER_ADDR"] == "127.0.0.1"
        assert e["TCPLOCALPORT"] == str(port) and e["SERVER_PORT"] == str(port)
        assert e["TCPREMOTEPORT"] == e["REMOTE_PORT"] and int(e["TCPREMOTEPORT"]) > 0
        assert e["GATEWAY_ROUTE"] == "tcp"
        assert int(e["GATEWAY_CONN"]) >= 1
        assert e["PATH"] == "/usr/local/bin:/usr/bin:/bin"
        assert e["GREETING"] == "a b; c"
        assert e["GW_TEST_PASSED"] == "yes"
        assert "GW_TEST_UNSET" not in e
        assert "GW_TEST_SECRET" not in e and "HOME" not in e
        spawn = g.wait_event("spawn", route="tcp")[0]
        assert spawn["conn"] == e["GATEWAY_CONN"]


def test_tcp_v6():
    with start() as g:
        e = env_of(g, "v6")
        assert e["TCPREMOTEIP"] == "::1" and e["TCPLOCALIP"] == "::1"
        assert g.wait_event("spawn", route="v6")[0]["peer"].startswith("[::1]:")


def test_unix():
    with start() as g:
        e = env_of(g, "ipc")
        assert e["PROTO"] == "IPC"
        assert e["IPCLOCALPATH"] == os.path.join(g.dir, "env.sock")
        assert e["IPCREMOTEEUID"] == str(os.geteuid())
        assert e["IPCREMOTEEGID"] == str(os.getegid())
        assert int(e["IPCREMOTEPID"]) == os.getpid()
        assert e["PATH"] == "/opt/bin"
        assert "TCPREMOTEIP" not in e


def test_abstract():
    with start() as g:
        e = env_of(g, "abstract")
        assert e["IPCLOCALPATH"] == "@gwt-env-" + g.dir


def test_ids_are_unique():
    with start() as g:
        ids = [env_of(g, "tcp")["GATEWAY_CONN"] for _ in range(5)]
        assert len(set(ids)) == 5


if __name__ == "__main__":
    gw.main(globals())
