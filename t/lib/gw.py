"""Helpers for the integration tests: start the real gatewayd on a scratch
config, read its log, talk to it over real sockets."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.abspath(os.environ.get("GATEWAYD", os.path.join(TOP, "build", "gatewayd")))
# make check sets GW_STRICT=1: every tool is installed and the run is
# root's, so a skip there is a failure unless the test says why its
# condition cannot hold on this machine (skip(..., machine=True)).
STRICT = os.environ.get("GW_STRICT") == "1"
# The spawn path the binary was built with ("clone" or "uv_spawn"), when
# the runner knows it: every start event must name it.
SPAWN = os.environ.get("GW_SPAWN")
# What a sanitizer writes when it finds something (LeakSanitizer reports
# at exit; UBSan's runtime errors; every AddressSanitizer error).
SANITIZER = re.compile(r"ERROR: (?:LeakSanitizer|AddressSanitizer)|"
                       r"runtime error: |SUMMARY: (?:Address|Leak|Undefined)")

# Every Gateway made while a test runs, so main() can stop and check those
# the test did not.
_made = []


class Skipped(Exception):
    """A test that cannot run here. machine=True says the condition cannot
    hold on this machine whatever is installed: a skip even in make check."""

    def __init__(self, why, machine=False):
        super().__init__(why)
        self.why = why
        self.machine = machine


def skip(why, machine=False):
    raise Skipped(why, machine)


def need_root():
    if os.geteuid() != 0:
        skip("needs root (running as uid %d)" % os.geteuid())


def need_program(name, *more):
    """The path of the first of these programs found, or a skip."""
    for n in (name,) + more:
        p = shutil.which(n) or (os.access(n, os.X_OK) and n)
        if p:
            return p
    skip("%s is not installed (scripts/bootstrap installs it)" % name)

PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def unquote(v):
    if not v.startswith('"'):
        return v
    out, i, s = [], 0, v[1:-1]
    while i < len(s):
        if s[i] == "\\":
            c = s[i + 1]
            if c == "n":
                out.append("\n")
            elif c == "x":
                out.append(chr(int(s[i + 2:i + 4], 16)))
                i += 2
            else:
                out.append(c)
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def parse_line(line):
    """One text log line as a dict (the last of a repeated key wins)."""
    return {k: unquote(v) for k, v in PAIR.findall(line)}


def wait_for(pred, timeout=10, what="condition"):
    """Polls pred() until it is true; `what` may be a callable, so that an
    expensive message is only built on failure."""
    end = time.monotonic() + timeout
    pause = 0.005
    while True:
        r = pred()
        if r:
            return r
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + (what() if callable(what) else what))
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


class Gateway:
    """A gatewayd on a config written into a fresh directory. In the text,
    {dir} is that directory and {top} the project's top directory."""

    def __init__(self, config, start=True, files=None, **popen):
        """files: {name: (text, mode)}; a str text is formatted like the
        config, a bytes text is written as it is (scripts with braces).
        A name may contain '/': directories are made. popen: keyword
        arguments for start()."""
        self.dir = tempfile.mkdtemp(prefix="gwt-")
        self.config = os.path.join(self.dir, "gateway.ini")
        self.log_path = os.path.join(self.dir, "gateway.log")
        for name, (text, mode) in (files or {}).items():
            p = os.path.join(self.dir, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            if isinstance(text, str):
                text = text.format(dir=self.dir, top=TOP).encode()
            with open(p, "wb") as f:
                f.write(text)
            os.chmod(p, mode)
        with open(self.config, "w") as f:
            f.write(config.format(dir=self.dir, top=TOP))
        self.proc = None
        self.procs = []         # every process spawn() started
        # The exit status the gateway must end with: 0 unless the test
        # says otherwise (None: any, the test checks it itself).
        self.expected_status = 0
        self.closed = False
        self.logf = None
        _made.append(self)
        self._seen = 0          # bytes of the log parsed so far
        self._parsed = []       # (raw line, dict) of every whole line
        if start:
            self.start(**popen)

    def spawn(self, args=None, close_std=(), preexec_fn=None, env=None, cwd=None,
              pass_fds=(), binary=None):
        """Starts the binary on the config without waiting for anything.
        close_std: which of fds 0-2 the gateway starts with closed;
        pass_fds: descriptors of ours it starts with, as whatever starts
        a daemon may leave it some (every other one is closed); binary:
        another copy of the binary to start."""
        if self.logf is None:
            self.logf = open(self.log_path, "wb")

        def pre():
            if preexec_fn:
                preexec_fn()
            for fd in close_std:
                os.close(fd)
        self.proc = subprocess.Popen([binary or BIN, "-c", self.config] + list(args or []),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.logf, env=env, cwd=cwd, pass_fds=pass_fds,
                                     preexec_fn=pre if (close_std or preexec_fn) else None)
        self.procs.append(self.proc)
        return self.proc

    def start(self, timeout=20, **kw):
        # The start event is logged once every listener is open.
        n = len(self.events("start")) if self.logf else 0
        self.spawn(**kw)
        wait_for(lambda: self.proc.poll() is not None or len(self.events("start")) > n,
                 timeout, what="gatewayd to start")
        if self.proc.poll() is not None:
            raise AssertionError("gatewayd exited %d:\n%s" % (self.proc.returncode, self.log()))
        started = self.events("start")[-1]
        if SPAWN and started.get("spawn") != SPAWN:
            raise AssertionError("gatewayd built for spawn=%s started with spawn=%s" %
                                 (SPAWN, started.get("spawn")))

    def run_to_exit(self, timeout=20, **kw):
        """Starts a gateway that is expected to exit by itself: its status,
        which the caller checks."""
        self.expected_status = None
        self.spawn(**kw)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("gatewayd did not exit:\n" + self.log())

    def wait_exit(self, timeout=20):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("gatewayd did not exit:\n" + self.log())

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def lines(self):
        """[(raw line, dict)] of every whole log line so far, parsed once."""
        with open(self.log_path, "rb") as f:
            f.seek(self._seen)
            data = f.read()
        end = data.rfind(b"\n")
        if end >= 0:
            self._seen += end + 1
            for raw in data[:end].decode("utf-8", "replace").split("\n"):
                self._parsed.append((raw, parse_line(raw)))
        return self._parsed

    def events(self, name=None, **match):
        out = []
        for _, d in self.lines():
            if name and d.get("event") != name:
                continue
            if all(d.get(k) == str(v) for k, v in match.items()):
                out.append(d)
        return out

    def wait_event(self, name, count=1, timeout=10, **match):
        return wait_for(lambda: len(self.events(name, **match)) >= count and
                        self.events(name, **match), timeout,
                        lambda: "%d %s event(s) %s in:\n%s" % (count, name, match, self.log()))

    def cpu_seconds(self):
        """User plus system CPU time the gateway has used so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def addr(self, route, index=0):
        """(host, port) or a Unix path of a route's listener, as logged."""
        a = self.events("listen", route=route)[index]["addr"]
        return split_addr(a)

    def connect(self, route, index=0, timeout=10):
        return connect(self.addr(route, index), timeout)

    def kill(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("gatewayd did not stop:\n" + self.log())
        return self.proc.returncode

    def pid(self):
        return self.proc.pid

    def fds(self):
        return sorted(os.listdir("/proc/%d/fd" % self.proc.pid), key=int)

    def fd_table(self):
        """{fd: what it refers to}: the gateway's descriptors by identity
        (socket:[inode], pipe:[inode], a path), not just their number."""
        out = {}
        for fd in self.fds():
            try:
                out[int(fd)] = os.readlink("/proc/%d/fd/%s" % (self.proc.pid, fd))
            except OSError:
                pass
        return out

    def settled_fds(self, route):
        """fd_table() once the gateway is idle: one more connection to
        route (a program with stderr = null, so that it leaves nothing of
        its own behind) has ended and been reaped, and no child is left.
        The loop has then been round since every earlier exit, so what
        those connections held (log pipes, pidfds) is closed."""
        n = len(self.events("exit", route=route))
        talk(self.addr(route))
        self.wait_event("exit", n + 1, route=route)
        wait_for(lambda: not self.children(), 20,
                 lambda: "no children, have %s" % self.children())
        return self.fd_table()

    def children(self):
        """(pid, state) of the programs the gateway runs: its children,
        and with workers > 1 the workers' children (not the workers)."""
        parent, state, workers = {}, {}, set()
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % p) as f:
                    st = f.read()
                fields = st[st.rindex(")") + 2:].split()
                parent[int(p)], state[int(p)] = int(fields[1]), fields[0]
                if parent[int(p)] == self.proc.pid:
                    with open("/proc/%s/cmdline" % p, "rb") as f:
                        if b"\0--worker\0" in f.read():
                            workers.add(int(p))
            except (OSError, ValueError):
                continue
        return [(p, state[p]) for p in parent
                if p not in workers and (parent[p] == self.proc.pid or parent[p] in workers)]

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(failing=exc_type is not None)

    def close(self, failing=False):
        """Stops every process this gateway started with SIGTERM (a graceful
        stop), then checks that each exited with expected_status and that no
        sanitizer reported anything in the log; raises AssertionError if
        not, unless the test is already failing (its error comes first)."""
        if self.closed:
            return
        self.closed = True
        problems = []
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    problems.append("gatewayd %d did not stop on SIGTERM" % proc.pid)
                    continue
            if self.expected_status is not None and proc.returncode != self.expected_status:
                problems.append("gatewayd %d exited %d, not %d" %
                                (proc.pid, proc.returncode, self.expected_status))
        found = ""
        if self.logf:
            self.logf.close()
            self.logf = None
            found = sanitizer_reports(self.log())
            if found:
                problems.append("sanitizer report:\n" + found)
        # Children run in sessions of their own: end what a failed test
        # left running (each is a group leader).
        if self.procs:
            try:
                ended = {e.get("pid") for e in self.events("exit")}
                pids = [int(e["pid"]) for e in self.events("spawn")
                        if e.get("pid") and e["pid"] not in ended]
            except (OSError, ValueError):
                pids = []
            for pid in pids:
                if session_of(pid) == pid:
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        pass
        log = self.log() if problems and self.procs and not found else ""
        if not os.environ.get("GW_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        if problems and not failing:
            raise AssertionError("; ".join(problems) + ("\nlog:\n" + log if log else ""))


def sanitizer_reports(text):
    """The lines around the first sanitizer report in a log, or ""."""
    m = SANITIZER.search(text)
    if not m:
        return ""
    start = text.rfind("\n", 0, max(0, m.start() - 300)) + 1
    return text[start:m.start() + 6000]


def session_of(pid):
    """The session id of a process, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[4])
    except (OSError, ValueError, IndexError):
        return None


def listener_inode(addr):
    """The inode of the socket listening on addr ((host, port) or a Unix
    path), read from /proc/net: the same inode before and after an event
    means the same listening socket was kept; None if nothing listens."""
    if isinstance(addr, str):
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                # Num RefCount Protocol Flags Type St Inode [Path]
                v = line.split()
                # Flags __SO_ACCEPTCON (0x10000): a listening socket.
                if len(v) >= 8 and int(v[3], 16) & 0x10000 and \
                        v[7] == ("@" + addr[1:] if addr.startswith("@") else addr):
                    return int(v[6])
        return None
    host, port = addr
    packed = socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                v = line.split()
                local, state, inode = v[1], v[3], int(v[9])
                ip, p = local.split(":")
                if state != "0A" or int(p, 16) != port:
                    continue
                # The kernel prints the address as 32-bit words in host order.
                raw = bytes.fromhex(ip)
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                if words == packed or (len(packed) == 4 and words == b"\0" * 10 + b"\xff\xff" + packed):
                    return inode
    return None


def split_addr(a):
    if a.startswith("unix:"):
        return a[5:]
    host, port = a.rsplit(":", 1)
    return (host.strip("[]"), int(port))


def connect(addr, timeout=10):
    if isinstance(addr, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect("\0" + addr[1:] if addr.startswith("@") else addr)
        return s
    fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    s = socket.create_connection(addr, timeout) if fam == socket.AF_INET else socket.socket(fam)
    if fam == socket.AF_INET6:
        s.settimeout(timeout)
        s.connect(addr)
    return s


def recv_all(s, limit=1 << 26):
    chunks, n = [], 0
    while n < limit:
        b = s.recv(65536)
        if not b:
            break
        chunks.append(b)
        n += len(b)
    return b"".join(chunks)


def talk(addr, data=b"", timeout=10):
    """Sends data, half-closes, and returns everything the server said."""
    s = connect(addr, timeout)
    try:
        if data:
            s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return recv_all(s)
    finally:
        s.close()


def run_config_check(config_text, files=None):
    """gatewayd -t on a config: (status, stdout, stderr, dir)."""
    g = Gateway(config_text, start=False, files=files)
    p = subprocess.run([BIN, "-t", "-c", g.config], capture_output=True, text=True, timeout=10)
    return p.returncode, p.stdout, p.stderr, g.dir


def main(ns):
    """Runs every test_* function of the calling module (or those named on
    the command line); prints one line per case and a closing tally line,
    `tally: N passed, N failed, N skipped`, which t/run adds up. Exits 1 if
    any failed. A file with no tests, a name that matches none, or a test
    that raises anything (SystemExit included) is a failure; a Skipped
    test is a skip, or a failure in a strict run unless machine=True.
    Gateways a test left open are stopped and checked after it."""
    names = [n for n in ns if n.startswith("test_") and callable(ns[n])]
    only = sys.argv[1:]
    passed = failed = skipped = 0
    unknown = [n for n in only if n not in names]
    if not names or unknown:
        print("FAIL %s" % ("no test_* functions in this file" if not names else
                           "no such test: " + " ".join(unknown)))
        failed += 1
    for n in names:
        if only and n not in only:
            continue
        t0 = time.monotonic()
        del _made[:]
        outcome, detail = "ok", None
        try:
            ns[n]()
        except Skipped as e:
            if STRICT and not e.machine:
                outcome, detail = "FAIL", "skipped in a strict run (GW_STRICT=1): " + e.why
            else:
                outcome, detail = "skip", e.why
        except KeyboardInterrupt:
            raise
        except BaseException:   # SystemExit too: a test cannot end the file
            outcome, detail = "FAIL", traceback.format_exc()
        for g in list(_made):
            try:
                g.close(failing=outcome == "FAIL")
            except Exception:
                if outcome != "FAIL":
                    outcome, detail = "FAIL", "after the test: " + traceback.format_exc()
        del _made[:]
        if outcome == "ok":
            passed += 1
            print("ok   %s (%.2fs)" % (n, time.monotonic() - t0))
        elif outcome == "skip":
            skipped += 1
            print("skip %s: %s" % (n, detail))
        else:
            failed += 1
            print("FAIL %s" % n)
            print(detail.rstrip())
        sys.stdout.flush()
    print("tally: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.stdout.flush()
    sys.exit(1 if failed else 0)
