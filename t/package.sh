#!/bin/sh
# The gateway as an administrator gets it: the man pages, the systemd
# units, `make install` and the Debian package. t/package.sh from the top
# of the tree (make package-check). Builds the package with `make deb`,
# never installs it on this machine: it is unpacked into a scratch
# directory and checked there. Prints "package: N passed, N failed,
# N skipped" and appends its tally to $GW_TALLY when set.
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
label=${GW_LABEL:-build/deb}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gw-package.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
passed=0 failed=0

pass() {
	echo "ok   $1"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL $1"
	[ -s "$scratch/out" ] && sed 's/^/    /' "$scratch/out"
	failed=$((failed + 1))
}

# check NAME COMMAND...: the command's output goes to $scratch/out, shown
# when it fails.
check() {
	name=$1
	shift
	if "$@" >"$scratch/out" 2>&1; then pass "$name"; else fail "$name"; fi
}

# silent COMMAND...: succeeds when the command exits 0 and prints nothing.
silent() {
	"$@" >"$scratch/said" 2>&1
	rc=$?
	cat "$scratch/said"
	[ $rc -eq 0 ] && [ ! -s "$scratch/said" ]
}

version=$(sed -n 's/^VERSION *= *//p' Makefile)
arch=$(dpkg --print-architecture)
mandir=$scratch/pkg/usr/share/man

# ---- man pages

check "mandoc -T lint -W warning finds nothing in the man pages" \
	silent mandoc -T lint -W warning man/gatewayd.8 man/gateway.ini.5 man/gatewayctl.8

# Every key of gateway/config_keys.c's table is described in gateway.ini(5).
man_has_every_key() {
	keys=$(sed -n 's/^[[:space:]]*KEY([GR], "\([a-z_]*\)".*/\1/p' gateway/config_keys.c gateway/config_keys_gateway.c)
	[ -n "$keys" ] || { echo "no keys found in gateway/config_keys.c"; return 1; }
	text=$(mandoc -T ascii man/gateway.ini.5 | sed "s/.\x08//g")
	missing=""
	for k in $keys systemd:NAME; do
		echo "$text" | grep -qw -- "$k" || missing="$missing $k"
	done
	[ -z "$missing" ] || { echo "not in gateway.ini(5):$missing"; return 1; }
}
check "gateway.ini(5) describes every key of the config's key table" man_has_every_key

# Every option `gatewayd -h` lists is in gatewayd(8).
man_has_every_option() {
	opts=$(build/gatewayd -h | sed -n 's/^  \(-[a-zA-Z]\).*/\1/p')
	[ -n "$opts" ] || { echo "gatewayd -h lists no options"; return 1; }
	text=$(mandoc -T ascii man/gatewayd.8 | sed "s/.\x08//g")
	for o in $opts; do
		echo "$text" | grep -q -- "^     $o" || { echo "$o is not in gatewayd(8)"; return 1; }
	done
}
check "gatewayd(8) describes every option of gatewayd -h" man_has_every_option

# ---- the Debian package

deb=build/deb/gatewayd_${version}-$(dpkg-parsechangelog -S Version | sed 's/.*-//')_$arch.deb
changelog_matches() {
	v=$(dpkg-parsechangelog -S Version)
	echo "debian/changelog: $v, Makefile: $version"
	[ "${v%-*}" = "$version" ]
}
check "debian/changelog's upstream version is the Makefile's VERSION" changelog_matches

check "make deb builds $deb" sh -c "make deb && test -f '$deb'"
if [ ! -f "$deb" ]; then
	echo "package: $passed passed, $((failed + 1)) failed, 0 skipped (no package to check)"
	[ -n "$GW_TALLY" ] && echo "package($label) $passed $((failed + 1)) 0" >>"$GW_TALLY"
	exit 1
fi

# Errors fail; so does any warning not listed in INSTALL as kept.
lintian_clean() {
	lintian --fail-on error "$deb" >"$scratch/lintian" 2>&1
	rc=$?
	grep -v '^running with root privileges' "$scratch/lintian"
	[ $rc -eq 0 ] || return 1
	for w in $(sed -n 's/^W: [^ ]* \([a-z0-9-]*\).*/\1/p' "$scratch/lintian"); do
		grep -q "^    $w" INSTALL || { echo "warning $w is not listed in INSTALL"; return 1; }
	done
}
check "lintian reports no errors, and only the warnings INSTALL lists" lintian_clean

