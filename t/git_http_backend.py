"""An existing CGI program, unmodified: git http-backend on a cgi route
serves a clone of a bare repository and takes a push of a commit with a
file over 1 MiB, which git sends with a chunked request body (its
http.postBuffer default is 1 MiB)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
import http_helpers as hh  # noqa: E402
from limits_helpers import stop_ok  # noqa: E402

BACKEND = "/usr/lib/git-core/git-http-backend"

CONFIG = """
[git]
listen = 127.0.0.1:0
protocol = cgi
exec = %s
env = GIT_PROJECT_ROOT={dir}/repos
env = GIT_HTTP_EXPORT_ALL=1
""" % BACKEND


def git_env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(HOME=home, GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0",
               GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="T", GIT_COMMITTER_EMAIL="t@example.org",
               LC_ALL="C")
    return env


def git(env, *args, cwd=None, check=True, timeout=180):
    p = subprocess.run(["git"] + list(args), cwd=cwd, env=env, capture_output=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("git %s: %d\n%s\n%s" % (" ".join(args), p.returncode,
                                                     p.stdout.decode(), p.stderr.decode()))
    return p.stdout.decode().strip()


def setup(g):
    """A bare repo.git with two commits on main, pushed from a local work
    tree; receive-pack enabled for anonymous pushes."""
    home = os.path.join(g.dir, "home")
    os.makedirs(home)
    env = git_env(home)
    bare = os.path.join(g.dir, "repos", "repo.git")
    os.makedirs(os.path.dirname(bare))
    git(env, "init", "-q", "--bare", "-b", "main", bare)
    git(env, "config", "http.receivepack", "true", cwd=bare)
    work = os.path.join(g.dir, "work")
    git(env, "init", "-q", "-b", "main", work)
    with open(os.path.join(work, "README"), "w") as f:
        f.write("first\n")
    git(env, "add", "README", cwd=work)
    git(env, "commit", "-q", "-m", "first", cwd=work)
    with open(os.path.join(work, "README"), "a") as f:
        f.write("second\n")
    git(env, "commit", "-q", "-am", "second", cwd=work)
    git(env, "push", "-q", bare, "main", cwd=work)
    return env, bare, git(env, "rev-parse", "HEAD", cwd=work)


def test_clone_and_chunked_push():
    gw.need_program("git")
    gw.need_program(BACKEND)
    g = gw.Gateway(CONFIG, start=False)
    with g:
        env, bare, head = setup(g)
        g.start()
        host, port = g.addr("git")
        url = "http://%s:%d/repo.git" % (host, port)
        clone = os.path.join(g.dir, "clone")
        git(env, "clone", "-q", url, clone)
        assert git(env, "rev-parse", "HEAD", cwd=clone) == head
        assert git(env, "log", "--format=%s", cwd=clone).split("\n") == ["second", "first"]
        with open(os.path.join(clone, "README")) as f:
            assert f.read() == "first\nsecond\n"
        resp = g.wait_event("response", route="git")
        assert all(r["status"] == "200" for r in resp), g.log()

        # A commit with 3 MiB of incompressible data: the pack is over
        # git's 1 MiB post buffer, so the request body goes chunked.
        with open(os.path.join(clone, "big.bin"), "wb") as f:
            f.write(os.urandom(3 << 20))
        git(env, "add", "big.bin", cwd=clone)
        git(env, "commit", "-q", "-m", "big", cwd=clone)
        new = git(env, "rev-parse", "HEAD", cwd=clone)
        trace = os.path.join(g.dir, "curl.trace")
        penv = dict(env, GIT_TRACE_CURL=trace, GIT_TRACE_CURL_NO_DATA="1")
        git(penv, "push", "origin", "main", cwd=clone)
        with open(trace, "rb") as f:
            t = f.read()
        assert b"Transfer-Encoding: chunked" in t, "push was not chunked"
        assert git(env, "rev-parse", "main", cwd=bare) == new
        assert git(env, "cat-file", "-s", "main:big.bin", cwd=bare) == str(3 << 20)
        git(env, "fsck", "--no-progress", cwd=bare)

        # And a second clone gets the pushed commit.
        clone2 = os.path.join(g.dir, "clone2")
        git(env, "clone", "-q", url, clone2)
        assert git(env, "rev-parse", "HEAD", cwd=clone2) == new
        with open(os.path.join(clone, "big.bin"), "rb") as a, \
                open(os.path.join(clone2, "big.bin"), "rb") as b:
            assert a.read() == b.read()
        assert not g.events("http_error"), g.log()
        stop_ok(g)


if __name__ == "__main__":
    gw.main(globals())
