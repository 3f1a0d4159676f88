"""socket_user, socket_group and socket_mode set the owner and mode of a
route's Unix socket file (systemd's SocketUser/SocketGroup/SocketMode),
also when a reload changes them on a socket that stays open."""
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


def test_unknown_owner_is_a_config_error():
    status, out, err, _ = gw.run_config_check(config(user="no-such-user-here"))
    assert status == 1 and "socket_user 'no-such-user-here': no such user" in err, err


if __name__ == "__main__":
    gw.main(globals())
