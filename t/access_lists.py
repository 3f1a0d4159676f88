"""allow and deny: v4 and v6 address and CIDR lists. Deny wins; with any
allow only matches are served; a v4 client of a dual-stack listener (a
v4-mapped v6 peer) is matched as v4, and an entry written v4-mapped
(::ffff:127.0.0.2) is the v4 address it maps. A refused client gets no
child, only a closed connection and a refuse reason=deny event. Unix
listeners take no lists."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import gw  # noqa: E402
from limits_helpers import talk_from, stop_ok  # noqa: E402

CONFIG = """
[v4deny]
listen = 127.0.0.1:0
exec = /bin/echo
args = served
deny = 127.0.0.2

[v4allow]
listen = 127.0.0.1:0
exec = /bin/echo
args = served
allow = 10.0.0.0/8, 127.0.0.2/32
  192.168.0.0/16

[v4both]
listen = 127.0.0.1:0
exec = /bin/echo
args = served
allow = 127.0.0.0/8
deny = 127.0.0.2/31

[v6deny]
listen = [::1]:0
exec = /bin/echo
args = served
deny = ::1

[v6allow]
listen = [::1]:0
exec = /bin/echo
args = served
allow = 127.0.0.0/8 ::1/128

[v6other]
listen = [::1]:0
exec = /bin/echo
args = served
allow = 2001:db8::/32

[dualv4]
listen = *:0
exec = /bin/echo
args = served
allow = 127.0.0.1

[dualdeny]
listen = *:0
exec = /bin/echo
args = served
deny = 127.0.0.0/8

[dualv6only]
listen = *:0
exec = /bin/echo
args = served
allow = ::1, ::/80

[mappeddeny]
listen = 127.0.0.1:0
exec = /bin/echo
args = served
deny = ::ffff:127.0.0.2, ::ffff:127.0.1.0/120

[mappedallow]
listen = 127.0.0.1:0
exec = /bin/echo
args = served
allow = ::ffff:127.0.0.1

[dualmappeddeny]
listen = *:0
exec = /bin/echo
args = served
deny = ::ffff:127.0.0.0/104
"""

SERVED = b"served\n"


def served(g, route, source):
    host, port = g.addr(route)
    if host == "::":
        host = "::1" if ":" in source else "127.0.0.1"
    return talk_from((host, port), source)


def check(g, route, source, expect_served):
    before_spawn = len(g.events("spawn", route=route))
    before_refuse = len(g.events("refuse", route=route))
    out = served(g, route, source)
    if expect_served:
        assert out == SERVED, (route, source, out, g.log())
        g.wait_event("exit", count=before_spawn + 1, route=route)
        sp = g.events("spawn", route=route)[-1]
        assert host_of(sp["peer"]) == source, (sp, source)
    else:
        assert out == b"", (route, source, out)
        ref = g.wait_event("refuse", count=before_refuse + 1, route=route)[-1]
        assert ref["reason"] == "deny", ref
        assert host_of(ref["peer"]) == source, (ref, source)
        assert len(g.events("spawn", route=route)) == before_spawn, g.log()


def host_of(peer):
    host = peer.rsplit(":", 1)[0]
    return host.strip("[]")


def test_v4_deny():
    with gw.Gateway(CONFIG) as g:
        check(g, "v4deny", "127.0.0.1", True)
        check(g, "v4deny", "127.0.0.2", False)
        check(g, "v4deny", "127.0.0.3", True)
        stop_ok(g)


def test_v4_allow():
    with gw.Gateway(CONFIG) as g:
        check(g, "v4allow", "127.0.0.2", True)
        check(g, "v4allow", "127.0.0.1", False)
        stop_ok(g)


def test_deny_wins():
    with gw.Gateway(CONFIG) as g:
        check(g, "v4both", "127.0.0.1", True)
        check(g, "v4both", "127.0.0.2", False)
        check(g, "v4both", "127.0.0.3", False)
        check(g, "v4both", "127.0.0.4", True)
        stop_ok(g)


def test_v6():
    with gw.Gateway(CONFIG) as g:
        check(g, "v6deny", "::1", False)
        check(g, "v6allow", "::1", True)
        check(g, "v6other", "::1", False)
        stop_ok(g)


def test_dual_stack_v4_mapped():
    with gw.Gateway(CONFIG) as g:
        # A v4 client on a [::] socket is ::ffff:127.0.0.1: v4 rules apply.
        check(g, "dualv4", "127.0.0.1", True)
        check(g, "dualv4", "127.0.0.2", False)
        check(g, "dualv4", "::1", False)
        check(g, "dualdeny", "127.0.0.1", False)
        check(g, "dualdeny", "127.0.0.2", False)
        check(g, "dualdeny", "::1", True)
        # A v6 block wider than the mapped range (::/80 holds
        # ::ffff:0:0/96) is a v6 block: it never matches a v4 client.
        check(g, "dualv6only", "127.0.0.1", False)
        check(g, "dualv6only", "::1", True)
        stop_ok(g)


def test_v4_mapped_entries_match_v4_clients():
    # An entry written in v4-mapped form is the v4 address or block it
    # maps: a deny of ::ffff:127.0.0.2 refuses the v4 client 127.0.0.2,
    # on a v4 listener and on a dual-stack one alike.
    with gw.Gateway(CONFIG) as g:
        check(g, "mappeddeny", "127.0.0.1", True)
        check(g, "mappeddeny", "127.0.0.2", False)
        check(g, "mappeddeny", "127.0.1.7", False)
        check(g, "mappedallow", "127.0.0.1", True)
        check(g, "mappedallow", "127.0.0.2", False)
        check(g, "dualmappeddeny", "127.0.0.1", False)
        check(g, "dualmappeddeny", "::1", True)
        stop_ok(g)


def test_no_children_for_refused():
    with gw.Gateway(CONFIG) as g:
        n = len(g.fds())
        for _ in range(5):
            check(g, "v4deny", "127.0.0.2", False)
        assert not g.events("spawn"), g.log()
        assert not g.children(), g.children()
        for _ in range(5):
            check(g, "v6deny", "::1", False)
        # Every refused socket is closed: no descriptor growth. A refusal
        # lingers until the client's FIN (at most 2 s), so the gateway's
        # last closes may come just after the client has seen its EOF.
        gw.wait_for(lambda: len(g.fds()) == n, 10,
                    lambda: "fds back to %d, have %s" % (n, g.fds()))
        stop_ok(g)


def test_unix_listener_is_config_error():
    for key in ("allow", "deny"):
        status, out, err, d = gw.run_config_check("""
[ipc]
listen = unix:{dir}/acl.sock
exec = /bin/echo
%s = 127.0.0.1
""" % key)
        assert status == 1, (key, status, out, err)
        assert os.path.join(d, "gateway.ini") + ":" in err, err
        assert not out, out
        assert not os.path.exists(os.path.join(d, "acl.sock"))
    # The same lists on a route that also has a TCP listener: still an
    # error for its Unix one.
    status, out, err, d = gw.run_config_check("""
[mixed]
listen = 127.0.0.1:0
listen = unix:@gwt-acl-mixed
exec = /bin/echo
deny = 10.0.0.0/8
""")
    assert status == 1, (status, out, err)
    assert os.path.join(d, "gateway.ini") + ":4:" in err, err
    # Without the lists, the same routes are valid.
    status, out, err, d = gw.run_config_check("""
[ipc]
listen = unix:{dir}/acl.sock
exec = /bin/echo
""")
    assert status == 0, err


if __name__ == "__main__":
    gw.main(globals())
