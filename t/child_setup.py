"""What the child gets: argv as configured (with the SPEC's quoting),
argv[0] as written, its working directory, the socket as fds 0 and 1 in
blocking mode and no other descriptor of the gateway's (nor one it
inherited), a session of its own, a clean signal state, and fds 0 and 2
as stdin/stderr say."""
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402

# Prints each argument followed by a NUL, so any byte but NUL survives.
ARGV_SH = b"""#!/bin/sh
for a in "$@"; do printf '%s\\0' "$a"; done
"""
PWD_SH = b"""#!/bin/sh
pwd -P
"""

# {{ }} are literal braces for str.format; the config is written as is.
ARGS_CONFIG = r"""
[argv]
listen = 127.0.0.1:0
exec = argv.sh
args = plain 'single $HOME * ~' "dq \"in\" \\ back" back\ slash semi\;colon '' "" a"b"'c'
args = "d\;q" 's\;q' "lit\n" 'it''s' a#b 'tab	in' "$HOME" ; a comment, not an argument
  continued "on an indented line"
"""

# The same route through the setup step (a route with umask is started by
# the gateway re-executed in setup mode): every check runs on both paths.
def with_setup_twins(config, names):
    out = config
    for name in names:
        m = re.search(r"^\[%s\]\n(.*?)(?=^\[|\Z)" % re.escape(name), config, re.M | re.S)
        body = re.sub(r"^listen = .*\n", "", m.group(1), flags=re.M)
        out += "\n[%s_setup]\nlisten = 127.0.0.1:0\n%sumask = 022\n" % (name, body.rstrip("\n") + "\n")
    return out


ARGS_EXPECTED = [
    "plain", "single $HOME * ~", 'dq "in" \\ back', "back slash", "semi;colon", "", "",
    "abc",
    "d;q", "s;q", "lit\\n", "its", "a#b", "tab\tin", "$HOME",
    "continued", "on an indented line",
]


def nul_split(b):
    assert b.endswith(b"\0"), b
    return [x.decode() for x in b[:-1].split(b"\0")]


def test_args_reach_argv_exactly():
    cfg = with_setup_twins(ARGS_CONFIG, ["argv"])
    with gw.Gateway(cfg, files={"argv.sh": (ARGV_SH, 0o755)}) as g:
        for route in ("argv", "argv_setup"):
            got = nul_split(gw.talk(g.addr(route)))
            assert got == ARGS_EXPECTED, "%s:\n%r\n!=\n%r" % (route, got, ARGS_EXPECTED)


CWD_CONFIG = """
[default_cwd]
listen = 127.0.0.1:0
exec = bin/pwd.sh

[absolute_cwd]
listen = 127.0.0.1:0
exec = bin/pwd.sh
cwd = /

[relative_cwd]
listen = 127.0.0.1:0
exec = {dir}/bin/pwd.sh
cwd = data/../data/sub

[argv0_relative]
listen = 127.0.0.1:0
exec = ./bin/../bin/cat
args = /proc/self/cmdline

[argv0_absolute]
listen = 127.0.0.1:0
exec = /bin/cat
args = /proc/self/cmdline
"""


def cwd_gateway():
    g = gw.Gateway(with_setup_twins(CWD_CONFIG, ["default_cwd", "absolute_cwd", "relative_cwd",
                                                 "argv0_relative"]), start=False,
                   files={"bin/pwd.sh": (PWD_SH, 0o755), "data/sub/.keep": ("", 0o644)})
    # A program that is not a script, so that /proc/self/cmdline shows
    # argv[0] as the gateway passed it.
    os.symlink("/bin/cat", os.path.join(g.dir, "bin", "cat"))
    # The gateway's own cwd is elsewhere: relative paths are the config's.
    g.start(cwd="/")
    return g


def test_cwd_default_is_program_directory():
    with cwd_gateway() as g:
        real = os.path.realpath(g.dir)
        for route in ("default_cwd", "default_cwd_setup"):
            assert gw.talk(g.addr(route)) == (real + "/bin\n").encode(), route


def test_cwd_explicit():
    with cwd_gateway() as g:
        real = os.path.realpath(g.dir)
        for suffix in ("", "_setup"):
            assert gw.talk(g.addr("absolute_cwd" + suffix)) == b"/\n"
            assert gw.talk(g.addr("relative_cwd" + suffix)) == (real + "/data/sub\n").encode()


def test_argv0_is_exec_as_written():
    with cwd_gateway() as g:
        for route in ("argv0_relative", "argv0_relative_setup"):
            assert nul_split(gw.talk(g.addr(route))) == \
                ["./bin/../bin/cat", "/proc/self/cmdline"], route
        assert nul_split(gw.talk(g.addr("argv0_absolute"))) == ["/bin/cat", "/proc/self/cmdline"]


