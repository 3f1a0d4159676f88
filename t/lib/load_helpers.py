"""Steady load through a load balancer, for the tests of gateways behind
HAProxy: loopback addresses standing in for hosts, clients that connect
from an address of their own (so that a child that sees it was told by a
PROXY header), threads making one short connection after another and
keeping every failure."""
import datetime
import socket
import threading
import time

import gw
import http_helpers as hh


def bindable(host):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def hosts(n):
    """(the clients' address, n addresses for gateways): 127.0.0.9 and
    127.0.0.2, .3, ... where those can be bound; where they cannot (a
    loopback that is not 127.0.0.0/8), 127.0.0.1 for all."""
    if bindable("127.0.0.2"):
        return "127.0.0.9", tuple("127.0.0.%d" % (2 + i) for i in range(n))
    return "127.0.0.1", ("127.0.0.1",) * n


def seconds(e):
    """The time of a log event, in seconds since the epoch."""
    t = datetime.datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


def ask_raw(client, addr, data=b""):
    """(our port, everything the other end sent) of one connection from
    client that sends data. No half-close: haproxy in mode tcp takes a
    client's FIN before its server connection is up for an abort (CC)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.bind((client, 0))
        s.connect(addr)
        port = s.getsockname()[1]
        s.sendall(data)
        return port, gw.recv_all(s)
    finally:
        s.close()


def ask_http(client, addr):
    return ask_raw(client, addr, b"GET / HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")


def http_says(body):
    """A check of an answer: a 200 whose body is body."""
    def good(out):
        try:
            r = hh.Response(out)
        except (AssertionError, ValueError, IndexError):
            return False
        return r.status == 200 and r.body == body
    return good


class Load:
    """Threads making one short connection after another through haproxy
    until stopped: every answer that is not the expected one, and every
    error (refused, reset, timeout), is a failure."""

    def __init__(self, ask, good, threads=2):
        self.ask, self.good = ask, good
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.ports, self.failures = [], []
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self):
        while not self.done.is_set():
            t = time.monotonic()
            try:
                port, out = self.ask()
                bad = None if self.good(out) else "answer %r" % out[-300:]
            except Exception as e:     # refused, reset, timeout
                port, bad = None, repr(e)
            with self.lock:
                if port:
                    self.ports.append(port)
                if bad:
                    self.failures.append("%.3f %s" % (t, bad))

    def count(self):
        with self.lock:
            return len(self.ports)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        for t in self.threads:
            t.join(30)
