"""max_per_source: children for one client source at once. Over it a
connection is refused (busy_message, refuse reason=per_source), never
queued, while other sources are served."""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from limits_helpers import (connect_from, talk_from, recv_all,  # noqa: E402
                            recv_until, stop_ok)

CONFIG = """
[src]
listen = 127.0.0.1:0
exec = /bin/cat
max_per_source = 1
busy_message = one at a time\\r\\n

[dual]
listen = *:0
exec = /bin/cat
max_per_source = 1
busy_message = dual busy\\n

[ipc]
listen = unix:{dir}/ps.sock
exec = /bin/cat
max_per_source = 1
busy_message = uid busy\\n
"""


def test_per_source_v4():
    with gw.Gateway(CONFIG) as g:
        addr = g.addr("src")
        c1 = connect_from(addr, "127.0.0.1")
        c1.sendall(b"one\n")
        recv_until(c1, b"one\n")
        # A second connection from the same address: refused at once.
        assert talk_from(addr, "127.0.0.1") == b"one at a time\r\n"
        refused = g.wait_event("refuse", route="src")
        assert refused[0]["reason"] == "per_source", refused
        assert refused[0]["peer"].startswith("127.0.0.1:"), refused
        # Another source is served while the first still holds its slot.
        c2 = connect_from(addr, "127.0.0.2")
        c2.sendall(b"two\n")
        assert recv_until(c2, b"two\n") == b"two\n"
        # (The child may answer before its spawn line is written.)
        spawned = g.wait_event("spawn", count=2, route="src")
        assert len(spawned) == 2, g.log()
        assert spawned[1]["peer"].startswith("127.0.0.2:"), spawned
        # ...and it has a limit of its own.
        assert talk_from(addr, "127.0.0.2") == b"one at a time\r\n"
        refused = g.wait_event("refuse", count=2, route="src")
        assert refused[1]["reason"] == "per_source" and refused[1]["peer"].startswith("127.0.0.2:")
        # A freed slot serves the source again.
        c1.shutdown(socket.SHUT_WR)
        assert recv_all(c1) == b""
        c1.close()
        g.wait_event("exit", route="src")
        assert talk_from(addr, "127.0.0.1", b"again") == b"again"
        c2.close()
        g.wait_event("exit", count=3, route="src")
        assert len(g.events("refuse")) == 2
        stop_ok(g)


def test_per_source_dual_stack():
    """On a [::] socket a v4 client (v4-mapped) counts as its v4 address,
    ::1 as a source of its own."""
    with gw.Gateway(CONFIG) as g:
        port = g.addr("dual")[1]
        held = []
        for src in ("127.0.0.1", "127.0.0.2", "::1"):
            dst = "::1" if ":" in src else "127.0.0.1"
            c = connect_from((dst, port), src)
            c.sendall(b"hold\n")
            recv_until(c, b"hold\n")
            held.append(c)
            g.wait_event("spawn", count=len(held), route="dual")
        for src in ("127.0.0.1", "127.0.0.2", "::1"):
            dst = "::1" if ":" in src else "127.0.0.1"
            assert talk_from((dst, port), src) == b"dual busy\n", src
        refused = g.wait_event("refuse", count=3, route="dual")
        assert [r["reason"] for r in refused] == ["per_source"] * 3, refused
        assert [r["peer"].rsplit(":", 1)[0] for r in refused] == \
            ["127.0.0.1", "127.0.0.2", "[::1]"], refused
        assert len(g.events("spawn", route="dual")) == 3
        for c in held:
            c.close()
        g.wait_event("exit", count=3, route="dual")
        stop_ok(g)


def test_per_source_unix_euid():
    with gw.Gateway(CONFIG) as g:
        path = g.addr("ipc")
        c1 = gw.connect(path)
        c1.sendall(b"u\n")
        recv_until(c1, b"u\n")
        assert gw.talk(path) == b"uid busy\n"
        refused = g.wait_event("refuse", route="ipc")
        assert refused[0]["reason"] == "per_source"
        assert refused[0]["uid"] == str(os.geteuid()), refused
        c1.close()
        g.wait_event("exit", route="ipc")
        assert gw.talk(path, b"free") == b"free"
        stop_ok(g)


if __name__ == "__main__":
    gw.main(globals())
