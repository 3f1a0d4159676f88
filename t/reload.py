"""SIGHUP reload, all or nothing: kept listeners never close (a client
loop sees no refusal), new connections get the new settings while running
children keep their old ones, a broken file or a port in use is a
reload_error that changes nothing, removed listeners close (Unix socket
files removed) and added ones accept."""
import os
import signal
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from limits_helpers import recv_all, recv_until, stop_ok  # noqa: E402


def rewrite(g, text):
    """Replaces the config file in one step (a reload never sees half)."""
    tmp = g.config + ".new"
    with open(tmp, "w") as f:
        f.write(text.format(dir=g.dir, top=gw.TOP))
    os.replace(tmp, g.config)


def reload(g, text, expect="reload"):
    n = len(g.events("reload")) + len(g.events("reload_error"))
    rewrite(g, text)
    g.kill(signal.SIGHUP)
    gw.wait_for(lambda: len(g.events("reload")) + len(g.events("reload_error")) > n,
                20, lambda: "a reload outcome in:\n" + g.log())
    last = [d for d in g.events() if d.get("event") in ("reload", "reload_error")][-1]
    assert last["event"] == expect, (last, g.log())
    return last


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def refused(addr):
    try:
        gw.connect(addr, 5).close()
    except (ConnectionRefusedError, FileNotFoundError):
        return True
    return False


ECHO = """
[echo]
listen = 127.0.0.1:0
exec = /bin/echo
args = {args}
"""


def echo(args):
    return ECHO.replace("{args}", args)


def test_client_loop_across_reloads():
    with gw.Gateway(echo("v0")) as g:
        addr = g.addr("echo")
        answers, errors, done = [], [], threading.Event()

        def loop():
            while not done.is_set():
                try:
                    answers.append(gw.talk(addr, timeout=20))
                except Exception as e:  # noqa: BLE001 - every failure counts
                    errors.append(repr(e))
        assert gw.talk(addr) == b"v0\n"
        g.wait_event("exit")
        fds = g.fds()
        listener = gw.listener_inode(addr)
        t = threading.Thread(target=loop)
        t.start()
        try:
            gw.wait_for(lambda: len(answers) >= 3 or errors, 20, "first answers")
            for i in range(1, 6):
                ev = reload(g, echo("v%d" % i))
                assert ev["opened"] == "0" and ev["closed"] == "0", ev
                # From now on, new connections see the new args.
                assert gw.talk(addr) == b"v%d\n" % i
                n = len(answers)
                gw.wait_for(lambda: len(answers) >= n + 3 or errors, 20, "answers")
        finally:
            done.set()
            t.join(30)
        assert not errors, errors
        allowed = {b"v%d\n" % i for i in range(6)}
        assert set(answers) <= allowed, set(answers) - allowed
        assert b"v5\n" in answers and b"v0\n" in answers
        # The very socket that listened before the reloads still does.
        assert gw.listener_inode(addr) == listener and len(g.events("listen")) == 1
        assert not g.events("refuse") and not g.events("spawn_error"), g.log()
        assert not g.events("reload_error")
        # Every child ended: no descriptor left behind by the reloads.
        gw.wait_for(lambda: len(g.events("exit")) == len(g.events("spawn")), 20, "exits")
        assert g.fds() == fds, (fds, g.fds())
        stop_ok(g)


TWO = """
{third}
[first]
listen = 127.0.0.1:0
exec = /bin/echo
args = first-{n}

[second]
listen = 127.0.0.1:0
exec = /bin/echo
args = second-{n}
"""


def test_kept_listeners_keep_their_route():
    """Two routes whose listeners are both written 127.0.0.1:0: after a
    reload each listener still serves its own route."""
    with gw.Gateway(TWO.replace("{n}", "0").replace("{third}", "")) as g:
        a, b = g.addr("first"), g.addr("second")
        assert gw.talk(a) == b"first-0\n" and gw.talk(b) == b"second-0\n"
        reload(g, TWO.replace("{n}", "1").replace("{third}", THIRD))
        got = (gw.talk(a), gw.talk(b))
        assert got == (b"first-1\n", b"second-1\n"), (got, g.log())
        # A route added with a listener written the same way gets a
        # listener of its own, logged under its name.
        listens = g.events("listen")
        assert len(listens) == 3 and listens[2]["route"] == "third", listens
        assert gw.talk(g.addr("third")) == b"third\n"
        stop_ok(g)


THIRD = """
[third]
listen = 127.0.0.1:0
exec = /bin/echo
args = third
"""


OLD_SETTINGS = """
[gateway]
kill_grace = 1

[slow]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'echo started-{n}\\; exec cat'
{slow_extra}

[limited]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'echo started-{n}\\; exec cat'
{limited_extra}
"""


