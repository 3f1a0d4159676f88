"""The command line: -h, -V, bad usage (exit 2), -t (routes on stdout, or
FILE:LINE: message and exit 1), a missing or invalid config or a port in
use (exit 1, nothing bound), and a gateway started with fds 0-2 closed."""
import os
import re
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402


def run(*args, cwd=None):
    return subprocess.run([gw.BIN] + list(args), capture_output=True, text=True,
                          timeout=20, cwd=cwd, stdin=subprocess.DEVNULL)


def test_help():
    p = run("-h")
    assert p.returncode == 0, p
    assert "usage" in p.stdout.lower() and "-c" in p.stdout, p.stdout


def test_version():
    p = run("-V")
    assert p.returncode == 0, p
    assert re.search(r"\d+\.\d+\.\d+", p.stdout), p.stdout


def test_bad_flag():
    for args in (["-x"], ["--bogus"], ["-c"]):
        p = run(*args)
        assert p.returncode == 2, (args, p)
        assert "usage" in p.stderr.lower(), (args, p.stderr)
        assert p.stdout == "", (args, p.stdout)


def test_extra_argument():
    with gw.Gateway("[a]\nlisten = 127.0.0.1:0\nexec = /bin/true\n", start=False) as g:
        p = run("-c", g.config, "extra")
        assert p.returncode == 2, p
        p = run("-t", "-c", g.config, "extra")
        assert p.returncode == 2, p


CHECK_OK = """
[gateway]
max_children = 5

[tcp]
listen = 127.0.0.1:0
listen = unix:{dir}/tcp.sock
exec = /bin/cat

[rel]
listen = [::1]:0
exec = bin/prog
args = --flag

[abstract]
listen = unix:@gwt-cl-{dir}
exec = ./bin/../bin/prog
"""


def test_check_valid_config():
    with gw.Gateway(CHECK_OK, start=False, files={"bin/prog": ("#!/bin/sh\n", 0o755)}) as g:
        p = run("-t", "-c", g.config, cwd="/")
        assert p.returncode == 0, p
        assert p.stdout.splitlines() == [
            "tcp listen=127.0.0.1:0,unix:%s/tcp.sock exec=/bin/cat protocol=raw" % g.dir,
            "rel listen=[::1]:0 exec=%s/bin/prog protocol=raw" % g.dir,
            "abstract listen=unix:@gwt-cl-%s exec=%s/bin/prog protocol=raw" % (g.dir, g.dir),
        ], p.stdout
        # Binds nothing.
        assert not os.path.exists(os.path.join(g.dir, "tcp.sock"))


def test_check_relative_config_path():
    """-c relative to the cwd; relative paths inside it are the file's."""
    with gw.Gateway(CHECK_OK, start=False, files={"bin/prog": ("#!/bin/sh\n", 0o755)}) as g:
        p = run("-t", "-c", os.path.basename(g.config), cwd=g.dir)
        assert p.returncode == 0, p
        assert "rel listen=[::1]:0 exec=%s/bin/prog protocol=raw" % g.dir in p.stdout


INVALID = [
    # (config, line, words in the message)
    ("[a]\nlisten = 127.0.0.1:0\nexec = /bin/cat\nbogus = 1\n", 4, "bogus"),
    ("\n[a]\nlisten = 127.0.0.1:0\n", 2, "exec"),
    ("[a]\nlisten = 127.0.0.1:0\nexec = {dir}/missing\n", 3, "missing"),
    ("[a]\nlisten = 127.0.0.1:0\nexec = /bin/cat\n\n[b]\nlisten = 127.0.0.1:0\n"
     "exec = /bin/cat\nstdin = maybe\n", 8, "stdin"),
    ("[a]\nlisten = 127.0.0.1:99999\nexec = /bin/cat\n", 2, "listen"),
    ("[a]\nlisten = 127.0.0.1:0\nexec = /bin/cat\nargs = x\n  cwd = /\n", 5, "indented"),
]


def test_check_invalid_config():
    for text, line, words in INVALID:
        with gw.Gateway(text, start=False) as g:
            p = run("-t", "-c", g.config)
            assert p.returncode == 1, (text, p)
            assert p.stdout == "", (text, p.stdout)
            first = p.stderr.splitlines()[0]
            assert first.startswith("%s:%d: " % (g.config, line)), (text, p.stderr)
            assert words in first, (text, first)


def test_missing_config_file():
    with gw.Gateway("", start=False) as g:
        missing = os.path.join(g.dir, "nope.ini")
        for args in (["-t", "-c", missing], ["-c", missing]):
            p = run(*args)
            assert p.returncode == 1, (args, p)
            assert missing in p.stderr, p.stderr


