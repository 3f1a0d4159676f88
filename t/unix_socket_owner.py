"""socket_user, socket_group and socket_mode set the owner and mode of a
route's Unix socket file (systemd's SocketUser/SocketGroup/SocketMode),
also when a reload changes them on a socket that stays open; only the
socket file the gateway made is changed, never a file a link at its path
points to."""
import grp
import os
import pwd
import signal
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402

CONFIG = """
[sock]
listen = unix:{{dir}}/owned.sock
exec = /bin/echo
args = served
socket_mode = {mode}
socket_user = {user}
socket_group = {group}
"""


def config(mode="0660", user="nobody", group="nogroup"):
    return CONFIG.format(mode=mode, user=user, group=group)


def test_owner_and_mode():
    gw.need_root()
    with gw.Gateway(config()) as g:
        path = os.path.join(g.dir, "owned.sock")
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode)
        assert st.st_uid == pwd.getpwnam("nobody").pw_uid, st
        assert st.st_gid == grp.getgrnam("nogroup").gr_gid, st
        assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
        assert gw.talk(path) == b"served\n"
        # A reload that changes them keeps the socket and applies them.
        with open(g.config, "w") as f:
            f.write(config("0600", "root", "root").replace("{dir}", g.dir))
        g.kill(signal.SIGHUP)
        g.wait_event("reload")
        st = os.stat(path)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600), st
        assert gw.talk(path) == b"served\n"
        assert g.stop() == 0


def reload_with(g, text):
    n = len(g.events("reload"))
    with open(g.config, "w") as f:
        f.write(text.replace("{dir}", g.dir))
    g.kill(signal.SIGHUP)
    g.wait_event("reload", count=n + 1)


def test_reload_changes_only_the_socket_it_made():
    """A reload applies socket_mode and the owner to the socket file the
    gateway made, never through a link someone put at its path."""
    gw.need_root()
    with gw.Gateway(config("0660", "root", "root")) as g:
        path = os.path.join(g.dir, "owned.sock")
        # A reload changes the real socket.
        reload_with(g, config("0640", "root", "root"))
        st = os.lstat(path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640, st
        assert gw.talk(path) == b"served\n"
        # The path now a link to a file of root's: a reload leaves the
        # file and the link as they are, and says so.
        target = os.path.join(g.dir, "secret")
        with open(target, "w") as f:
            f.write("root's\n")
        os.chmod(target, 0o600)
        os.unlink(path)
        os.symlink(target, path)
        reload_with(g, config("0666", "nobody", "nogroup"))
        st = os.stat(target)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600), st
        st = os.lstat(path)
        assert stat.S_ISLNK(st.st_mode) and (st.st_uid, st.st_gid) == (0, 0), st
        warned = [e for e in g.events("warning") if path in e.get("msg", "")]
        assert warned and "not the socket the gateway made" in warned[-1]["msg"], g.log()
        assert g.stop() == 0
        # The link is not the gateway's to remove either.
        assert os.path.islink(path) and os.path.exists(target)


def test_unknown_owner_is_a_config_error():
    status, out, err, _ = gw.run_config_check(config(user="no-such-user-here"))
    assert status == 1 and "socket_user 'no-such-user-here': no such user" in err, err


if __name__ == "__main__":
    gw.main(globals())