def test_relative_exec_in_check_output():
    """-t shows the program resolved against the config's directory."""
    g = gw.Gateway(with_setup_twins(CWD_CONFIG, ["default_cwd", "absolute_cwd", "relative_cwd",
                                                 "argv0_relative"]), start=False, files={"bin/pwd.sh": (PWD_SH, 0o755),
                                                   "data/sub/.keep": ("", 0o644)})
    os.symlink("/bin/cat", os.path.join(g.dir, "bin", "cat"))
    with g:
        p = subprocess.run([gw.BIN, "-t", "-c", g.config], capture_output=True, text=True,
                           timeout=10, cwd="/")
        assert p.returncode == 0, p.stderr
        lines = dict(line.split(" ", 1) for line in p.stdout.splitlines())
        assert "exec=%s/bin/pwd.sh " % g.dir in lines["default_cwd"], lines
        assert "exec=%s/bin/cat " % g.dir in lines["argv0_relative"], lines


# ---- descriptors ----

FD_CONFIG = """
[fds]
listen = 127.0.0.1:0
listen = unix:{dir}/fds.sock
exec = /bin/ls
args = -ln /proc/self/fd

[fds_stdin_null]
listen = 127.0.0.1:0
exec = /bin/ls
args = -ln /proc/self/fd
stdin = null

[fds_stderr_null]
listen = 127.0.0.1:0
exec = /bin/ls
args = -ln /proc/self/fd
stderr = null

[fds_stderr_inherit]
listen = 127.0.0.1:0
exec = /bin/ls
args = -ln /proc/self/fd
stderr = inherit

[flags]
listen = 127.0.0.1:0
listen = unix:{dir}/flags.sock
exec = /bin/cat
args = /proc/self/fdinfo/0 /proc/self/fdinfo/1

[stat]
listen = 127.0.0.1:0
exec = /bin/cat
args = /proc/self/stat

[sigs]
listen = 127.0.0.1:0
exec = /bin/grep
args = ^Sig /proc/self/status
"""


FD_CONFIG = with_setup_twins(FD_CONFIG, ["fds", "fds_stdin_null", "fds_stderr_null",
                                         "fds_stderr_inherit", "flags", "stat", "sigs"])
BOTH = ("", "_setup")


def fd_table(out):
    """{fd: link target} from `ls -ln /proc/self/fd`, without ls's own
    directory descriptor (which points at /proc/PID/fd)."""
    fds = {}
    for line in out.decode().splitlines():
        m = re.search(r" (\d+) -> (.*)$", line)
        if m:
            fds[int(m.group(1))] = m.group(2)
    own = [fd for fd, t in fds.items() if re.fullmatch(r"/proc/\d+/fd", t)]
    assert len(own) == 1, out
    del fds[own[0]]
    return fds


def test_fds_are_socket_and_nothing_else():
    with gw.Gateway(FD_CONFIG) as g:
        for route, index in (("fds", 0), ("fds", 1), ("fds_setup", 0)):
            fds = fd_table(gw.talk(g.addr(route, index)))
            assert sorted(fds) == [0, 1, 2], fds
            assert fds[0].startswith("socket:["), fds
            assert fds[1] == fds[0], fds
            # stderr = log: a pipe (libuv makes it a socketpair)
            assert re.fullmatch(r"(pipe|socket):\[\d+\]", fds[2]) and fds[2] != fds[0], fds


def test_fds_while_other_connections_are_open():
    """Listeners, other clients' sockets and stderr pipes of other
    children are never inherited."""
    with gw.Gateway(FD_CONFIG + """
[hold]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'read x'
""") as g:
        held = [g.connect("hold") for _ in range(3)]
        g.wait_event("spawn", 3, route="hold")
        for route in ("fds", "fds_setup"):
            fds = fd_table(gw.talk(g.addr(route)))
            assert sorted(fds) == [0, 1, 2], (route, fds)
        for s in held:
            s.sendall(b"\n")
            s.close()
        g.wait_event("exit", 3, route="hold")


def test_stdin_null():
    with gw.Gateway(FD_CONFIG) as g:
        for suffix in BOTH:
            fds = fd_table(gw.talk(g.addr("fds_stdin_null" + suffix)))
            assert sorted(fds) == [0, 1, 2], fds
            assert fds[0] == "/dev/null", fds
            assert fds[1].startswith("socket:["), fds