def settings(n, slow_extra="", limited_extra=""):
    return (OLD_SETTINGS.replace("{n}", n).replace("{slow_extra}", slow_extra)
            .replace("{limited_extra}", limited_extra))


def test_running_children_keep_old_settings():
    text = settings("old", limited_extra="timeout = 3")
    with gw.Gateway(text) as g:
        old = g.connect("slow", timeout=30)
        assert recv_until(old, b"\n") == b"started-old\n"
        old_conn = g.wait_event("spawn", route="slow")[0]["conn"]
        lim = g.connect("limited", timeout=30)
        assert recv_until(lim, b"\n") == b"started-old\n"
        lim_conn = g.wait_event("spawn", route="limited")[0]["conn"]
        # The new config gives [slow] a timeout and [limited] none.
        reload(g, settings("new", slow_extra="timeout = 1\nmax_children = 2\n"
                                              "on_busy = refuse\nbusy_message = full\\n"))
        new = g.connect("slow", timeout=30)
        assert recv_until(new, b"\n") == b"started-new\n"
        # (The child may answer before its spawn line is written.)
        new_conn = g.wait_event("spawn", count=2, route="slow")[-1]["conn"]
        # The old child counts toward the new limit of its route.
        assert gw.talk(g.addr("slow")) == b"full\n"
        assert g.wait_event("refuse", route="slow")[0]["reason"] == "busy"
        # The new child has the new timeout...
        ex = g.wait_event("exit", route="slow", conn=new_conn, timeout=20)[0]
        assert ex["reason"] == "timeout", ex
        assert recv_all(new) == b""
        new.close()
        # ...the old one none: it still answers.
        old.sendall(b"still here\n")
        assert recv_until(old, b"still here\n") == b"still here\n"
        assert not g.events("exit", conn=old_conn)
        # The child started under a timeout keeps it.
        ex = g.wait_event("exit", route="limited", conn=lim_conn, timeout=20)[0]
        assert ex["reason"] == "timeout", ex
        lim.close()
        old.shutdown(socket.SHUT_WR)
        assert recv_all(old) == b""
        old.close()
        ex = g.wait_event("exit", conn=old_conn, timeout=20)[0]
        assert ex["status"] == "0" and "reason" not in ex, ex
        stop_ok(g)


def test_broken_file_keeps_old_config():
    with gw.Gateway(echo("good")) as g:
        addr = g.addr("echo")
        broken = echo("bad") + "bogus_key = 1\n"
        line = broken.count("\n")
        err = reload(g, broken, "reload_error")["error"]
        assert err.startswith("%s:%d: " % (g.config, line)), err
        assert "bogus_key" in err, err
        assert gw.talk(addr) == b"good\n"
        # A program that does not exist: also refused, with its line.
        missing = echo("bad").replace("/bin/echo", "{dir}/no-such-program")
        err = reload(g, missing, "reload_error")["error"]
        assert err.startswith("%s:4: " % g.config), err
        assert gw.talk(addr) == b"good\n"
        # Fixed, it loads.
        reload(g, echo("fixed"))
        assert gw.talk(addr) == b"fixed\n"
        stop_ok(g)


TAKEN = echo("old") + """
[newunix]
listen = unix:{dir}/new.sock
exec = /bin/echo

[newtcp]
listen = 127.0.0.1:%(free)d
exec = /bin/echo

[taken]
listen = 127.0.0.1:%(taken)d
exec = /bin/echo
"""


def test_port_in_use_changes_nothing():
    with gw.Gateway(echo("old")) as g:
        addr = g.addr("echo")
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        try:
            fds = g.fds()
            free = free_port()
            err = reload(g, TAKEN % {"free": free, "taken": blocker.getsockname()[1]},
                         "reload_error")["error"]
            assert "in use" in err, err
            assert str(blocker.getsockname()[1]) in err, err
            # Nothing of the new config listens, nothing was left open.
            assert not os.path.exists(os.path.join(g.dir, "new.sock"))
            assert refused(("127.0.0.1", free))
            assert g.fds() == fds, (fds, g.fds())
            assert len(g.events("listen")) == 1
            # The old config serves as before.
            assert gw.talk(addr) == b"old\n"
        finally:
            blocker.close()
        stop_ok(g)


ADD_REMOVE_OLD = echo("kept") + """
[ipc]
listen = unix:{dir}/old.sock
exec = /bin/echo
args = ipc
"""

ADD_REMOVE_NEW = echo("kept") + """
[added]
listen = 127.0.0.1:%(free)d
exec = /bin/echo
args = added

[added_ipc]
listen = unix:{dir}/added.sock
exec = /bin/echo
args = added-ipc
"""


