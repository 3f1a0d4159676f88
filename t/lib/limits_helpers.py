"""Helpers shared by the tests of limits, refusals, timeouts, access lists,
privileges, reload, stop and the JSON log. gw.py has the rest."""
import errno
import os
import signal
import socket
import time

import gw


def connect_from(addr, source, timeout=10):
    """A TCP connection to addr = (host, port) from the local address
    `source` (e.g. 127.0.0.2, which Linux serves on lo like 127.0.0.1)."""
    fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(addr)
    return s


def talk_from(addr, source, data=b"", timeout=10):
    """gw.talk from a chosen source address."""
    s = connect_from(addr, source, timeout)
    try:
        if data:
            s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return recv_all(s)
    finally:
        s.close()


def recv_all(s):
    """Everything until EOF; a reset counts as the end too (a refused
    client may see one), returned as what arrived before it."""
    chunks = []
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks)


def recv_until(s, marker, timeout=15):
    """Reads until `marker` has arrived; returns all that was read."""
    buf = b""
    end = time.monotonic() + timeout
    while marker not in buf:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out waiting for %r, got %r" % (marker, buf))
        s.settimeout(left)
        b = s.recv(65536)
        if not b:
            raise AssertionError("EOF before %r, got %r" % (marker, buf))
        buf += b
    return buf


def nothing_arrives(s, secs=1.0):
    """True if the peer sends nothing (and does not close) for secs: used
    to show a client is still queued. Failing it is never a timing
    accident: a queued client gets no bytes at all."""
    s.settimeout(secs)
    try:
        s.recv(1, socket.MSG_PEEK)
    except socket.timeout:
        return True
    return False


def pid_gone(pid):
    """The process no longer runs: gone, or a zombie nobody reaped yet
    (an orphan's new parent may be slow to reap, or never do it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return True
    return st[st.rindex(")") + 2:].split()[0] in ("Z", "X")


def state_of(pid):
    """A process's state letter (R, S, Z, ...), or None once it is reaped."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return None
    return st[st.rindex(")") + 2:].split()[0]


def need_group_signal_after_reap(g):
    """On the uv_spawn path libuv reaps a child before the gateway hears
    of its exit; its group is signalled after that only with Linux 6.9's
    PIDFD_SIGNAL_PROCESS_GROUP (README, How children are started): a
    skip where the kernel has none. The clone path needs nothing."""
    if g.wait_event("start")[0].get("spawn") != "uv_spawn":
        return
    # The flag is checked first: EINVAL if the kernel does not know it;
    # else ESRCH here (this process leads no group), or nothing.
    fd = os.pidfd_open(os.getpid())
    try:
        signal.pidfd_send_signal(fd, 0, None, 4)  # PIDFD_SIGNAL_PROCESS_GROUP
    except OSError as e:
        if e.errno == errno.EINVAL:
            gw.skip("uv_spawn path: this kernel cannot signal a reaped child's group",
                    machine=True)
    finally:
        os.close(fd)


def wait_gone(pid, timeout=20):
    gw.wait_for(lambda: pid_gone(pid), timeout, "pid %d to end" % pid)


def stop_ok(g, sig=None, timeout=30):
    """Stops the gateway and checks it exited 0 (under ASan a leak makes
    the exit status non-zero)."""
    rc = g.stop(timeout=timeout) if sig is None else g.stop(sig, timeout=timeout)
    assert rc == 0, "gatewayd exited %r:\n%s" % (rc, g.log())


def spawns(g, route):
    return g.events("spawn", route=route)


def ensure_dead(*pids):
    """Cleanup: kills whatever of these pids still runs."""
    for pid in pids:
        if pid and not pid_gone(pid):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
