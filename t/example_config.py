"""The example config that `make run` serves: it checks, and each of its
routes answers as the README says."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402

EXAMPLE = os.path.join(gw.TOP, "etc", "gateway.ini")


def test_example_checks():
    p = subprocess.run([gw.BIN, "-t", "-c", EXAMPLE], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    names = [line.split()[0] for line in p.stdout.splitlines()]
    assert names == ["tick", "echo", "envdump"], p.stdout


def example_on_free_ports():
    """The example with port 0 and a scratch socket path, programs
    resolved as from etc/."""
    with open(EXAMPLE) as f:
        text = f.read()
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:0", text)
    text = text.replace("unix:/tmp/gateway-echo.sock", "unix:{dir}/echo.sock")
    text = text.replace("../scripts/", os.path.join(gw.TOP, "scripts") + "/")
    text = text.replace("--count 10", "--count 2 --interval 0.1")
    return gw.Gateway(text.replace("{", "{{").replace("}", "}}").replace("{{dir}}", "{dir}"))


def test_example_routes_answer():
    with example_on_free_ports() as g:
        ticks = gw.talk(g.addr("tick"), timeout=20).decode()
        assert re.fullmatch(r"tick 1 \S+\ntick 2 \S+\n", ticks), ticks
        assert gw.talk(g.addr("echo"), b"hello, echo\n") == b"hello, echo\n"
        dump = gw.talk(g.addr("envdump")).decode()
        assert "args: hello world --flag" in dump, dump
        assert "GREETING=hello from gateway.ini" in dump
        assert "cwd: " + os.path.join(gw.TOP, "scripts") in dump
        g.wait_event("stderr", route="tick")
        assert g.stop() == 0


if __name__ == "__main__":
    gw.main(globals())
