"""A program that cannot be started any more (removed or made
non-executable after start): `spawn_error` with libuv's reason, the client
is closed, the gateway serves on and recovers when the program is back.

On the clone path a raw route's spawn does not wait for the exec: the
child is logged at `spawn`, and its failed step as `spawn_error` with the
same pid, never as an `exit`. The uv path waits: `spawn_error` alone."""
import os
import shutil
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402

PROG = b"""#!/bin/sh
echo served
"""

CONFIG = """
[prog]
listen = 127.0.0.1:0
listen = unix:{dir}/prog.sock
exec = bin/prog

[setup]
listen = 127.0.0.1:0
exec = bin/prog
umask = 022

[other]
listen = 127.0.0.1:0
exec = /bin/echo
args = other
stderr = null
"""


def closed_at_once(addr):
    """Connects, sends nothing, and expects EOF (nothing read)."""
    s = gw.connect(addr, timeout=20)
    try:
        return gw.recv_all(s)
    except ConnectionResetError:
        return b""
    finally:
        s.close()


def gateway():
    return gw.Gateway(CONFIG, files={"bin/prog": (PROG, 0o755)})


def check_error(g, route, count, words):
    errs = g.wait_event("spawn_error", count, route=route)
    e = errs[-1]
    assert words in e.get("error", "").lower(), e
    assert e.get("conn"), e
    assert e.get("peer", "").startswith("127.0.0.1:") or e.get("uid") == str(os.geteuid()), e
    spawned = [s["pid"] for s in g.events("spawn", conn=e["conn"])]
    if g.events("start")[0]["spawn"] == "clone":
        assert spawned == [e["pid"]], g.log()
    else:
        assert spawned == [] and "pid" not in e, g.log()
    # The program never ran: no exit for that connection.
    assert not g.events("exit", conn=e["conn"]), g.log()
    return e


def test_removed_then_back():
    with gateway() as g:
        prog = os.path.join(g.dir, "bin/prog")
        assert gw.talk(g.addr("prog")) == b"served\n"
        os.rename(prog, prog + ".away")
        assert closed_at_once(g.addr("prog")) == b""
        check_error(g, "prog", 1, "no such file or directory")
        assert closed_at_once(g.addr("prog", 1)) == b""          # the Unix listener too
        check_error(g, "prog", 2, "no such file or directory")
        assert g.proc.poll() is None
        assert gw.talk(g.addr("other")) == b"other\n"
        os.rename(prog + ".away", prog)
        assert gw.talk(g.addr("prog")) == b"served\n"
        assert gw.talk(g.addr("prog", 1)) == b"served\n"


def test_not_executable_then_back():
    with gateway() as g:
        prog = os.path.join(g.dir, "bin/prog")
        os.chmod(prog, 0o644)
        assert closed_at_once(g.addr("prog")) == b""
        check_error(g, "prog", 1, "permission denied")
        assert gw.talk(g.addr("other")) == b"other\n"
        os.chmod(prog, 0o755)
        assert gw.talk(g.addr("prog")) == b"served\n"


def test_setup_step_path():
    """The same through the setup step (a route with umask)."""
    with gateway() as g:
        prog = os.path.join(g.dir, "bin/prog")
        assert gw.talk(g.addr("setup")) == b"served\n"
        os.rename(prog, prog + ".away")
        assert closed_at_once(g.addr("setup")) == b""
        check_error(g, "setup", 1, "no such file or directory")
        os.rename(prog + ".away", prog)
        assert gw.talk(g.addr("setup")) == b"served\n"
        assert gw.talk(g.addr("other")) == b"other\n"


def test_directory_removed():
    """The program's directory (its default cwd) gone as a whole."""
    with gateway() as g:
        d = os.path.join(g.dir, "bin")
        shutil.move(d, d + ".away")
        assert closed_at_once(g.addr("prog")) == b""
        check_error(g, "prog", 1, "no such file or directory")
        shutil.move(d + ".away", d)
        assert gw.talk(g.addr("prog")) == b"served\n"


def test_many_failures_leak_nothing():
    with gateway() as g:
        gw.talk(g.addr("prog"))
        g.wait_event("exit", 1)
        before = g.settled_fds("other")
        prog = os.path.join(g.dir, "bin/prog")
        os.rename(prog, prog + ".away")
        for i in range(50):
            assert closed_at_once(g.addr("prog" if i % 2 else "setup")) == b""
        g.wait_event("spawn_error", 50)
        # The very same descriptors, once settled; no child left.
        after = g.settled_fds("other")
        assert after == before, (before, after)
        os.rename(prog + ".away", prog)
        assert gw.talk(g.addr("prog")) == b"served\n"


def test_client_that_sent_data_is_closed():
    """A client that already sent bytes still sees its connection end."""
    with gateway() as g:
        prog = os.path.join(g.dir, "bin/prog")
        os.rename(prog, prog + ".away")
        s = g.connect("prog", timeout=20)
        s.sendall(b"hello\n")
        try:
            assert gw.recv_all(s) == b""
        except ConnectionResetError:
            pass
        s.close()
        check_error(g, "prog", 1, "no such file or directory")


if __name__ == "__main__":
    gw.main(globals())
