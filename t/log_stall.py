"""The log cannot stop the gateway. With its stderr a pipe (or a socket)
that nobody reads, every connection is still served; lines that do not
fit are dropped whole and counted, and once the reader catches up an
`event=log_dropped lines=N` says how many; every line that arrives is
whole and in order; the description of the gateway's fd 2 never becomes
non-blocking. At exit, what is left waits for a reader that is alive,
and not forever for one that is stuck."""
import concurrent.futures
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402

O_NONBLOCK = 0o4000

# A text log line, whole: the timestamp, the event, then key=value pairs
# whose values are bare or quoted with the log's escapes.
LINE = re.compile(r'ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z event=[a-z_]+'
                  r'(?: [a-z_]+=(?:"(?:[^"\\\x00-\x1f\x7f]|\\(?:n|"|\\|x[0-9a-f]{2}))*"'
                  r'|[^\s"=\\\x7f]+))*')

SHORT = "x" * 900            # each child's stderr line: ~1 KiB of log
LONG = "\x01" * 1024         # escaped to \x01: a line over PIPE_BUF

CONFIG = """
[gateway]
workers = {workers}

[noisy]
listen = unix:{{dir}}/noisy.sock
exec = noisy.sh
"""


def script(long_lines):
    """Says hello, writes a 900-byte line to stderr, and with long_lines
    a 1024-byte line of control bytes (a log line over PIPE_BUF) on every
    tenth connection."""
    s = b"#!/bin/sh\necho hello\nprintf '%s\\n' '" + SHORT.encode() + b"' >&2\n"
    if long_lines:
        s += (b"case $GATEWAY_CONN in *0) printf '%s\\n' '" + LONG.encode() +
              b"' >&2 ;; esac\n")
    return s