mkdir -p "$scratch/pkg" "$scratch/control"
check "dpkg -x unpacks the package" dpkg -x "$deb" "$scratch/pkg"
dpkg-deb -e "$deb" "$scratch/control"

has_files() {
	for f in usr/sbin/gatewayd usr/sbin/gatewayctl usr/share/man/man8/gatewayd.8.gz \
	    usr/share/man/man8/gatewayctl.8.gz \
	    usr/share/man/man5/gateway.ini.5.gz lib/systemd/system/gatewayd.service \
	    lib/systemd/system/gatewayd.socket lib/systemd/system/gatewayd-echo.socket \
	    etc/gateway/gateway.ini usr/share/gatewayd/examples/gateway.ini \
	    usr/share/gatewayd/examples/systemd/gateway.ini \
	    usr/share/gatewayd/examples/haproxy/gatewayd.cfg usr/share/doc/gatewayd/copyright; do
		[ -f "$scratch/pkg/$f" ] || { echo "missing: /$f"; return 1; }
	done
	for f in usr/sbin/gatewayd usr/sbin/gatewayctl usr/share/gatewayd/examples/tick usr/share/gatewayd/examples/envdump; do
		[ -x "$scratch/pkg/$f" ] || { echo "not executable: /$f"; return 1; }
	done
}
check "the package holds the binary, man pages, units, config and examples" has_files

check "/etc/gateway/gateway.ini is a conffile" \
	grep -qx /etc/gateway/gateway.ini "$scratch/control/conffiles"

depends_on_libs() {
	d=$(dpkg-deb -f "$deb" Depends)
	echo "Depends: $d"
	for lib in libc6 libuv1 libinih1; do
		echo "$d" | grep -q "$lib" || return 1
	done
}
check "Depends names the libraries the binary links" depends_on_libs

# The packaged config names its programs by their installed paths: each
# one is in the package (or the system's, like /bin/cat).
config_paths_installed() {
	for p in $(sed -n 's/^exec *= *//p' "$scratch/pkg/etc/gateway/gateway.ini"); do
		case $p in
		/usr/share/gatewayd/*) [ -x "$scratch/pkg$p" ] ;;
		/*) [ -x "$p" ] ;;
		*) false ;;
		esac || { echo "exec = $p: not an installed program"; return 1; }
	done
}
check "the packaged config's programs are installed by absolute paths" config_paths_installed

# The unpacked binary checks the unpacked config, its paths moved into
# the scratch directory.
sed "s|/usr/share/gatewayd/|$scratch/pkg/usr/share/gatewayd/|" \
	"$scratch/pkg/etc/gateway/gateway.ini" >"$scratch/gateway.ini"
config_checks() {
	"$scratch/pkg/usr/sbin/gatewayd" -t -c "$scratch/gateway.ini" >"$scratch/routes" || return 1
	cat "$scratch/routes"
	[ "$(cut -d' ' -f1 "$scratch/routes" | tr '\n' ' ')" = "tick echo envdump " ] &&
		grep -q "^tick .*exec=$scratch/pkg/usr/share/gatewayd/examples/tick " "$scratch/routes"
}
check "the packaged gatewayd -t -c accepts the packaged config" config_checks

# The socket-activation example as it is: checking binds nothing, and
# its systemd: listeners are printed as written; as root, since its
# routes set user.
sed -e "s|/usr/share/gatewayd/|$scratch/pkg/usr/share/gatewayd/|" \
	"$scratch/pkg/usr/share/gatewayd/examples/systemd/gateway.ini" >"$scratch/systemd.ini"
[ "$(id -u)" -eq 0 ] || sed -i '/^user = /d' "$scratch/systemd.ini"
systemd_example_checks() {
	"$scratch/pkg/usr/sbin/gatewayd" -t -c "$scratch/systemd.ini" >"$scratch/routes" || return 1
	cat "$scratch/routes"
	grep -q "^tick listen=systemd:tick exec=$scratch/pkg/usr/share/gatewayd/examples/tick " "$scratch/routes" &&
	grep -q "^echo listen=systemd:echo " "$scratch/routes"
}
check "the packaged socket-activation example checks, its systemd: listeners as written" \
	systemd_example_checks

check "the packaged gatewayd -V says $version" \
	sh -c "'$scratch/pkg/usr/sbin/gatewayd' -V | grep -qx 'gatewayd $version'"

# systemd-analyze verify loads each unit as systemd would. The binary
# ExecStart names must exist, and Documentation= man pages are looked up:
# both are pointed into the unpacked package.
mkdir -p "$scratch/units"
for u in "$scratch"/pkg/lib/systemd/system/*; do
	sed "s|/usr/sbin/gatewayd|$scratch/pkg/usr/sbin/gatewayd|" "$u" >"$scratch/units/${u##*/}"
