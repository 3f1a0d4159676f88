"""user, group, umask and rlimit_* as the child sees them, supplementary
groups as initgroups gives them, a cwd the new user may not enter (a
spawn_error, never entered as root), and the warning a root gateway logs
for a route that keeps uid 0. Needs root and useradd: each test is a skip
otherwise (a failure in make check, which runs as root)."""
import contextlib
import grp
import os
import pwd
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from limits_helpers import stop_ok  # noqa: E402

REPORT = "id -u\\; id -g\\; id -G\\; umask\\; ulimit -n\\; ulimit -H -n\\; ulimit -c\\; ulimit -H -c\\; pwd"

CONFIG = """
[nobody]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c '%(report)s'
user = nobody
umask = 027
rlimit_nofile = 77
rlimit_core = 0

[member]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c '%(report)s'
user = %(user)s

[override]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c '%(report)s'
user = %(user)s
group = users

[locked]
listen = 127.0.0.1:0
exec = /bin/echo
args = never
user = nobody
cwd = {dir}/locked

[rooted]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c '%(report)s'
umask = 077
"""


def run(*argv):
    # The passwd and group files are locked by whoever else edits them:
    # try a few times.
    for _ in range(20):
        p = subprocess.run(argv, capture_output=True, text=True)
        if p.returncode != 10 or "lock" not in p.stderr:
            return p
        time.sleep(0.2)
    return p


@contextlib.contextmanager
def temp_user():
    """A user whose primary group is nogroup and who is also a member of
    a group of its own; both are removed at the end, whatever happens."""
    gw.need_root()
    if not have_tools():
        gw.skip("groupadd/useradd missing (Debian's passwd)")
    name = "gwt%d" % os.getpid()
    group = name + "x"
    made_group = made_user = False
    try:
        p = run("groupadd", group)
        assert p.returncode == 0, p.stderr
        made_group = True
        p = run("useradd", "-M", "-N", "-g", "nogroup", "-G", group,
                "-d", "/nonexistent", "-s", "/usr/sbin/nologin", name)
        assert p.returncode == 0, p.stderr
        made_user = True
        yield name, group
    finally:
        if made_user:
            run("userdel", name)
        if made_group:
            run("groupdel", group)


def report(g, route):
    out = gw.talk(g.addr(route)).decode().splitlines()
    keys = ["uid", "gid", "groups", "umask", "nofile", "nofile_hard",
            "core", "core_hard", "cwd"]
    assert len(out) == len(keys), out
    return dict(zip(keys, out))


# The gateway's own umask: one neither the runner nor any route has, so
# that a route without umask = shows it passed on, not a default.
GATEWAY_UMASK = 0o023


def start(user, group):
    text = CONFIG % {"report": REPORT, "user": user}
    g = gw.Gateway(text, start=False)
    # The gateway's directory is open to all; only `locked` is root's.
    os.chmod(g.dir, 0o755)
    os.mkdir(os.path.join(g.dir, "locked"), 0o700)
    g.start(preexec_fn=lambda: os.umask(GATEWAY_UMASK))
    return g


def have_tools():
    return all(shutil.which(t) for t in ("groupadd", "useradd", "userdel", "groupdel"))


def test_user_umask_rlimits():
    with temp_user() as (user, group), start(user, group) as g:
        nobody = pwd.getpwnam("nobody")
        r = report(g, "nobody")
        assert r["uid"] == str(nobody.pw_uid), r
        assert r["gid"] == str(nobody.pw_gid), r
        assert "0" not in r["groups"].split(), r
        assert r["umask"] == "0027", r
        assert r["nofile"] == "77" and r["nofile_hard"] == "77", r
        assert r["core"] == "0" and r["core_hard"] == "0", r
        assert r["cwd"] == "/bin" or r["cwd"] == "/usr/bin", r
        stop_ok(g)


def test_supplementary_groups():
    with temp_user() as (user, group), start(user, group) as g:
        pw = pwd.getpwnam(user)
        extra = grp.getgrnam(group).gr_gid
        nogroup = grp.getgrnam("nogroup").gr_gid
        r = report(g, "member")
        assert r["uid"] == str(pw.pw_uid), r
        assert r["gid"] == str(nogroup), r
        assert sorted(r["groups"].split()) == sorted({str(nogroup), str(extra)}), r
        # Without umask = the child has the gateway's, not a default
        # and not another route's.
        assert current_umask() != GATEWAY_UMASK
        assert r["umask"] == "%04o" % GATEWAY_UMASK, r
        stop_ok(g)


def test_group_overrides_primary():
    """group = replaces the user's primary group (nogroup here); the
    supplementary groups are still the user's (initgroups with the new
    primary group)."""
    with temp_user() as (user, group), start(user, group) as g:
        pw = pwd.getpwnam(user)
        extra = grp.getgrnam(group).gr_gid
        users = grp.getgrnam("users").gr_gid
        r = report(g, "override")
        assert r["uid"] == str(pw.pw_uid), r
        assert r["gid"] == str(users), r
        groups = r["groups"].split()
        assert groups[0] == str(users), r
        assert sorted(groups) == sorted({str(users), str(extra)}), r
        stop_ok(g)


def test_cwd_not_enterable():
    with temp_user() as (user, group), start(user, group) as g:
        assert gw.talk(g.addr("locked"), timeout=20) == b""
        err = g.wait_event("spawn_error", route="locked")[0]
        assert "chdir" in err["error"], err
        assert "permission denied" in err["error"].lower(), err
        # The spawn line, if the spawn did not wait for the exec, names
        # the same child; it never ran, so it has no exit line.
        assert [s["pid"] for s in g.events("spawn", route="locked")] == \
            ([err["pid"]] if "pid" in err else []), g.log()
        assert not g.events("exit", route="locked"), g.log()
        # The gateway carries on, and the failed setup step is reaped.
        assert gw.talk(g.addr("locked"), timeout=20) == b""
        g.wait_event("spawn_error", count=2, route="locked")
        assert report(g, "nobody")["umask"] == "0027"
        gw.wait_for(lambda: not [c for c in g.children() if c[1] == "Z"],
                    what="no zombies")
        stop_ok(g)


def test_root_warning():
    with temp_user() as (user, group), start(user, group) as g:
        warnings = [w.get("msg", "") for w in g.events("warning")]
        assert any("[rooted]" in w and "uid 0" in w for w in warnings), warnings
        for route in ("nobody", "member", "override", "locked"):
            assert not any("[%s]" % route in w for w in warnings), warnings
        # The route keeps uid 0 but still gets its umask.
        r = report(g, "rooted")
        assert r["uid"] == "0" and r["umask"] == "0077", r
        stop_ok(g)


BIG_IDS = """
[big]
listen = 127.0.0.1:0
exec = /bin/sh
args = -c 'id -u\\; id -g\\; id -G'
user = 70000
group = 70001
"""


def test_ids_above_65535_reach_the_child_whole():
    """A uid and gid past 16 bits (numbers with no passwd entry, as a
    container's mapped ids often are) are set as they are, never cut to
    their low 16 bits: on 32-bit x86 and ARM the plain setresuid,
    setresgid and setgroups calls take 16-bit ids."""
    gw.need_root()
    with gw.Gateway(BIG_IDS) as g:
        out = gw.talk(g.addr("big")).decode().split("\n")
        assert out[:3] == ["70000", "70001", "70001"], out
        stop_ok(g)


def current_umask():
    m = os.umask(0)
    os.umask(m)
    return m


if __name__ == "__main__":
    gw.main(globals())
