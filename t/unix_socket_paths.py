"""Unix socket paths: a stale socket is replaced, a live one is 'Address
already in use' (and keeps working), anything that is not a socket is an
error and is never deleted; the gateway removes the file it made when it
stops, and applies socket_mode."""
import os
import socket
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402

CONFIG = """
[echo]
listen = unix:{dir}/echo.sock
exec = /bin/echo
args = hi
"""

TWO = """
[first]
listen = unix:{dir}/first.sock
exec = /bin/echo
args = first

[echo]
listen = unix:{dir}/echo.sock
exec = /bin/echo
args = hi
"""


def path(g, name="echo.sock"):
    return os.path.join(g.dir, name)


def unix_server(p, listen=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(p)
    if listen:
        s.listen(8)
    return s


def fatal_text(g):
    return " ".join(e.get("msg", "") for e in g.events("fatal"))


def test_stale_socket_of_closed_server_is_replaced():
    with gw.Gateway(CONFIG, start=False) as g:
        unix_server(path(g)).close()            # leaves the file behind
        assert stat.S_ISSOCK(os.lstat(path(g)).st_mode)
        g.start()
        assert gw.talk(path(g)) == b"hi\n"


def test_stale_socket_bound_not_listening_is_replaced():
    with gw.Gateway(CONFIG, start=False) as g:
        s = unix_server(path(g), listen=False)  # open, but nobody listens
        try:
            g.start()
            assert gw.talk(path(g)) == b"hi\n"
        finally:
            s.close()


def test_live_listener_is_address_in_use():
    with gw.Gateway(TWO, start=False) as g:
        other = unix_server(path(g))
        try:
            assert g.run_to_exit() == 1
            assert "Address already in use" in fatal_text(g), g.log()
            assert not g.events("start")
            # The other server's socket is untouched and still works.
            # (The gateway's own probe may be queued before our client.)
            c = gw.connect(path(g))
            c.sendall(b"ping")
            other.settimeout(10)
            while True:
                a, _ = other.accept()
                a.settimeout(10)
                if a.recv(4) == b"ping":
                    break
                a.close()
            a.sendall(b"still mine")
            a.close()
            assert gw.recv_all(c) == b"still mine"
            c.close()
            # What the gateway had opened before failing is gone again.
            assert not os.path.exists(path(g, "first.sock"))
        finally:
            other.close()


def test_live_listener_with_full_backlog_is_in_use():
    with gw.Gateway(CONFIG, start=False) as g:
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        other.bind(path(g))
        other.listen(0)
        fill = []
        try:
            # Fill its backlog until a connect fails with EAGAIN, which is
            # what the gateway's probe of the path will see.
            full = False
            for _ in range(64):
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.setblocking(False)
                try:
                    c.connect(path(g))
                except BlockingIOError:
                    c.close()
                    full = True
                    break
                fill.append(c)
            assert full, "the backlog never filled (%d connects)" % len(fill)
            assert g.run_to_exit() == 1
            assert "Address already in use" in fatal_text(g), g.log()
            assert stat.S_ISSOCK(os.lstat(path(g)).st_mode)
        finally:
            for c in fill:
                c.close()
            other.close()


def not_a_socket(make, check=None):
    with gw.Gateway(TWO, start=False) as g:
        p = path(g)
        make(p)
        before = os.lstat(p)
        assert g.run_to_exit() == 1
        assert g.events("fatal") and p in fatal_text(g), g.log()
        after = os.lstat(p)
        assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
        assert not os.path.exists(path(g, "first.sock"))
        if check:
            check(p)


def test_regular_file_is_an_error_and_kept():
    def make(p):
        with open(p, "w") as f:
            f.write("precious\n")
    def check(p):
        with open(p) as f:
            assert f.read() == "precious\n"
    not_a_socket(make, check)


def test_directory_is_an_error_and_kept():
    not_a_socket(os.mkdir)


def test_fifo_is_an_error_and_kept():
    not_a_socket(os.mkfifo)


def test_symlink_is_an_error_and_kept():
    """Even a symlink to a stale socket: only a socket itself is replaced."""
    def make(p):
        unix_server(p + ".real").close()
        os.symlink(p + ".real", p)
    not_a_socket(make)


def test_socket_file_removed_on_stop():
    with gw.Gateway(TWO) as g:
        assert gw.talk(path(g)) == b"hi\n"
        assert g.stop() == 0
        assert not os.path.exists(path(g))
        assert not os.path.exists(path(g, "first.sock"))


def test_replaced_file_not_removed_on_stop():
    """On stop the gateway removes only the file it made, not one that
    someone else put at the path since."""
    with gw.Gateway(CONFIG) as g:
        os.unlink(path(g))
        mine = unix_server(path(g))
        try:
            ino = os.lstat(path(g)).st_ino
            assert g.stop() == 0
            assert os.lstat(path(g)).st_ino == ino
        finally:
            mine.close()


def test_socket_mode():
    cfg = """
[private]
listen = unix:{dir}/private.sock
exec = /bin/echo
args = private
socket_mode = 0600

[group]
listen = unix:{dir}/group.sock
exec = /bin/echo
args = group
socket_mode = 0660

[open]
listen = unix:{dir}/open.sock
exec = /bin/echo
args = open
socket_mode = 0777
"""
    # A umask that would otherwise decide: the mode is applied as given.
    with gw.Gateway(cfg, preexec_fn=lambda: os.umask(0o077)) as g:
        for name, mode in (("private", 0o600), ("group", 0o660), ("open", 0o777)):
            st = os.lstat(path(g, name + ".sock"))
            assert stat.S_ISSOCK(st.st_mode)
            assert stat.S_IMODE(st.st_mode) == mode, "%s: %o" % (name, stat.S_IMODE(st.st_mode))
            assert gw.talk(path(g, name + ".sock")) == (name + "\n").encode()


if __name__ == "__main__":
    gw.main(globals())