done
check "systemd-analyze verify accepts the units, with nothing to say" \
	silent env MANPATH="$mandir" systemd-analyze verify "$scratch/units/gatewayd.service" \
	"$scratch/units/gatewayd.socket" "$scratch/units/gatewayd-echo.socket"

unit_says() {
	grep -qx "$2" "$scratch/pkg/lib/systemd/system/$1" || { echo "$1 lacks $2"; return 1; }
}
service_as_specified() {
	unit_says gatewayd.service Type=notify &&
	unit_says gatewayd.service 'ExecReload=/bin/kill -HUP $MAINPID' &&
	unit_says gatewayd.service KillMode=mixed &&
	unit_says gatewayd.socket FileDescriptorName=tick &&
	unit_says gatewayd-echo.socket FileDescriptorName=echo &&
	unit_says gatewayd-echo.socket Service=gatewayd.service || return 1
	# The stop must outlast shutdown_grace + kill_grace (10 + 2 by default).
	t=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$scratch/pkg/lib/systemd/system/gatewayd.service")
	echo "TimeoutStopSec=$t"
	[ -n "$t" ] && [ "$t" -gt 12 ]
}
check "gatewayd.service is Type=notify, reloads by SIGHUP, outlasts the grace" service_as_specified

# ---- make install, from this tree into a prefix of its own

prefix=$scratch/prefix
check "make install PREFIX=... installs" \
	make install B="$scratch/b" PREFIX="$prefix" SYSCONFDIR="$prefix/etc"
installed_checks() {
	# No -c: the compiled-in default is the installed config.
	"$prefix/sbin/gatewayd" -t >"$scratch/routes" || return 1
	cat "$scratch/routes"
	grep -q "^tick .*exec=$prefix/share/gatewayd/examples/tick " "$scratch/routes" &&
	grep -q "^envdump .*exec=$prefix/share/gatewayd/examples/envdump " "$scratch/routes"
}
check "the installed gatewayd -t accepts the installed config" installed_checks
check "the installed man pages are where man looks" \
	sh -c "MANPATH='$prefix/share/man' man -w gatewayd gateway.ini gatewayctl"
check "gatewayctl is installed beside gatewayd" test -x "$prefix/sbin/gatewayctl"
check "the HAProxy example is installed as it is in etc/haproxy" \
	cmp etc/haproxy/gatewayd.cfg "$prefix/share/gatewayd/examples/haproxy/gatewayd.cfg"
check "the installed service starts the installed binary" \
	grep -qx "ExecStart=$prefix/sbin/gatewayd" "$prefix/lib/systemd/system/gatewayd.service"
keeps_config() {
	echo "; edited" >>"$prefix/etc/gateway/gateway.ini"
	make install B="$scratch/b" PREFIX="$prefix" SYSCONFDIR="$prefix/etc" || return 1
	tail -n 1 "$prefix/etc/gateway/gateway.ini" | grep -qx '; edited'
}
check "make install again keeps an existing config" keeps_config

# Staged with DESTDIR, as a package build does: once the tree is in place
# (here: its paths moved into the staging directory), the config checks.
stage=$scratch/stage
check "make install DESTDIR=... PREFIX=/usr SYSCONFDIR=/etc stages" \
	make install B="$scratch/b" DESTDIR="$stage" PREFIX=/usr SYSCONFDIR=/etc
staged_checks() {
	sed "s|/usr/share/gatewayd/|$stage/usr/share/gatewayd/|" \
		"$stage/etc/gateway/gateway.ini" >"$scratch/staged.ini"
	"$stage/usr/sbin/gatewayd" -t -c "$scratch/staged.ini"
}
check "the staged gatewayd -t -c accepts the staged config" staged_checks

echo "package: $passed passed, $failed failed, 0 skipped"
[ -n "$GW_TALLY" ] && echo "package($label) $passed $failed 0" >>"$GW_TALLY"
[ "$failed" -eq 0 ]
