"""The test harness itself cannot be fooled: a test that raises
SystemExit(0) or a file with no tests fails, a skip is counted as a skip
(and is a failure in a strict run unless the test says the condition
cannot hold on this machine), a skip ends only its own test, a gateway a
test leaves running is stopped with SIGTERM and must exit 0, a sanitizer
report in a gateway's log fails the test, and t/run counts a file that
dies, or ends without its tally, as a failure."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402

HEAD = """import os, signal, sys
sys.path.insert(0, %r)
import gw
""" % os.path.join(gw.TOP, "t", "lib")

TAIL = """
if __name__ == "__main__":
    gw.main(globals())
"""

ECHO = "[echo]\\nlisten = 127.0.0.1:0\\nexec = /bin/echo\\nargs = hi\\n"


def run_file(body, strict=False, tail=TAIL, keep=False):
    """Runs a test file made of body; (exit status, output, tally)."""
    d = tempfile.mkdtemp(prefix="gwh-")
    try:
        path = os.path.join(d, "case.py")
        with open(path, "w") as f:
            f.write(HEAD + body + tail)
        env = dict(os.environ, GW_STRICT="1" if strict else "0", GW_KEEP="1" if keep else "")
        p = subprocess.run([sys.executable, path], capture_output=True, text=True,
                           timeout=120, env=env)
        out = p.stdout + p.stderr
        m = re.findall(r"^tally: (\d+) passed, (\d+) failed, (\d+) skipped$", out, re.M)
        return p.returncode, out, tuple(map(int, m[-1])) if m else None
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_system_exit_is_a_failure():
    rc, out, tally = run_file("""
def test_quits():
    sys.exit(0)

def test_after():
    pass
""")
    assert rc == 1 and tally == (1, 1, 0), (rc, tally, out)
    assert "FAIL test_quits" in out, out


def test_file_without_tests_fails():
    rc, out, tally = run_file("def helper():\n    pass\n")
    assert rc == 1 and tally == (0, 1, 0), (rc, tally, out)


def test_skip_is_counted_and_ends_only_its_test():
    body = """
def test_needs_something():
    gw.skip("something is missing")

def test_runs_anyway():
    pass
"""
    rc, out, tally = run_file(body)
    assert rc == 0 and tally == (1, 0, 1), (rc, tally, out)
    assert "skip test_needs_something: something is missing" in out, out
    # A strict run (make check): the same skip is a failure.
    rc, out, tally = run_file(body, strict=True)
    assert rc == 1 and tally == (1, 1, 0), (rc, tally, out)
    # Unless the test says the condition cannot hold on this machine.
    rc, out, tally = run_file("""
def test_not_here():
    gw.skip("no such hardware", machine=True)
""", strict=True)
    assert rc == 0 and tally == (0, 0, 1), (rc, tally, out)


def test_gateway_left_running_is_stopped_gracefully():
    rc, out, tally = run_file("""
def test_leaves_it():
    g = gw.Gateway(%r)
    print("pid=%%d dir=%%s" %% (g.pid(), g.dir))
""" % ECHO.replace("\\n", "\n"), keep=True)
    m = re.search(r"^pid=(\d+) dir=(\S+)$", out, re.M)
    assert m, out
    try:
        assert rc == 0 and tally == (1, 0, 0), (rc, tally, out)
        assert not os.path.exists("/proc/" + m.group(1)), "gatewayd still runs"
        with open(os.path.join(m.group(2), "gateway.log")) as f:
            stops = [gw.parse_line(line) for line in f if "event=stop" in line]
        assert [e.get("signal") for e in stops] == ["TERM"], stops
    finally:
        shutil.rmtree(m.group(2), ignore_errors=True)


def test_gateway_that_does_not_exit_0_fails():
    rc, out, tally = run_file("""
def test_kills_it():
    with gw.Gateway(%r) as g:
        g.kill(signal.SIGKILL)
        g.proc.wait()
""" % ECHO.replace("\\n", "\n"))
    assert rc == 1 and tally == (0, 1, 0), (rc, tally, out)
    assert "exited -9, not 0" in out, out


def test_sanitizer_report_in_the_log_fails():
    """A line in the gateway's log as LeakSanitizer writes it (here by a
    child with stderr = inherit) fails the test that ran the gateway."""
    config = """
[leaky]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'echo "==1==ERROR: LeakSanitizer: detected memory leaks" >&2'
stderr = inherit
"""
    rc, out, tally = run_file("""
def test_reports():
    with gw.Gateway(%r) as g:
        gw.talk(g.addr("leaky"))
        g.wait_event("exit")
""" % config)
    assert rc == 1 and tally == (0, 1, 0), (rc, tally, out)
    assert "sanitizer report" in out, out


def test_run_counts_a_file_that_dies():
    d = tempfile.mkdtemp(prefix="gwh-")
    try:
        dies = os.path.join(d, "dies.py")
        with open(dies, "w") as f:
            f.write("import os\nos._exit(3)\n")
        silent = os.path.join(d, "silent.py")
        with open(silent, "w") as f:
            f.write("print('nothing to see')\n")     # exits 0, no tally
        fine = os.path.join(d, "fine.py")
        with open(fine, "w") as f:
            f.write(HEAD + "def test_one():\n    pass\n" + TAIL)
        tally = os.path.join(d, "tally")
        env = dict(os.environ, GW_TALLY=tally, GW_LABEL="case", GW_STRICT="0")
        p = subprocess.run([os.path.join(gw.TOP, "t", "run"), gw.BIN, dies, silent, fine],
                           capture_output=True, text=True, timeout=120, env=env)
        assert p.returncode == 1, p.stdout
        assert "FAIL dies" in p.stdout and "FAIL silent" in p.stdout, p.stdout
        assert "PASS fine (1)" in p.stdout, p.stdout
        with open(tally) as f:
            assert f.read() == "integration(case) 1 2 0\n"
        # And t/tally's closing line: a part that never reported fails too.
        p = subprocess.run([os.path.join(gw.TOP, "t", "tally"), tally,
                            "integration(case)", "unit(none)"],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 1, p.stdout
        assert p.stdout.splitlines()[-1] == "1 passed, 3 failed, 0 skipped", p.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    gw.main(globals())