def test_listeners_added_and_removed():
    with gw.Gateway(ADD_REMOVE_OLD) as g:
        addr = g.addr("echo")
        listener = gw.listener_inode(addr)
        old_sock = os.path.join(g.dir, "old.sock")
        assert gw.talk(old_sock) == b"ipc\n"
        # (A fixed port: [echo]'s listener is written 127.0.0.1:0 too,
        # which test_kept_listeners_keep_their_route covers.)
        ev = reload(g, ADD_REMOVE_NEW % {"free": free_port()})
        assert ev["opened"] == "2" and ev["closed"] == "1", ev
        assert not os.path.exists(old_sock)
        assert refused(old_sock)
        assert gw.talk(g.addr("added")) == b"added\n"
        assert gw.talk(g.addr("added_ipc")) == b"added-ipc\n"
        assert gw.listener_inode(addr) == listener and gw.talk(addr) == b"kept\n"
        # And back: the added ones close, their socket file goes.
        ev = reload(g, ADD_REMOVE_OLD)
        assert ev["opened"] == "1" and ev["closed"] == "2", ev
        assert not os.path.exists(os.path.join(g.dir, "added.sock"))
        assert gw.talk(old_sock) == b"ipc\n"
        stop_ok(g)
        assert not os.path.exists(old_sock)


WAITING = """
[gateway]
kill_grace = 1

[slow]
listen = 127.0.0.1:%(port)d
protocol = nph
exec = /bin/sh
args = -c 'read x'
# stdin is the socket: the program holds its slot until the client writes.
request_body = socket
max_children = 1
stderr = null
"""


def unread(port, peer_port):
    """Bytes the gateway has not read yet on its side of a connection
    (/proc/net/tcp's rx_queue), or None if there is no such socket."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            v = line.split()
            if int(v[1].split(":")[1], 16) == port and int(v[2].split(":")[1], 16) == peer_port:
                return int(v[4].split(":")[1], 16)
    return None


def test_request_waiting_across_two_reloads():
    """A request waiting for its route's slot lives through two reloads
    (the config it was chosen under is freed by the second): its route is
    chosen again in the running config, so its client's leaving is logged
    under the route's name (under ASan, not a read of freed memory)."""
    port = free_port()
    text = WAITING % {"port": port}
    with gw.Gateway(text) as g:
        a = gw.connect(("127.0.0.1", port), 30)
        b = gw.connect(("127.0.0.1", port), 30)
        try:
            a.sendall(b"GET /a HTTP/1.0\r\n\r\n")
            g.wait_event("spawn", route="slow")
            reload(g, text)
            b.sendall(b"GET /b HTTP/1.0\r\n\r\n")
            # The gateway has read b's head: b waits for the slot.
            gw.wait_for(lambda: unread(port, b.getsockname()[1]) == 0, 10, "b's head read")
            reload(g, text)
            b.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            b.close()
            gone = g.wait_event("gone", route="slow")[0]
            assert gone["reason"] == "reset", gone
            a.sendall(b"x\n")
            g.wait_event("exit", route="slow")
        finally:
            a.close()
            b.close()
        assert len(g.events("spawn")) == 1, g.log()
        stop_ok(g)


RENAMED = """
[{name}]
listen = 127.0.0.1:%(port)d
listen = unix:{dir}/kept.sock
exec = /bin/echo
args = {name}
"""


def named(name, port):
    return RENAMED.replace("{name}", name) % {"port": port}


def test_renamed_route_keeps_its_listeners():
    """A reload that renames a route but keeps its addresses keeps the
    listening sockets themselves (no 'address in use', no moment without
    a listener, the socket file stays) and gives them the new name."""
    port = free_port()
    with gw.Gateway(named("before", port)) as g:
        tcp, path = ("127.0.0.1", port), os.path.join(g.dir, "kept.sock")
        inodes = gw.listener_inode(tcp), gw.listener_inode(path)
        assert None not in inodes
        assert gw.talk(tcp) == b"before\n" and gw.talk(path) == b"before\n"
        ev = reload(g, named("after", port))
        assert ev["opened"] == "0" and ev["closed"] == "0", ev
        assert (gw.listener_inode(tcp), gw.listener_inode(path)) == inodes
        assert gw.talk(tcp) == b"after\n" and gw.talk(path) == b"after\n"
        # The child may answer before the gateway has written its spawn
        # line: wait for the line.
        g.wait_event("spawn", 2, route="after")
        spawns = g.events("spawn")
        assert [e["route"] for e in spawns[-2:]] == ["after", "after"], spawns
        # And back under the old name, in the same listeners still.
        reload(g, named("before", port))
        assert (gw.listener_inode(tcp), gw.listener_inode(path)) == inodes
        assert gw.talk(path) == b"before\n"
        assert not g.events("reload_error"), g.log()
        stop_ok(g)
        assert not os.path.exists(path)


if __name__ == "__main__":
    gw.main(globals())