def test_stderr_null_and_inherit():
    with gw.Gateway(FD_CONFIG) as g:
        for suffix in BOTH:
            fds = fd_table(gw.talk(g.addr("fds_stderr_null" + suffix)))
            assert sorted(fds) == [0, 1, 2] and fds[2] == "/dev/null", fds
            fds = fd_table(gw.talk(g.addr("fds_stderr_inherit" + suffix)))
            assert sorted(fds) == [0, 1, 2], fds
            assert fds[2] == os.readlink("/proc/%d/fd/2" % g.pid()) == g.log_path, fds


def test_socket_is_blocking():
    with gw.Gateway(FD_CONFIG) as g:
        for route, index in (("flags", 0), ("flags", 1), ("flags_setup", 0)):
            out = gw.talk(g.addr(route, index)).decode()
            flags = [int(x, 8) for x in re.findall(r"^flags:\s+([0-7]+)", out, re.M)]
            assert len(flags) == 2, out
            for f in flags:
                assert not f & os.O_NONBLOCK, "O_NONBLOCK set on the child's socket: %o" % f


def test_own_session_and_group():
    with gw.Gateway(FD_CONFIG) as g:
        for route in ("stat", "stat_setup"):
            out = gw.talk(g.addr(route)).decode()
            fields = out.rsplit(")", 1)[1].split()
            pid = int(out.split()[0])
            ppid, pgrp, session = int(fields[1]), int(fields[2]), int(fields[3])
            assert ppid == g.pid(), out
            assert pgrp == pid and session == pid, out
            spawn = g.wait_event("spawn", route=route)[0]
            assert spawn["pid"] == str(pid)


def block_and_ignore():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGALRM})
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


def sig_fields(text):
    return {k: int(v, 16) for k, v in re.findall(r"^(Sig\w+):\s+([0-9a-f]+)$", text, re.M)}


def test_clean_signal_state():
    """The gateway ignores SIGPIPE (and here also starts with signals
    blocked and ignored); the child sees none of that."""
    with gw.Gateway(FD_CONFIG, preexec_fn=block_and_ignore) as g:
        with open("/proc/%d/status" % g.pid()) as f:
            mine = sig_fields(f.read())
        bit = lambda s: 1 << (s - 1)  # noqa: E731
        assert mine["SigIgn"] & bit(signal.SIGPIPE), mine
        for route in ("sigs", "sigs_setup"):
            child = sig_fields(gw.talk(g.addr(route)).decode())
            assert child["SigBlk"] == 0, "%s: blocked in the child: %x" % (route, child["SigBlk"])
            assert child["SigIgn"] == 0, "%s: ignored in the child: %x" % (route, child["SigIgn"])


INHERITED_CONFIG = """
[gateway]
workers = %d

[fds]
listen = 127.0.0.1:0
exec = /bin/ls
args = -ln /proc/self/fd

[fds_nobody]
listen = 127.0.0.1:0
exec = /bin/ls
args = -ln /proc/self/fd
user = nobody
"""


def holders(pid, path):
    """The descriptors of process pid that refer to path."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == path:
                out.append(int(fd))
        except OSError:
            pass
    return out


def test_inherited_descriptors_never_reach_a_child():
    """A descriptor left open by whatever started the gateway (a shell's
    `exec 7<file; gatewayd`) is closed at start: no child gets it, with
    or without user =, nor does the gateway or a worker keep it."""
    gw.need_root()
    for workers in (1, 2):
        g = gw.Gateway(INHERITED_CONFIG % workers, start=False,
                       files={"inherited": ("left open\n", 0o644)})
        with g:
            path = os.path.join(g.dir, "inherited")
            fd = os.open(path, os.O_RDONLY)
            try:
                g.start(pass_fds=(fd,))
            finally:
                os.close(fd)
            if workers > 1:
                g.wait_event("worker", workers)
            for route in ("fds", "fds_nobody"):
                fds = fd_table(gw.talk(g.addr(route)))
                assert sorted(fds) == [0, 1, 2], (workers, route, fds)
                assert path not in fds.values(), (workers, route, fds)
            for pid in [g.pid()] + [int(e["pid"]) for e in g.events("worker")]:
                assert not holders(pid, path), (workers, pid, holders(pid, path))


def test_gateway_closes_its_copy():
    """The gateway keeps no copy of the socket: once the child (and all
    it started) has closed it, the client sees EOF even though the
    gateway runs on."""
    cfg = """
[bg]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'echo hi; exec >&- <&-; sleep 30'
stderr = null
"""
    with gw.Gateway(cfg) as g:
        s = g.connect("bg")
        assert gw.recv_all(s) == b"hi\n"
        s.close()


if __name__ == "__main__":
    gw.main(globals())
