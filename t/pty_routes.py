"""pty = raw | terminal: the child's stdio is a pseudo-terminal the gateway
relays to the client. Tools that buffer without a terminal answer line by
line, the child sees a terminal, raw mode passes every byte unchanged, a
terminal echoes and turns ^C into SIGINT, a half-close ends the child's
input, and everything else a route has (user, timeout, workers) holds,
with no descriptor or pty left behind."""
import os
import signal
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from limits_helpers import recv_all, recv_until  # noqa: E402

PY = "/usr/bin/python3"

CONFIG = """
[gateway]
kill_grace = 1

[awk]
listen = 127.0.0.1:0
exec = /usr/bin/awk
args = '{{print $1*2}}'
pty = raw

[sed]
listen = 127.0.0.1:0
exec = /bin/sed
args = s/a/b/
pty = raw

[repl]
listen = 127.0.0.1:0
exec = %(py)s
args = -i -q
pty = raw

[tty]
listen = 127.0.0.1:0
exec = %(py)s
args = {dir}/tty.py
pty = raw

[tty_sized]
listen = 127.0.0.1:0
exec = %(py)s
args = {dir}/tty.py
pty = terminal
pty_size = 132x43
env = TERM=vt100

[isatty]
listen = 127.0.0.1:0
exec = {dir}/isatty.sh
pty = raw

[cat]
listen = 127.0.0.1:0
exec = /bin/cat
pty = raw

[shell]
listen = 127.0.0.1:0
exec = /bin/sh
args = -i
pty = terminal

[err_tty]
listen = 127.0.0.1:0
exec = {dir}/err.sh
pty = raw

[err_log]
listen = 127.0.0.1:0
exec = {dir}/err.sh
pty = raw
stderr = log

[slow]
listen = 127.0.0.1:0
exec = /bin/sleep
args = 60
pty = raw
timeout = 1
""" % {"py": PY}

FILES = {
    "tty.py": ("""import os, sys
fds = [os.isatty(fd) for fd in (0, 1, 2)]
size = os.get_terminal_size(0)
print("tty", fds, os.getsid(0) == os.getpid(), os.tcgetpgrp(0) == os.getpgrp(),
      os.environ.get("TERM"), "%dx%d" % (size.columns, size.lines))
""", 0o644),
    "isatty.sh": ("#!/bin/sh\nif [ -t 0 ]; then echo terminal; else echo not-a-terminal; fi\n",
                  0o755),
    "err.sh": ("#!/bin/sh\necho to-stdout\necho to-stderr >&2\n", 0o755),
}


def gateway(config=CONFIG, files=FILES):
    gw.need_program(PY)
    return gw.Gateway(config, files=files)


def test_awk_and_sed_answer_line_by_line():
    """Without a terminal their stdio would hold the answers until the
    client closes; here each line is answered while it stays open."""
    with gateway() as g:
        s = g.connect("awk")
        s.sendall(b"21\n")
        assert recv_until(s, b"42\n") == b"42\n"
        s.sendall(b"5\n")
        assert recv_until(s, b"10\n") == b"10\n"
        # The half-close ends its input: awk ends by itself.
        s.shutdown(socket.SHUT_WR)
        assert recv_all(s) == b""
        ex = g.wait_event("exit", route="awk")[0]
        assert ex.get("status") == "0", ex
        s = g.connect("sed")
        s.sendall(b"abc\n")
        assert recv_until(s, b"bbc\n") == b"bbc\n"
        s.sendall(b"xay\n")
        assert recv_until(s, b"xby\n") == b"xby\n"
        s.close()


def test_python_repl_answers_before_the_close():
    with gateway() as g:
        s = g.connect("repl")
        s.sendall(b"6*7\n")
        recv_until(s, b"42")
        s.sendall(b"print('x' * 3)\n")
        recv_until(s, b"xxx")
        # EOF at its prompt ends the REPL, which waits with select().
        s.shutdown(socket.SHUT_WR)
        recv_all(s)
        ex = g.wait_event("exit", route="repl")[0]
        assert ex.get("status") == "0", ex


