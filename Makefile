# gatewayd — build, test, install.
#   make            build build/gatewayd and build/gatewayctl
#   make run        install missing dependencies, build, serve etc/gateway.ini
#   make check      install missing dependencies, build, run every test;
#                   the integration tests again on the uv_spawn path, then
#                   everything under AddressSanitizer and UBSan, and
#                   once the package checks (make package-check)
#   make bench      gatewayd beside ceilingd, tcpserver, tcpsvd, xinetd, socat
#   make install    PREFIX=/usr/local DESTDIR= (and SYSCONFDIR, DATADIR,
#                   MANDIR, EXAMPLEDIR, UNITDIR below)
#   make deb        the Debian package, build/deb/gatewayd_VERSION-REV_ARCH.deb

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
SYSCONFDIR ?= $(PREFIX)/etc
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
# The programs the example config serves, the socket-activation
# example's config, and HAProxy's in front of several gateways
# (haproxy/gatewayd.cfg): every example in one place, not under
# /usr/share/doc, which a system may leave out while the configs name
# programs here.
EXAMPLEDIR ?= $(DATADIR)/gatewayd/examples
UNITDIR    ?= $(PREFIX)/lib/systemd/system
# gatewayctl's default control socket (the service unit's RuntimeDirectory).
CONTROL_PATH ?= /run/gatewayd/control.sock
VERSION     = 0.1.0

B          ?= build
CC         ?= cc
CFLAGS     ?= -O2 -g
WARN        = -Wall -Wextra -Werror
SAN        ?=
PKGS        = libuv inih libsystemd
# SPAWN=uv builds the portable uv_spawn path instead of Linux's clone.
SPAWN      ?=

ALL_CPPFLAGS = -D_GNU_SOURCE -DSYSCONFDIR='"$(SYSCONFDIR)"' -DVERSION='"$(VERSION)"' \
	$(if $(filter uv,$(SPAWN)),-DGATEWAY_SPAWN_UV) $(CPPFLAGS)
ALL_CFLAGS   = -std=c11 $(WARN) $(CFLAGS) $(SAN) $(shell pkg-config --cflags $(PKGS))
LIBS         = $(shell pkg-config --libs $(PKGS))
TEST_LIBS    = $(shell pkg-config --libs check)