def test_default_config_is_absolute():
    """Without -c the compiled-in absolute path is read, never one
    relative to the current directory."""
    with gw.Gateway("[a]\nlisten = 127.0.0.1:0\nexec = /bin/cat\n", start=False,
                    files={"gateway/gateway.ini": ("[x]\n", 0o644),
                           "etc/gateway/gateway.ini": ("[x]\n", 0o644)}) as g:
        # The compiled-in path, as -h gives it.
        m = re.search(r"default (/\S*gateway/gateway\.ini)\)", run("-h").stdout)
        assert m, run("-h").stdout
        default = m.group(1)
        p = run("-t", cwd=g.dir)
        if os.path.exists(default):
            # Installed on this machine: the same routes as that file's.
            assert p.returncode == run("-t", "-c", default).returncode, p
            assert p.stdout == run("-t", "-c", default).stdout, p
        else:
            assert p.returncode == 1, p
            assert p.stderr.startswith(default + ":"), (default, p.stderr)
        assert g.dir not in p.stdout + p.stderr, p


def test_start_on_invalid_config():
    text = """
[good]
listen = unix:{dir}/good.sock
exec = /bin/cat

[bad]
listen = unix:{dir}/bad.sock
exec = /bin/cat
timeout = soon
"""
    with gw.Gateway(text, start=False) as g:
        assert g.run_to_exit() == 1
        log = g.log()
        assert re.search(r"^%s:9: .*timeout" % re.escape(g.config), log, re.M), log
        assert not g.events("start") and not g.events("listen")
        assert not [f for f in os.listdir(g.dir) if f.endswith(".sock")], os.listdir(g.dir)


def test_port_in_use():
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen(4)
    port = other.getsockname()[1]
    text = """
[first]
listen = unix:{dir}/first.sock
exec = /bin/cat

[taken]
listen = 127.0.0.1:%d
exec = /bin/cat
""" % port
    try:
        with gw.Gateway(text, start=False) as g:
            assert g.run_to_exit() == 1
            fatal = g.events("fatal")
            assert fatal and "Address already in use" in fatal[0].get("msg", ""), g.log()
            assert "127.0.0.1:%d" % port in fatal[0]["msg"], fatal
            assert not g.events("start")
            # What it had opened is closed again.
            assert not os.path.exists(os.path.join(g.dir, "first.sock"))
            # The other listener is untouched.
            c = socket.create_connection(("127.0.0.1", port), 10)
            a, _ = other.accept()
            a.close()
            c.close()
    finally:
        other.close()


STDIO = """
[echo]
listen = unix:{dir}/echo.sock
exec = /bin/sh
args = -c 'echo out; echo err-line >&2'

[inherit]
listen = unix:{dir}/inherit.sock
exec = /bin/sh
args = -c 'echo out; echo inherited-line >&2'
stderr = inherit
"""


def test_started_with_stdin_stdout_closed():
    with gw.Gateway(STDIO, close_std=(0, 1)) as g:
        for fd in (0, 1):
            assert os.readlink("/proc/%d/fd/%d" % (g.pid(), fd)) == "/dev/null"
        for _ in range(3):
            assert gw.talk(os.path.join(g.dir, "echo.sock")) == b"out\n"
            assert gw.talk(os.path.join(g.dir, "inherit.sock")) == b"out\n"
        g.wait_event("stderr", 3, line="err-line")
        gw.wait_for(lambda: g.log().count("inherited-line\n") == 3, 10, "inherited lines in the log")
        assert g.stop() == 0


def test_started_with_all_stdio_closed():
    """No fd 0-2 at all: the accepted socket must not become the log (the
    client would read log lines), the gateway runs and stops normally."""
    with gw.Gateway(STDIO, start=False) as g:
        g.spawn(close_std=(0, 1, 2))
        sock = os.path.join(g.dir, "echo.sock")

        def up():
            assert g.proc.poll() is None, "gatewayd exited %s" % g.proc.returncode
            try:
                gw.connect(sock).close()
                return True
            except OSError:
                return False
        gw.wait_for(up, 20, "the gateway to listen")
        for fd in (0, 1, 2):
            assert os.readlink("/proc/%d/fd/%d" % (g.pid(), fd)) == "/dev/null"
        for _ in range(3):
            assert gw.talk(sock) == b"out\n"
            assert gw.talk(os.path.join(g.dir, "inherit.sock")) == b"out\n"
        assert g.stop(signal.SIGTERM) == 0
        assert g.log() == ""


if __name__ == "__main__":
    gw.main(globals())
