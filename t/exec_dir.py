"""Script directories: `exec_dir = DIR` on a cgi or nph route, the first
path segment after the route's path naming a program in DIR. A shell and
a Python CGI program, symlinks that stay inside DIR or lead out, a dot
file, a subdirectory, a file that is not executable, no such name, no
name at all, a program added while the gateway runs; SCRIPT_NAME,
PATH_INFO and SCRIPT_FILENAME as the programs print them, on routes
with path / and /cgi-bin; argv[0] and args; with workers = 2; and the
config errors. Driven with curl and raw sockets."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
import http_helpers as hh  # noqa: E402
from limits_helpers import stop_ok  # noqa: E402

CONFIG = """
[cgibin]
listen = 127.0.0.1:{port}
protocol = cgi
path = /cgi-bin
exec_dir = cgi-bin
args = --from args

[root]
listen = 127.0.0.1:{port}
protocol = cgi
exec_dir = {dir}/root-bin

[nph]
listen = 127.0.0.1:{port}
protocol = nph
path = /nph-bin/
exec_dir = ./nph-bin/

[plain]
listen = 127.0.0.1:{port}
protocol = cgi
path = /plain
exec = cgi-bin/shenv

[bins]
listen = 127.0.0.1:{port}
protocol = cgi
path = /bins
exec_dir = bins
args = -c 'printf "Content-Type: text/plain\\r\\n\\r\\n"\\; umask\\; cat /proc/$$/cmdline'
# On the uv_spawn path a umask takes the program through the setup step.
umask = 027
"""

SHENV = b"""#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "ARGS=$*"
echo "CWD=$(pwd -P)"
echo "PARENT=$PPID"
exec /usr/bin/env
"""

PYENV = b"""#!/usr/bin/python3
import os, sys
sys.stdout.write("Status: 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\n")
for k in ("SCRIPT_NAME", "PATH_INFO", "SCRIPT_FILENAME", "QUERY_STRING", "GATEWAY_ROUTE"):
    print("%s=%s" % (k, os.environ.get(k, "<unset>")))