SRCS    = $(wildcard gateway/*.c)
HDRS    = $(wildcard gateway/*.h)
OBJS    = $(SRCS:gateway/%.c=$(B)/obj/%.o)
LIBOBJS = $(filter-out $(B)/obj/main.o,$(OBJS))
UNITS   = $(patsubst t/unit/%.c,$(B)/t/%,$(wildcard t/unit/test_*.c))

.PHONY: all deps run check unit integration sanitize bench install deb package-check clean
.PHONY: fuzz fuzz-run fuzz-replay

all: $(B)/gatewayd $(B)/gatewayctl

$(B)/obj/%.o: gateway/%.c $(HDRS) Makefile
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/gatewayd: $(OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

# The control socket's client: a program of its own, none of the daemon's
# objects in it.
$(B)/gatewayctl: ctl/gatewayctl.c Makefile
	@mkdir -p $(@D)
	$(CC) -D_GNU_SOURCE -DCONTROL_PATH='"$(CONTROL_PATH)"' $(CPPFLAGS) -std=c11 $(WARN) $(CFLAGS) \
		$(SAN) $(LDFLAGS) -o $@ ctl/gatewayctl.c

$(B)/t/%: t/unit/%.c $(LIBOBJS) $(wildcard t/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Igateway $(shell pkg-config --cflags check) \
		-o $@ $< $(LIBOBJS) $(LIBS) $(TEST_LIBS)

deps:
	scripts/bootstrap

run: deps
	$(MAKE) all
	$(B)/gatewayd -c etc/gateway.ini

# The unit tests, then the integration tests against the real binary.
# Each part prints its tally and appends it to $(GW_TALLY) when set.
# GW_SPAWN is the spawn= its start events must name.
unit: $(UNITS)
	t/unit/run '$(B)' $(UNITS)

integration: $(B)/gatewayd $(B)/gatewayctl
	GW_LABEL='$(B)' GW_SPAWN=$(if $(filter uv,$(SPAWN)),uv_spawn,clone) t/run $(B)/gatewayd

# Every part runs even after one fails, so that the closing line (one
# tally of every check, test case and fuzz input) is whole; the exit
# status is still non-zero if anything failed or a part never reported.
# A skip is a failure here unless the test says why its condition
# cannot hold on this machine (GW_STRICT).
TALLY = build/tally
check: deps
	@mkdir -p build && rm -f $(TALLY)
	-$(MAKE) -k GW_TALLY=$(CURDIR)/$(TALLY) GW_STRICT=1 unit integration
	-$(MAKE) -k GW_TALLY=$(CURDIR)/$(TALLY) GW_STRICT=1 B=build/uv SPAWN=uv integration
	-$(MAKE) -k GW_TALLY=$(CURDIR)/$(TALLY) GW_STRICT=1 sanitize
	-$(MAKE) GW_TALLY=$(CURDIR)/$(TALLY) package-check
	@t/tally $(TALLY) 'unit(build)' 'integration(build)' 'integration(build/uv)' \
		'unit(build/asan)' 'integration(build/asan)' 'fuzz(build/asan)' \
		'package(build/deb)'

# What an administrator gets, checked once: the man pages (mandoc's
# lint), `make install` into a scratch prefix, and the Debian package
# (make deb), with lintian, unpacked into a scratch directory (never
# installed here) and its binary checking its config, its units through
# systemd-analyze verify.
package-check: $(B)/gatewayd $(B)/gatewayctl
	GW_LABEL=build/deb t/package.sh

# The same suite, built with AddressSanitizer and UBSan in a tree of its
# own. A leak, an ASan error or a UBSan runtime error anywhere fails it:
# the processes exit non-zero and the integration harness also looks for
# every report in each gateway's log (workers' included).
sanitize: export ASAN_OPTIONS = detect_leaks=1:abort_on_error=0
sanitize: export UBSAN_OPTIONS = print_stacktrace=1
sanitize:
	$(MAKE) B=build/asan CFLAGS='-O1 -g -fno-omit-frame-pointer' \
		SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' -k unit integration fuzz-replay

# Fuzzing: each t/fuzz/fuzz_NAME.c is a libFuzzer harness (only
# LLVMFuzzerTestOneInput) for the parser it names, with its seeds in
# t/fuzz/corpus/NAME/; it links with every gateway object but main.o, as
# the unit tests do.
#   make fuzz         clang + libFuzzer, ASan, UBSan in build/fuzz: each
#                     harness runs FUZZ_TIME seconds on a copy of its corpus
#                     (new inputs and crashes stay in build/fuzz/)
#   make fuzz-replay  every corpus through its harness with $(CC) and
#                     t/fuzz/driver.c: no clang needed; `make sanitize`
#                     runs it under ASan and UBSan
FUZZERS    = $(patsubst t/fuzz/%.c,%,$(wildcard t/fuzz/fuzz_*.c))
FUZZ_TIME ?= 60
FUZZ_SAN   = -fsanitize=address,undefined -fno-sanitize-recover=all
# t/fuzz/driver.c for a replay build; -fsanitize=fuzzer for libFuzzer.
FUZZ_MAIN ?= t/fuzz/driver.c

$(B)/fuzz/%: t/fuzz/%.c t/fuzz/driver.c $(LIBOBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Igateway -o $@ $< $(FUZZ_MAIN) \
		$(LIBOBJS) $(LIBS)

fuzz:
	command -v clang >/dev/null 2>&1 || scripts/bootstrap clang
	$(MAKE) B=build/fuzz CC=clang WARN='-Wall -Wextra' \
		CFLAGS='-O1 -g -fno-omit-frame-pointer' \
		SAN='-fsanitize=fuzzer-no-link $(FUZZ_SAN)' \
		FUZZ_MAIN='-fsanitize=fuzzer' fuzz-run

fuzz-run: $(FUZZERS:%=$(B)/fuzz/%)
	@set -e; for f in $(FUZZERS); do \
		n=$${f#fuzz_}; w=$(B)/fuzz/corpus/$$n; \
		mkdir -p $$w; cp -R t/fuzz/corpus/$$n/. $$w/ 2>/dev/null || true; \
		echo "fuzz: $$f for $(FUZZ_TIME) s on $$w"; \
		$(B)/fuzz/$$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			-artifact_prefix=$(B)/fuzz/$$n- $(FUZZ_FLAGS) $$w; \
	done

ifeq ($(SAN),)
fuzz-replay:
	$(MAKE) B=build/asan CFLAGS='-O1 -g -fno-omit-frame-pointer' SAN='$(FUZZ_SAN)' fuzz-replay
else
fuzz-replay: $(FUZZERS:%=$(B)/fuzz/%)
	t/fuzz/replay '$(B)' $(FUZZERS:%=$(B)/fuzz/%)
endif

# Peers from Debian (installed only for this), the yardsticks from
# ../shared/bench built into build/bench, then scripts/bench.
BENCH_PEERS = ucspi-tcp ipsvd xinetd socat gnuplot-nox lighttpd
bench: 
	scripts/bootstrap $(BENCH_PEERS)
	$(MAKE) all
	$(MAKE) -C ../shared/bench O=$(CURDIR)/build/bench
	$(CC) -O2 -o build/bench/readcgi scripts/readcgi.c
	scripts/bench

# The example configs name their programs relative to etc/ in this tree;
# installed, they name the copies in EXAMPLEDIR. The units name the
# binary in SBINDIR. An existing config is never replaced.
EXAMPLE_PROGS = scripts/tick scripts/envdump
UNIT_FILES    = etc/systemd/gatewayd.service etc/systemd/gatewayd.socket \
		etc/systemd/gatewayd-echo.socket
install: $(B)/gatewayd $(B)/gatewayctl
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSCONFDIR)/gateway \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(EXAMPLEDIR)/systemd $(DESTDIR)$(EXAMPLEDIR)/haproxy \
		$(DESTDIR)$(UNITDIR)
	install -m 755 $(B)/gatewayd $(DESTDIR)$(SBINDIR)/gatewayd
	install -m 755 $(B)/gatewayctl $(DESTDIR)$(SBINDIR)/gatewayctl
	install -m 644 man/gatewayd.8 $(DESTDIR)$(MANDIR)/man8/gatewayd.8
	install -m 644 man/gatewayctl.8 $(DESTDIR)$(MANDIR)/man8/gatewayctl.8
	install -m 644 man/gateway.ini.5 $(DESTDIR)$(MANDIR)/man5/gateway.ini.5
	install -m 755 $(EXAMPLE_PROGS) $(DESTDIR)$(EXAMPLEDIR)/
	sed 's|\.\./scripts/|$(EXAMPLEDIR)/|' etc/gateway.ini > $(DESTDIR)$(EXAMPLEDIR)/gateway.ini
	sed 's|\.\./\.\./scripts/|$(EXAMPLEDIR)/|' etc/systemd/gateway.ini \
		> $(DESTDIR)$(EXAMPLEDIR)/systemd/gateway.ini
	chmod 644 $(DESTDIR)$(EXAMPLEDIR)/gateway.ini $(DESTDIR)$(EXAMPLEDIR)/systemd/gateway.ini
	install -m 644 etc/haproxy/gatewayd.cfg $(DESTDIR)$(EXAMPLEDIR)/haproxy/gatewayd.cfg
	test -e $(DESTDIR)$(SYSCONFDIR)/gateway/gateway.ini || \
		install -m 644 $(DESTDIR)$(EXAMPLEDIR)/gateway.ini $(DESTDIR)$(SYSCONFDIR)/gateway/gateway.ini
	for u in $(UNIT_FILES); do \
		sed 's|/usr/sbin/gatewayd|$(SBINDIR)/gatewayd|' $$u > $(DESTDIR)$(UNITDIR)/$${u##*/} && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; \
	done

# The Debian package, built from a copy of the tree in build/deb/src so
# that neither this tree's build/ nor its parent directory (where
# dpkg-buildpackage writes) is touched.
DEB_SRC = build/deb/src/gatewayd-$(VERSION)
deb: deps
	rm -rf build/deb && mkdir -p $(DEB_SRC)
	cp -R Makefile README.md INSTALL gateway ctl man etc scripts debian $(DEB_SRC)/
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b
	cp build/deb/src/*.deb build/deb/

clean:
	rm -rf build