def test_child_sees_a_terminal():
    with gateway() as g:
        out = gw.talk(g.addr("tty"))
        # stdin, stdout, stderr a terminal; it leads the session whose
        # controlling terminal it is, in the foreground.
        assert out == b"tty [True, True, True] True True dumb 80x24\n", out
        out = gw.talk(g.addr("tty_sized"))
        assert out == b"tty [True, True, True] True True vt100 132x43\r\n", out
        assert gw.talk(g.addr("isatty")) == b"terminal\n"


def test_raw_mode_passes_every_byte():
    """1 MB of all 256 byte values through cat and back, unchanged: no
    echo, no CR/LF mapping, no ^C/^D/^?/^S taken for anything."""
    data = bytes(range(256)) * 4096
    with gateway() as g:
        s = g.connect("cat", timeout=60)
        got = []
        reader = threading.Thread(target=lambda: got.append(recv_all(s)))
        reader.start()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        reader.join(60)
        assert not reader.is_alive()
        assert len(got[0]) == len(data)
        assert got[0] == data
        ex = g.wait_event("exit", route="cat")[0]
        assert ex.get("status") == "0", ex
        # Short, and without a newline at the end: still all of it,
        # and still the end of its input.
        assert gw.talk(g.addr("cat"), b"\x04\x03\x7fab\rc") == b"\x04\x03\x7fab\rc"
        g.wait_event("exit", 2, route="cat")
        # A reader already blocked in a raw read when the client
        # half-closes reads end of file all the same.
        s = g.connect("cat")
        s.sendall(b"x\x15y\n")
        recv_until(s, b"x\x15y\n")
        s.shutdown(socket.SHUT_WR)
        assert recv_all(s) == b""
        ex = g.wait_event("exit", 3, route="cat")[2]
        assert ex.get("status") == "0", ex