print("ARGS=" + " ".join(sys.argv[1:]))
print("CWD=" + os.getcwd())
"""

NPHS = b"""#!/bin/sh
printf 'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\n'
echo "SCRIPT_NAME=$SCRIPT_NAME"
echo "PATH_INFO=$PATH_INFO"
echo "SCRIPT_FILENAME=$SCRIPT_FILENAME"
"""

HELLO = b"""#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\nhello from %s\\n' "$SCRIPT_NAME"
"""


def files():
    with open("/bin/sh", "rb") as f:
        sh = f.read()
    return {
        "cgi-bin/shenv": (SHENV, 0o755),
        "cgi-bin/pyenv": (PYENV, 0o755),
        "cgi-bin/.hidden": (HELLO, 0o755),
        "cgi-bin/noexec": (HELLO, 0o644),
        "cgi-bin/sub/prog": (HELLO, 0o755),
        "root-bin/pyenv": (PYENV, 0o755),
        "nph-bin/nphs": (NPHS, 0o755),
        "outside/prog": (HELLO, 0o755),
        "bins/sh": (sh, 0o755),
    }


def start(config=CONFIG):
    g, port = hh.gateway_on_free_port(config, files())
    d = g.dir
    # Made once the gateway runs: each request looks DIR up anew.
    os.symlink("shenv", os.path.join(d, "cgi-bin/inside"))
    os.symlink("sub/prog", os.path.join(d, "cgi-bin/deeper"))
    os.symlink("../outside/prog", os.path.join(d, "cgi-bin/climbs"))
    os.symlink(os.path.join(d, "outside/prog"), os.path.join(d, "cgi-bin/absolute"))
    os.symlink("/usr/bin/env", os.path.join(d, "cgi-bin/system"))
    os.symlink("sub", os.path.join(d, "cgi-bin/subdir"))
    os.symlink("sh", os.path.join(d, "bins/alias"))
    return g, ("127.0.0.1", port)


def env_of(addr, target):
    r = hh.get(addr, target)
    assert r.status == 200, r
    return hh.cgi_env(r)


def status_of(addr, target):
    return hh.get(addr, target).status


def answered(g, status, count):
    """Waits until the gateway has logged `count` answers of `status`
    it wrote itself (http_error)."""
    g.wait_event("http_error", count, status=status)


def test_shell_cgi_names_and_path_info():
    g, addr = start()
    with g:
        env = env_of(addr, "/cgi-bin/shenv/a/b.txt?x=1")
        assert env["SCRIPT_NAME"] == "/cgi-bin/shenv", env
        assert env["PATH_INFO"] == "/a/b.txt", env
        assert env["SCRIPT_FILENAME"] == os.path.join(g.dir, "cgi-bin/shenv"), env
        assert env["QUERY_STRING"] == "x=1", env
        assert env["GATEWAY_ROUTE"] == "cgibin", env
        # args follow the program, as on an exec route; the program's
        # directory is its cwd.
        assert env["ARGS"] == "--from args", env
        assert env["CWD"] == os.path.realpath(os.path.join(g.dir, "cgi-bin")), env
        # No PATH_INFO at all, and one that is only "/".
        env = env_of(addr, "/cgi-bin/shenv")
        assert env["SCRIPT_NAME"] == "/cgi-bin/shenv" and env["PATH_INFO"] == "", env
        env = env_of(addr, "/cgi-bin/shenv/")
        assert env["PATH_INFO"] == "/", env
        # The path is normalised before the name is taken from it.
        env = env_of(addr, "/cgi-bin/x/../sh%65nv/%7Euser")
        assert env["SCRIPT_NAME"] == "/cgi-bin/shenv", env
        assert env["PATH_INFO"] == "/~user", env
        stop_ok(g)


def test_python_cgi_with_curl():
    g, addr = start()
    with g:
        p = hh.curl("-i", hh.url(addr, "/cgi-bin/pyenv/one%20two?q=a"))
        assert p.returncode == 0, (p, g.log())
        r = hh.Response(p.stdout)
        assert r.status == 200, (r, g.log())
        body = r.body.decode().splitlines()
        assert body == [
            "SCRIPT_NAME=/cgi-bin/pyenv",
            "PATH_INFO=/one two",
            "SCRIPT_FILENAME=" + os.path.join(g.dir, "cgi-bin/pyenv"),
            "QUERY_STRING=q=a",
            "GATEWAY_ROUTE=cgibin",
            "ARGS=--from args",
            "CWD=" + os.path.realpath(os.path.join(g.dir, "cgi-bin")),
        ], body
        stop_ok(g)


def test_route_path_root():
    g, addr = start()
    with g:
        env = env_of(addr, "/pyenv/x/y")
        assert env["SCRIPT_NAME"] == "/pyenv", env
        assert env["PATH_INFO"] == "/x/y", env
        assert env["SCRIPT_FILENAME"] == os.path.join(g.dir, "root-bin/pyenv"), env
        assert env["GATEWAY_ROUTE"] == "root", env
        assert env["ARGS"] == "", env
        env = env_of(addr, "/pyenv")
        assert env["SCRIPT_NAME"] == "/pyenv" and env["PATH_INFO"] == "", env
        # No name: the route's path alone.
        assert status_of(addr, "/") == 404
        answered(g, 404, 1)
        stop_ok(g)


def test_nph_route():
    g, addr = start()
    with g:
        raw = hh.exchange(addr, b"GET /nph-bin/nphs/p HTTP/1.1\r\nHost: h\r\n\r\n")
        assert raw == (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                       b"SCRIPT_NAME=/nph-bin/nphs\nPATH_INFO=/p\n"
                       b"SCRIPT_FILENAME=" + os.path.join(g.dir, "nph-bin/nphs").encode() +
                       b"\n"), raw
        assert status_of(addr, "/nph-bin/none") == 404
        stop_ok(g)


def test_symlink_inside_is_served():
    g, addr = start()
    with g:
        env = env_of(addr, "/cgi-bin/inside/p")
        assert env["SCRIPT_NAME"] == "/cgi-bin/inside", env
        assert env["PATH_INFO"] == "/p", env
        # The file that runs, its symlinks resolved.
        assert env["SCRIPT_FILENAME"] == os.path.join(g.dir, "cgi-bin/shenv"), env
        # A link may point below DIR, as long as it stays inside.
        r = hh.get(addr, "/cgi-bin/deeper")
        assert r.status == 200 and r.body == b"hello from /cgi-bin/deeper\n", r
        stop_ok(g)


def test_refused_names_are_403():
    g, addr = start()
    with g:
        spawned = len(g.events("spawn"))
        refused = ["climbs", "absolute", "system",     # symlinks leading out
                   ".hidden",                          # a dot file
                   "sub", "subdir", "sub/prog",        # a directory
                   "noexec"]                           # not executable
        for name in refused:
            r = hh.get(addr, "/cgi-bin/" + name)
            assert r.status == 403, (name, r)
            assert r.header("Connection") == "close", r
        answered(g, 403, len(refused))
        assert len(g.events("spawn")) == spawned, g.log()
        stop_ok(g)


def test_no_such_name_is_404():
    g, addr = start()
    with g:
        spawned = len(g.events("spawn"))
        missing = ["/cgi-bin/nope", "/cgi-bin/nope/x", "/cgi-bin/.nope",
                   "/cgi-bin", "/cgi-bin/"]
        for target in missing:
            assert status_of(addr, target) == 404, target
        answered(g, 404, len(missing))
        ev = g.events("http_error", status=404)[0]
        assert ev["route"] == "cgibin", ev
        assert len(g.events("spawn")) == spawned, g.log()
        stop_ok(g)


def test_program_added_while_running():
    g, addr = start()
    with g:
        assert status_of(addr, "/cgi-bin/later") == 404
        path = os.path.join(g.dir, "cgi-bin/later")
        with open(path + ".tmp", "wb") as f:
            f.write(HELLO)
        os.chmod(path + ".tmp", 0o755)
        os.rename(path + ".tmp", path)
        r = hh.get(addr, "/cgi-bin/later")
        assert r.status == 200 and r.body == b"hello from /cgi-bin/later\n", r
        # Made not executable: refused from the next request on.
        os.chmod(path, 0o644)
        assert status_of(addr, "/cgi-bin/later") == 403
        assert not g.events("reload"), g.log()
        stop_ok(g)


def test_argv0_is_the_name_requested():
    """A binary (a copy of /bin/sh here) sees the name it was asked by
    as argv[0], then the route's args; a symlink keeps its own name. The
    route has a umask: on the uv_spawn path through the setup step."""
    g, addr = start()
    with g:
        for name in ("sh", "alias"):
            r = hh.get(addr, "/bins/" + name)
            assert r.status == 200, (name, r, g.log())
            mask, _, cmdline = r.body.partition(b"\n")
            assert mask == b"0027", (name, r.body)
            argv = cmdline.split(b"\0")
            assert argv[0] == name.encode(), (name, argv)
            assert argv[1] == b"-c", (name, argv)
        stop_ok(g)


def test_script_filename_on_exec_route():
    g, addr = start()
    with g:
        env = env_of(addr, "/plain/x")
        assert env["SCRIPT_FILENAME"] == os.path.join(g.dir, "cgi-bin/shenv"), env
        assert env["SCRIPT_NAME"] == "/plain" and env["PATH_INFO"] == "/x", env
        stop_ok(g)


WORKERS = """
[gateway]
workers = 2

