"""log_format = json: every log line is one JSON object with ts and event;
spawn, exit and stderr events carry route, conn and pid; a child's stderr
with invalid UTF-8 and control bytes still makes valid JSON (U+FFFD)."""
import json
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from limits_helpers import talk_from  # noqa: E402

DIRTY = r"""#!/bin/sh
printf 'bad\377\376 ctl\001\033[1m tab\t q"bs\\ e\303\251 cut\342\202\n' >&2
printf 'line2 \300\200 overlong \355\240\200 surrogate \360\237\230\200 emoji\n' >&2
printf '{"event":"forged","ts":"x"}\n' >&2
printf 'no newline at the end' >&2
echo ok
"""

CONFIG = """
[gateway]
log_format = json

[dirty]
listen = 127.0.0.1:0
exec = dirty.sh

[plain]
listen = 127.0.0.1:0
exec = /bin/echo
args = plain
deny = 127.0.0.2

[gone]
listen = 127.0.0.1:0
exec = gone.sh
"""

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class JsonGateway(gw.Gateway):
    def records(self):
        """Every whole log line as a parsed object; fails on a line that
        is not valid UTF-8 or not one JSON object."""
        with open(self.log_path, "rb") as f:
            data = f.read()
        out = []
        for raw in data.split(b"\n")[:-1]:
            text = raw.decode("utf-8")          # strict: must be UTF-8
            obj = json.loads(text)
            assert isinstance(obj, dict), text
            out.append(obj)
        return out

    def jevents(self, name=None, **match):
        return [o for o in self.records() if (name is None or o.get("event") == name) and
                all(str(o.get(k)) == str(v) for k, v in match.items())]

    def jwait(self, name, count=1, timeout=10, **match):
        return gw.wait_for(lambda: len(self.jevents(name, **match)) >= count and
                           self.jevents(name, **match), timeout,
                           lambda: "%d %s event(s) %s in:\n%s" % (count, name, match, self.log()))

    def start(self, timeout=20):
        # gw.Gateway.start waits for a text start line.
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen([gw.BIN, "-c", self.config], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.logf)
        gw.wait_for(lambda: self.proc.poll() is not None or self.jevents("start"), timeout,
                    "gatewayd to start")
        if self.proc.poll() is not None:
            raise AssertionError("gatewayd exited %d:\n%s" % (self.proc.returncode, self.log()))

    def jaddr(self, route):
        return gw.split_addr(self.jevents("listen", route=route)[0]["addr"])


def start():
    g = JsonGateway(CONFIG, start=False)
    for name, text in (("dirty.sh", DIRTY), ("gone.sh", "#!/bin/sh\n")):
        path = os.path.join(g.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
    g.start()
    return g


def stop(g):
    g.kill(signal.SIGTERM)
    assert g.proc.wait(20) == 0, g.log()


def check_all_lines(g):
    recs = g.records()
    assert recs
    for r in recs:
        assert TS.match(str(r.get("ts"))), r
        assert isinstance(r.get("event"), str) and r["event"], r
    return recs


def is_id(v):
    return re.fullmatch(r"\d+", str(v)) is not None


def test_every_line_is_json():
    with start() as g:
        assert [e["route"] for e in g.jevents("listen")] == ["dirty", "plain", "gone"]
        assert len(g.jevents("start")) == 1
        if os.geteuid() == 0:
            assert len(g.jevents("warning")) == 3, g.log()
        assert gw.talk(g.jaddr("plain")) == b"plain\n"
        g.jwait("exit", route="plain")
        stop(g)
        names = {r["event"] for r in check_all_lines(g)}
        assert {"listen", "start", "spawn", "exit", "stop"} <= names, names


def test_child_events_carry_ids():
    with start() as g:
        assert gw.talk(g.jaddr("dirty")) == b"ok\n"
        g.jwait("exit", route="dirty")
        spawn = g.jevents("spawn", route="dirty")[0]
        ex = g.jevents("exit", route="dirty")[0]
        errs = g.jevents("stderr", route="dirty")
        assert len(errs) == 4, errs
        for e in [spawn, ex] + errs:
            assert e["route"] == "dirty", e
            assert is_id(e["conn"]) and is_id(e["pid"]), e
            assert str(e["conn"]) == str(spawn["conn"]) and str(e["pid"]) == str(spawn["pid"]), e
        assert spawn["peer"].startswith("127.0.0.1:"), spawn
        assert str(ex["status"]) == "0", ex
        stop(g)
        check_all_lines(g)


def test_invalid_utf8_and_control_bytes():
    with start() as g:
        assert gw.talk(g.jaddr("dirty")) == b"ok\n"
        g.jwait("exit", route="dirty")
        lines = [e["line"] for e in g.jevents("stderr", route="dirty")]
        first = "bad\ufffd\ufffd ctl\x01\x1b[1m tab\t q\"bs\\ e\u00e9 cut"
        assert lines[0].startswith(first), ascii(lines[0])
        rest = lines[0][len(first):]
        assert rest and set(rest) == {"\ufffd"}, ascii(lines[0])
        assert lines[1].startswith("line2 \ufffd\ufffd overlong \ufffd"), ascii(lines[1])
        assert lines[1].endswith(" surrogate \U0001F600 emoji"), ascii(lines[1])
        assert not any(0xd800 <= ord(ch) <= 0xdfff for ch in lines[1]), ascii(lines[1])
        # A child cannot forge an event: its JSON is a string value.
        assert lines[2] == '{"event":"forged","ts":"x"}', lines[2]
        assert not g.jevents("forged")
        assert lines[3] == "no newline at the end", lines[3]
        # The raw log has no control byte but the newlines between lines.
        with open(g.log_path, "rb") as f:
            raw = f.read()
        assert not re.search(rb"[\x00-\x09\x0b-\x1f\x7f]", raw), raw
        stop(g)
        check_all_lines(g)


def test_refusal_and_spawn_error():
    with start() as g:
        assert talk_from(g.jaddr("plain"), "127.0.0.2") == b""
        ref = g.jwait("refuse", route="plain")[0]
        assert ref["reason"] == "deny" and is_id(ref["conn"]), ref
        assert ref["peer"].startswith("127.0.0.2:"), ref
        os.unlink(os.path.join(g.dir, "gone.sh"))
        assert gw.talk(g.jaddr("gone")) == b""
        err = g.jwait("spawn_error", route="gone")[0]
        assert is_id(err["conn"]) and "no such file" in err["error"].lower(), err
        stop(g)
        check_all_lines(g)


if __name__ == "__main__":
    gw.main(globals())