def foreground_sleep(session):
    """A `sleep` of the session that is the terminal's foreground job:
    its process group is the terminal's (stat's pgrp and tpgid)."""
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                if not f.read().startswith(b"sleep\0"):
                    continue
            with open("/proc/%s/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[2] == fields[5]:
            return int(p)
    return None


def test_terminal_echoes_and_ctrl_c_ends_the_foreground_job():
    with gateway() as g:
        s = g.connect("shell", timeout=30)
        # Outputs the echo of the line cannot contain: the echo (CR read
        # as NL) ends "\r\n" and the answer is written with CR NL.
        s.sendall(b"echo $((40+2))\r")
        out = recv_until(s, b"42\r\n")
        assert b"echo $((40+2))\r\n" in out, out
        s.sendall(b"echo $((100+1)); sleep 30; echo $((200+2))\r")
        recv_until(s, b"101\r\n")
        shell = int(g.wait_event("spawn", route="shell")[0]["pid"])
        gw.wait_for(lambda: foreground_sleep(shell), 10, "the sleep in the foreground")
        s.sendall(b"\x03")
        s.sendall(b"echo $((300+3))\r")
        out = recv_until(s, b"303\r\n", timeout=15)
        assert b"^C" in out, out
        assert b"202" not in out, out
        assert not g.events("exit", route="shell")
        s.sendall(b"exit\r")
        recv_all(s)
        ex = g.wait_event("exit", route="shell")[0]
        assert ex.get("status") == "0", ex


def test_stderr_is_the_terminal_unless_the_route_says():
    with gateway() as g:
        out = gw.talk(g.addr("err_tty"))
        assert out == b"to-stdout\nto-stderr\n", out
        out = gw.talk(g.addr("err_log"))
        assert out == b"to-stdout\n", out
        ev = g.wait_event("stderr", route="err_log")[0]
        assert ev["line"] == "to-stderr", ev


def test_client_gone_ends_the_child():
    with gateway() as g:
        s = g.connect("cat")
        s.sendall(b"x\n")
        recv_until(s, b"x\n")
        # A reset, as a client that vanished leaves.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        s.close()
        ex = g.wait_event("exit", route="cat", timeout=15)[0]
        assert ex.get("reason") == "client_gone", ex
        assert ex["signal"] == "TERM", ex


def test_timeout_ends_the_child():
    with gateway() as g:
        s = g.connect("slow", timeout=30)
        ex = g.wait_event("exit", route="slow", timeout=20)[0]
        assert ex["signal"] == "TERM", ex
        assert ex["reason"] == "timeout", ex
        assert recv_all(s) == b""


def test_child_as_nobody_owns_its_terminal():
    gw.need_root()
    config = """
[who]
listen = 127.0.0.1:0
exec = %s
args = -c 'import os\\; print(os.stat(os.ttyname(0)).st_uid, os.getuid())'
user = nobody
pty = raw
""" % PY
    with gateway(config, {}) as g:
        import pwd
        uid = pwd.getpwnam("nobody").pw_uid
        assert gw.talk(g.addr("who")) == b"%d %d\n" % (uid, uid)


def pts():
    return set(os.listdir("/dev/pts"))


def test_no_descriptor_or_pty_left_after_2000_connections():
    config = """
[echo]
listen = 127.0.0.1:0
exec = /bin/echo
args = hi
pty = raw
stderr = null
"""
    with gateway(config, {}) as g:
        before = g.settled_fds("echo")
        pts_before = pts()
        errors = []

        def client(n):
            try:
                for _ in range(n):
                    out = gw.talk(g.addr("echo"))
                    if out != b"hi\n":
                        errors.append(out)
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        threads = [threading.Thread(target=client, args=(500,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert not errors, errors[:3]
        g.wait_event("exit", 2001, route="echo", timeout=60)
        after = g.settled_fds("echo")
        assert after == before, (before, after)
        assert not [f for f in after.values() if "ptmx" in f or "/dev/pts" in f], after
        gw.wait_for(lambda: pts() <= pts_before, 20,
                    lambda: "ptys left: %s" % (pts() - pts_before))


def test_workers_serve_a_pty_route():
    config = """
[gateway]
workers = 2

[awk]
listen = 127.0.0.1:0
exec = /usr/bin/awk
args = '{{print $1*2}}'
pty = raw
"""
    with gateway(config, {}) as g:
        socks = [g.connect("awk") for _ in range(4)]
        for i, s in enumerate(socks):
            s.sendall(b"%d\n" % i)
        for i, s in enumerate(socks):
            assert recv_until(s, b"\n") == b"%d\n" % (2 * i)
            s.close()
        g.wait_event("exit", 4, route="awk", timeout=20)


def test_reload_keeps_a_live_terminal():
    with gateway() as g:
        s = g.connect("awk")
        s.sendall(b"1\n")
        recv_until(s, b"2\n")
        n = len(g.events("reload"))
        g.kill(signal.SIGHUP)
        g.wait_event("reload", n + 1)
        s.sendall(b"2\n")
        assert recv_until(s, b"4\n") == b"4\n"
        t = g.connect("awk")
        t.sendall(b"3\n")
        assert recv_until(t, b"6\n") == b"6\n"
        s.close()
        t.close()


def test_stop_ends_a_live_terminal():
    config = """
[gateway]
shutdown_grace = 0.5
kill_grace = 1

[cat]
listen = 127.0.0.1:0
exec = /bin/cat
pty = raw
"""
    with gateway(config, {}) as g:
        s = g.connect("cat", timeout=30)
        s.sendall(b"x\n")
        recv_until(s, b"x\n")
        g.kill(signal.SIGTERM)
        assert recv_all(s) == b""
        assert g.wait_exit() == 0
        ex = g.events("exit", route="cat")[0]
        assert ex.get("signal") == "TERM" and ex.get("reason") == "shutdown", ex


def test_pty_on_an_http_route_is_a_config_error():
    status, _, err, _ = gw.run_config_check("""
[web]
listen = 127.0.0.1:0
exec = /bin/cat
protocol = cgi
pty = raw
""")
    assert status == 1, err
    assert "route [web]: pty is for protocol = raw, not cgi or nph" in err, err


if __name__ == "__main__":
    gw.main(globals())
