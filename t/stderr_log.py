"""stderr = log: each line a child writes to stderr becomes one `stderr`
event (route, conn, pid, line), in order and before the child's `exit`;
long lines are split, a last line without newline is flushed, and no byte
of a line can forge another log line or field."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402

CONFIG = """
[lines]
listen = 127.0.0.1:0
exec = lines.sh

[exact]
listen = 127.0.0.1:0
exec = exact.sh

[forge]
listen = 127.0.0.1:0
exec = forge.sh

[slow]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'echo one >&2; read x; printf "two\\\\nthree" >&2; read y; echo four >&2'
"""

LONG = 2500

FILES = {
    # Lines, a long one, and a last line without a newline, then exit at once.
    "lines.sh": (b"""#!/bin/sh
echo first >&2
echo 'second with  blanks' >&2
head -c %d /dev/zero | tr '\\0' x >&2
echo >&2
echo after-long >&2
echo out
printf 'no newline at the end' >&2
""" % LONG, 0o755),
    # A line of exactly 1024 bytes: one line, not split, no extra line.
    "exact.sh": (b"""#!/bin/sh
head -c 1024 /dev/zero | tr '\\0' y >&2
echo >&2
echo next >&2
""", 0o755),
    # Bytes that would forge a line or a field if written raw.
    "forge.sh": (b"""#!/bin/sh
printf 'a" event=exit route=fake conn=1 pid=1 status=0\\n' >&2
printf 'x\\rts=2000-01-01T00:00:00.000Z event=fatal msg=forged\\n' >&2
printf 'ctl\\001\\033[31mred\\177 tab\\there back\\\\slash eq=ual\\n' >&2
printf 'quote"\\n' >&2
printf '\\n' >&2
printf 'last' >&2
""", 0o755),
}


def stderr_lines(g, conn):
    return [e["line"] for e in g.events("stderr", conn=conn)]


def run_one(g, route, data=b""):
    out = gw.talk(g.addr(route), data)
    spawn = g.wait_event("spawn", route=route)[-1]
    conn = spawn["conn"]
    g.wait_event("exit", conn=conn)
    return out, spawn, conn


def test_lines_in_order_before_exit():
    with gw.Gateway(CONFIG, files=FILES) as g:
        out, spawn, conn = run_one(g, "lines")
        assert out == b"out\n"
        got = stderr_lines(g, conn)
        short = [x[:20] + "...(%d)" % len(x) for x in got]
        assert got[:2] == ["first", "second with  blanks"], short
        assert got[-2:] == ["after-long", "no newline at the end"], short
        # The long line comes in pieces of at most 1024 bytes, none lost.
        pieces = got[2:-2]
        assert len(pieces) >= 3 and all(0 < len(x) <= 1024 for x in pieces), short
        assert "".join(pieces) == "x" * LONG, short
        for e in g.events("stderr", conn=conn):
            assert e["route"] == "lines" and e["pid"] == spawn["pid"], e
        # Every stderr line comes before the exit event of its child.
        names = [d.get("event") for _, d in g.lines() if d.get("conn") == conn]
        assert names[-1] == "exit", names
        assert names.count("exit") == 1


def test_many_children_keep_their_lines_apart():
    with gw.Gateway(CONFIG, files=FILES) as g:
        for _ in range(10):
            gw.talk(g.addr("lines"))
        exits = g.wait_event("exit", 10, route="lines")
        for e in exits:
            got = stderr_lines(g, e["conn"])
            assert got[0] == "first" and got[-1] == "no newline at the end", got
            assert "".join(got[2:-2]) == "x" * LONG
            names = [d.get("event") for _, d in g.lines() if d.get("conn") == e["conn"]]
            assert names[-1] == "exit", names


def test_line_of_exactly_1024_bytes():
    with gw.Gateway(CONFIG, files=FILES) as g:
        _, _, conn = run_one(g, "exact")
        got = stderr_lines(g, conn)
        # Not longer than 1024 bytes: one line, and no empty line after it.
        assert got == ["y" * 1024, "next"], [x[:20] + "...(%d)" % len(x) for x in got]


def test_lines_arrive_while_child_runs():
    """A line without newline is held back only until the next newline or
    the end of the stream; lines of a running child come as they are written."""
    with gw.Gateway(CONFIG, files=FILES) as g:
        s = g.connect("slow")
        conn = g.wait_event("spawn", route="slow")[0]["conn"]
        g.wait_event("stderr", conn=conn, line="one")
        s.sendall(b"go\n")
        g.wait_event("stderr", conn=conn, line="two")
        s.sendall(b"go\n")
        s.shutdown(1)
        gw.recv_all(s)
        s.close()
        g.wait_event("exit", conn=conn)
        # "three" had no newline: it is the start of the line "four" ends.
        assert stderr_lines(g, conn) == ["one", "two", "threefour"], stderr_lines(g, conn)


def test_no_forged_lines():
    with gw.Gateway(CONFIG, files=FILES) as g:
        _, spawn, conn = run_one(g, "forge")
        got = stderr_lines(g, conn)
        want = [
            'a" event=exit route=fake conn=1 pid=1 status=0',
            "x\rts=2000-01-01T00:00:00.000Z event=fatal msg=forged",
            "ctl\x01\x1b[31mred\x7f tab\there back\\slash eq=ual",
            'quote"',
            "",
            "last",
        ]
        assert got == want, got
        raw = g.log()
        for line in raw.split("\n")[:-1]:
            assert line.startswith("ts="), "a line that is not the gateway's: %r" % line
            for c in line:
                assert c >= " " and c != "\x7f", "raw control byte in %r" % line
        assert not g.events("exit", route="fake")
        assert not g.events("fatal")
        assert len(g.events("exit")) == 1
        # The stderr lines carry exactly one event, route, conn and pid.
        for line, d in g.lines():
            if d.get("event") == "stderr":
                head = line.split(" line=", 1)[0]
                assert head.count("event=") == 1 and head.count("route=") == 1, line
                assert d["pid"] == spawn["pid"] and d["route"] == "forge"


if __name__ == "__main__":
    gw.main(globals())