class Stalled:
    """A gateway whose stderr is a pipe (or a socket) the test does not
    read until drain(). Built on gw.Gateway for its directory and its
    clean-up (stopped with SIGTERM, exit status checked)."""

    def __init__(self, workers=1, long_lines=True, kind="pipe", user=None, fill=False,
                 config=None):
        self.g = gw.Gateway(config or CONFIG.format(workers=workers), start=False,
                            files={"noisy.sh": (script(long_lines), 0o755)})
        self.sock = os.path.join(self.g.dir, "noisy.sock")
        open(self.g.log_path, "wb").close()
        if kind == "pipe":
            self.r, w = os.pipe()
        else:
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            self.r, w = a.detach(), b.detach()
        if fill:
            fill_pipe(w)
        pre = None
        if user is not None:
            os.chown(self.g.dir, user, user)

            def pre():
                os.setgroups([])
                os.setgid(user)
                os.setuid(user)
        self.proc = subprocess.Popen([gw.BIN, "-c", self.g.config],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=w, preexec_fn=pre)
        os.close(w)
        self.g.proc = self.proc
        self.g.procs.append(self.proc)
        self.data = bytearray()
        self.reader = None

    def wait_listening(self):
        """Until a first connection is served: the route is up (that
        connection counts among those the log must account for)."""
        def up():
            if self.proc.poll() is not None:
                raise AssertionError("gatewayd exited %d" % self.proc.returncode)
            try:
                return gw.talk(self.sock, timeout=10) == b"hello\n"
            except (FileNotFoundError, ConnectionRefusedError):
                return False
        gw.wait_for(up, 20, "the gateway to listen")

    def drain(self):
        """Reads the pipe from now on, in a thread, until EOF."""
        def run():
            while True:
                b = os.read(self.r, 65536)
                if not b:
                    break
                self.data.extend(b)
        self.reader = threading.Thread(target=run, daemon=True)
        self.reader.start()

    def stop(self, timeout=30):
        """SIGTERM; the exit status, once the reader has seen EOF (every
        writer, workers included, is gone)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("gatewayd did not stop on SIGTERM")
        if self.reader:
            self.reader.join(30)
            assert not self.reader.is_alive(), "the log never ended (EOF)"
        return status

    def close(self, failing=False):
        """Drains the pipe (a gateway stuck in write(), as the old code
        was, can then stop), stops the gateway through gw.Gateway.close
        (SIGTERM, exit status) and looks for sanitizer reports in what
        it logged."""
        if self.reader is None:
            self.drain()
        try:
            self.g.close(failing=failing)
        finally:
            self.reader.join(30)
            os.close(self.r)
        if os.path.isdir(self.g.dir):  # GW_KEEP=1 keeps it: the log too
            with open(self.g.log_path, "wb") as f:
                f.write(self.data)
        found = gw.sanitizer_reports(self.data.decode("utf-8", "replace"))
        if found and not failing:
            raise AssertionError("sanitizer report:\n" + found)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(failing=exc_type is not None)


def fill_pipe(w):
    """Fills the pipe through a description of our own, so that the one
    the gateway gets stays blocking."""
    fd = os.open("/proc/self/fd/%d" % w, os.O_WRONLY | os.O_NONBLOCK)
    try:
        # Down to the last byte: a short line must not fit either.
        for chunk in (b"filler\n" * 512, b"filler\n", b"\n"):
            try:
                while True:
                    os.write(fd, chunk)
            except BlockingIOError:
                pass
    finally:
        os.close(fd)


def fd2_flags(pid):
    with open("/proc/%d/fdinfo/2" % pid) as f:
        for line in f:
            if line.startswith("flags:"):
                return int(line.split()[1], 8)
    raise AssertionError("no flags in fdinfo")


def workers_of(pid):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % p, "rb") as f:
                worker = b"\0--worker\0" in f.read()
        except (OSError, ValueError):
            continue
        if ppid == pid and worker:
            out.append(int(p))
    return out


def serve(sock, n, workers=8):
    """n connections, workers at a time; each must be answered within
    10 s, so that a frozen gateway fails the test instead of hanging it.
    Stops at the first failure."""
    failed = []

    def one(_):
        if failed:
            return
        try:
            got = gw.talk(sock, timeout=10)
            if got != b"hello\n":
                failed.append("answered %r" % got)
        except OSError as e:
            failed.append("%s (a frozen gateway?)" % e)
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        list(ex.map(one, range(n)))
    assert not failed, "%d of %d connections failed; first: %s" % (len(failed), n, failed[0])


def check_log(data, conns, long_lines):
    """Every line is whole and in its process's order, every line logged
    arrived or was counted in a log_dropped, and lines were dropped."""
    text = data.decode("utf-8", "replace")
    found = gw.sanitizer_reports(text)
    assert not found, "sanitizer report:\n" + found
    assert text.endswith("\n"), "the log ends in the middle of a line: %r" % text[-200:]
    lines = text.split("\n")[:-1]
    events, dropped, reports, per_conn = {}, 0, 0, {}
    for raw in lines:
        if raw in ("filler", ""):
            continue
        assert LINE.fullmatch(raw), "not a whole log line: %r" % raw[:300]
        d = gw.parse_line(raw)
        ev = d["event"]
        events[ev] = events.get(ev, 0) + 1
        if ev == "log_dropped":
            assert int(d["lines"]) > 0, raw
            dropped += int(d["lines"])
            reports += 1
        elif ev in ("spawn", "stderr", "exit"):
            if ev == "stderr":
                assert d["line"] in (SHORT, LONG), "a cut stderr line: %r" % raw[:300]
            if ev == "exit":
                assert d["status"] == "0", raw
            per_conn.setdefault(int(d["conn"]), []).append(ev if ev != "stderr" else
                                                          "long" if d["line"] == LONG else "short")
        else:
            assert ev in ("start", "listen", "worker", "warning", "stop"), raw[:300]
    assert reports > 0 and dropped > 0, "no log_dropped event: %s" % events
    for ev in ("start", "listen", "stop"):
        assert events.get(ev), "no %s event: %s" % (ev, events)
    # In each process's order: spawn, its stderr lines, exit.
    order = ["spawn", "short", "long", "exit"]
    for conn, evs in per_conn.items():
        assert evs == sorted(evs, key=order.index), "conn %d out of order: %s" % (conn, evs)
    want = 3 * conns + (conns // 10 if long_lines else 0)
    got = sum(events.get(e, 0) for e in ("spawn", "stderr", "exit"))
    assert got + dropped == want, \
        "%d lines arrived and %d were reported dropped, %d logged: %s" % (got, dropped, want, events)
    return dropped


def stalled_run(n, workers=1, long_lines=True, kind="pipe", user=None, check=None):
    with Stalled(workers, long_lines, kind, user) as s:
        s.wait_listening()
        if workers > 1:
            gw.wait_for(lambda: len(workers_of(s.proc.pid)) == workers, 10, "the workers")
        pids = [s.proc.pid] + workers_of(s.proc.pid)
        # Nobody reads: the pipe fills after some 300 connections, and
        # the buffer a little later; the gateway must serve on.
        serve(s.sock, n)
        if check:
            check(s)
        for pid in pids:
            assert not fd2_flags(pid) & O_NONBLOCK, \
                "fd 2 of %d was made non-blocking (flags %o)" % (pid, fd2_flags(pid))
        # The reader catches up: the rest, and what was dropped.
        s.drain()
        gw.wait_for(lambda: b"event=log_dropped" in s.data, 30,
                    lambda: "a log_dropped event, have %d bytes" % len(s.data))
        status = s.stop()
        assert status == 0, "gatewayd exited %d" % status
        return check_log(s.data, n + 1, long_lines)


def test_stalled_pipe_keeps_serving():
    stalled_run(2000)


def test_stalled_pipe_with_two_workers():
    # Another process's line may land inside a line over PIPE_BUF (as
    # with blocking writes): only short lines here, from three processes.
    stalled_run(1500, workers=2, long_lines=False)


def test_stalled_socket_keeps_serving():
    # journald's stream: send(MSG_DONTWAIT) on fd 2, an epoll set for
    # the loop to wait on.
    stalled_run(1500, kind="socket")


def test_stalled_pipe_of_another_user_keeps_serving():
    # A pipe the gateway may not open again (it runs as nobody; root made
    # the pipe): the writer thread.
    gw.need_root()

    def one_pipe_fd(s):
        # Descriptors of finished connections may close while the table
        # is read: fd_table() passes over those.
        table = s.g.fd_table()
        fds = sorted(fd for fd, what in table.items() if what == table[2])
        assert fds == [2], "the pipe was opened again: fds %s" % fds
        assert len(os.listdir("/proc/%d/task" % s.proc.pid)) >= 2, "no writer thread"
    stalled_run(1000, user=65534, check=one_pipe_fd)


def test_stop_with_a_stuck_reader_is_bounded():
    with Stalled(workers=2, long_lines=False) as s:
        s.wait_listening()
        serve(s.sock, 600)
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        try:
            status = s.proc.wait(30)
        except subprocess.TimeoutExpired:
            raise AssertionError("gatewayd did not exit with nobody reading its log")
        assert status == 0, status
        assert time.monotonic() - t0 < 20
        s.drain()
        s.reader.join(30)
        text = s.data.decode()
        assert text.endswith("\n")
        for raw in text.split("\n")[:-1]:
            assert LINE.fullmatch(raw), "not a whole log line: %r" % raw[:300]


FATAL = """
[noisy]
listen = 127.0.0.1:{port}
exec = noisy.sh
"""


def busy_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


def test_fatal_line_waits_for_a_slow_reader():
    # The pipe is full before the gateway starts; its listen fails. The
    # fatal line waits at exit for the reader, which comes a little late.
    taken = busy_port()
    with Stalled(fill=True, config=FATAL.format(port=taken.getsockname()[1])) as s:
        s.g.expected_status = 1
        time.sleep(0.5)
        assert s.proc.poll() is None, "gatewayd exited (%s) without waiting for the reader" % \
            s.proc.returncode
        s.drain()
        assert s.proc.wait(20) == 1
        s.reader.join(30)
        lines = [gw.parse_line(x) for x in s.data.decode().split("\n")
                 if x not in ("", "filler")]
        assert [d["event"] for d in lines] == ["fatal"], lines
        assert "address already in use" in lines[0]["msg"].lower(), lines
    taken.close()


def test_exit_does_not_wait_forever_for_a_stuck_reader():
    taken = busy_port()
    with Stalled(fill=True, config=FATAL.format(port=taken.getsockname()[1])) as s:
        s.g.expected_status = 1
        try:
            status = s.proc.wait(20)
        except subprocess.TimeoutExpired:
            raise AssertionError("gatewayd never exited: its last line waits for a reader "
                                 "that never reads")
        assert status == 1
    taken.close()


if __name__ == "__main__":
    gw.main(globals())
