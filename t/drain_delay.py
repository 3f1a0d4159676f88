"""drain_delay: a SIGTERM first makes the gateway say it is draining
(the control socket's status, the agent-check, systemd's STATUS=) while
it goes on serving for that many seconds, then it stops as it always
does; a second SIGTERM, or a SIGINT, stops it at once."""
import datetime
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import gw  # noqa: E402
from ctl_helpers import status  # noqa: E402

CONFIG = """
[gateway]
control = unix:ctl.sock
drain_delay = {delay}

[echo]
listen = 127.0.0.1:0
exec = /bin/echo
args = hi
"""


def seconds(e):
    t = datetime.datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


def test_serves_while_draining_then_stops():
    with gw.Gateway(CONFIG.replace("{delay}", "1.5")) as g:
        addr = g.addr("echo")
        g.kill(signal.SIGTERM)
        d = g.wait_event("drain")[0]
        assert d["signal"] == "TERM" and d["delay"] == "1.500", d
        top, _ = status(g)
        assert top["state"] == "draining", top
        assert gw.talk(addr) == b"hi\n"
        stop = g.wait_event("stop", timeout=10)[0]
        assert g.wait_exit() == 0
        gap = seconds(stop) - seconds(d)
        assert 1.4 <= gap <= 3, "stopped %.3f s after the drain began" % gap
        assert g.events("spawn") and not g.events("refuse"), g.log()


def test_second_sigterm_stops_at_once():
    with gw.Gateway(CONFIG.replace("{delay}", "60")) as g:
        g.kill(signal.SIGTERM)
        g.wait_event("drain")
        g.kill(signal.SIGTERM)
        stop = g.wait_event("stop", timeout=5)[0]
        assert stop["signal"] == "TERM", stop
        assert g.wait_exit(timeout=10) == 0


def test_sigint_does_not_drain():
    with gw.Gateway(CONFIG.replace("{delay}", "60")) as g:
        g.kill(signal.SIGINT)
        stop = g.wait_event("stop", timeout=5)[0]
        assert stop["signal"] == "INT" and not g.events("drain"), g.log()
        assert g.wait_exit(timeout=10) == 0


def test_no_delay_no_drain():
    with gw.Gateway(CONFIG.replace("{delay}", "0")) as g:
        g.kill(signal.SIGTERM)
        g.wait_event("stop", timeout=5)
        assert g.wait_exit(timeout=10) == 0 and not g.events("drain")


if __name__ == "__main__":
    gw.main(globals())