[cgibin]
listen = 127.0.0.1:{port}
protocol = cgi
path = /cgi-bin
exec_dir = cgi-bin
"""


def test_workers():
    """With workers the worker parses the head again and looks the
    program up itself."""
    g, addr = start(WORKERS)
    with g:
        g.wait_event("worker", 2)
        workers = {e["pid"] for e in g.events("worker")}
        for i in range(4):
            env = env_of(addr, "/cgi-bin/shenv/%d" % i)
            assert env["SCRIPT_NAME"] == "/cgi-bin/shenv", env
            assert env["PATH_INFO"] == "/%d" % i, env
            assert env["SCRIPT_FILENAME"] == os.path.join(g.dir, "cgi-bin/shenv"), env
            # Looked up and started by a worker.
            assert env["PARENT"] in workers, (env["PARENT"], workers)
        env = env_of(addr, "/cgi-bin/inside")
        assert env["SCRIPT_FILENAME"] == os.path.join(g.dir, "cgi-bin/shenv"), env
        assert status_of(addr, "/cgi-bin/climbs") == 403
        assert status_of(addr, "/cgi-bin/nope") == 404
        answered(g, 403, 1)
        answered(g, 404, 1)
        later = os.path.join(g.dir, "cgi-bin/later")
        with open(later, "wb") as f:
            f.write(HELLO)
        os.chmod(later, 0o755)
        r = hh.get(addr, "/cgi-bin/later")
        assert r.status == 200 and r.body == b"hello from /cgi-bin/later\n", r
        assert workers == {e["pid"] for e in g.events("worker")}, g.log()
        stop_ok(g)


# ---- the config ----

def check(text, files=None):
    """gatewayd -t: (status, stdout, the first line of stderr, config path)."""
    rc, out, err, d = gw.run_config_check(text, files)
    return rc, out, (err.splitlines() or [""])[0], os.path.join(d, "gateway.ini")


DIRS = {"cgi-bin/prog": (HELLO, 0o755), "file": ("x", 0o644)}


def test_check_prints_exec_dir():
    rc, out, err, ini = check("[r]\nlisten = 127.0.0.1:0\nprotocol = cgi\n"
                              "path = /cgi-bin\nexec_dir = cgi-bin\n", DIRS)
    assert rc == 0, err
    d = os.path.dirname(ini)
    assert out == "r listen=127.0.0.1:0 exec_dir=%s/cgi-bin protocol=cgi path=/cgi-bin\n" % d, out


CONFIG_ERRORS = [
    # (config, line, message; {dir} is the config's directory)
    ("[r]\nlisten = 127.0.0.1:0\nprotocol = cgi\nexec = cgi-bin/prog\nexec_dir = cgi-bin\n",
     5, "route [r] has both exec and exec_dir"),
    ("[r]\nlisten = 127.0.0.1:0\nexec_dir = cgi-bin\nprotocol = nph\nexec = cgi-bin/prog\n",
     5, "route [r] has both exec and exec_dir"),
    ("[r]\nlisten = 127.0.0.1:0\nprotocol = cgi\n",
     1, "route [r] has no exec or exec_dir"),
    ("[r]\nlisten = 127.0.0.1:0\n",
     1, "route [r] has no exec"),
    ("[r]\nlisten = 127.0.0.1:0\nexec_dir = cgi-bin\n",
     3, "route [r]: exec_dir is for protocol = cgi or nph"),
    ("[r]\nlisten = 127.0.0.1:0\nprotocol = raw\n\nexec_dir = cgi-bin\n",
     5, "route [r]: exec_dir is for protocol = cgi or nph"),
    ("[r]\nlisten = 127.0.0.1:0\nprotocol = cgi\nexec_dir = file\n",
     4, "exec_dir '{dir}/file': not a directory"),
    ("[r]\nlisten = 127.0.0.1:0\nprotocol = cgi\nexec_dir = {dir}/missing\n",
     4, "exec_dir '{dir}/missing': No such file or directory"),
    ("[r]\nlisten = 127.0.0.1:0\nprotocol = cgi\nexec_dir =\n",
     4, "exec_dir: empty"),
    ("[r]\nlisten = 127.0.0.1:0\nprotocol = cgi\nexec_dir = cgi-bin\nexec_dir = cgi-bin\n",
     5, "'exec_dir' given twice"),
    ("[r]\nlisten = 127.0.0.1:0\nprotocol = cgi\nexec_dir = cgi-bin\nenv = SCRIPT_FILENAME=/x\n",
     5, "env: 'SCRIPT_FILENAME' is set by the gateway for each connection"),
]


def test_config_errors():
    for text, line, message in CONFIG_ERRORS:
        rc, out, err, ini = check(text, DIRS)
        want = "%s:%d: %s" % (ini, line, message.replace("{dir}", os.path.dirname(ini)))
        assert rc == 1, (text, rc, out, err)
        assert out == "", (text, out)
        assert err == want, (text, err, want)


def test_start_refused_on_a_file_for_exec_dir():
    text = "[r]\nlisten = 127.0.0.1:0\nprotocol = cgi\nexec_dir = file\n"
    with gw.Gateway(text, start=False, files=DIRS) as g:
        assert g.run_to_exit() == 1
        assert "%s:4: exec_dir '%s/file': not a directory" % (g.config, g.dir) in g.log(), g.log()
        assert not g.events("start")


def test_reload_to_a_missing_exec_dir_keeps_the_running_config():
    g, addr = start()
    with g:
        assert status_of(addr, "/cgi-bin/shenv") == 200
        with open(g.config) as f:
            text = f.read()
        with open(g.config, "w") as f:
            f.write(text.replace("exec_dir = cgi-bin", "exec_dir = gone-bin"))
        g.kill(signal.SIGHUP)
        ev = g.wait_event("reload_error")[0]
        assert ev["error"] == "%s:6: exec_dir '%s/gone-bin': No such file or directory" % (
            g.config, g.dir), ev
        assert status_of(addr, "/cgi-bin/shenv") == 200
        stop_ok(g)


if __name__ == "__main__":
    gw.main(globals())
