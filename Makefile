# gatewayd — build, test, install.
#   make            build build/gatewayd
#   make run        install missing dependencies, build, serve etc/gateway.ini
#   make check      install missing dependencies, build, run every test;
#                   the integration tests again on the uv_spawn path, then
#                   everything under AddressSanitizer and UBSan
#   make bench      gatewayd beside ceilingd, tcpserver, tcpsvd, xinetd, socat
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
SYSCONFDIR ?= $(PREFIX)/etc
DATADIR    ?= $(PREFIX)/share
VERSION     = 0.1.0

B          ?= build
CC         ?= cc
CFLAGS     ?= -O2 -g
WARN        = -Wall -Wextra -Werror
SAN        ?=
PKGS        = libuv inih
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

.PHONY: all deps run check unit integration sanitize bench install clean

all: $(B)/gatewayd

$(B)/obj/%.o: gateway/%.c $(HDRS) Makefile
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/gatewayd: $(OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(B)/t/%: t/unit/%.c $(LIBOBJS) t/unit/unit.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Igateway $(shell pkg-config --cflags check) \
		-o $@ $< $(LIBOBJS) $(LIBS) $(TEST_LIBS)

deps:
	scripts/bootstrap

run: deps
	$(MAKE) all
	$(B)/gatewayd -c etc/gateway.ini

# The unit tests, then the integration tests against the real binary.
unit: $(UNITS)
	@set -e; for t in $(UNITS); do CK_FORK=yes $$t; done

integration: $(B)/gatewayd
	t/run $(B)/gatewayd

check: deps
	$(MAKE) unit integration
	$(MAKE) B=build/uv SPAWN=uv integration
	$(MAKE) sanitize

# The same suite, built with AddressSanitizer and UBSan in a tree of its own.
sanitize:
	$(MAKE) B=build/asan CFLAGS='-O1 -g -fno-omit-frame-pointer' \
		SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' unit integration

# Peers from Debian (installed only for this), the yardsticks from
# ../shared/bench built into build/bench, then scripts/bench.
BENCH_PEERS = ucspi-tcp ipsvd xinetd socat gnuplot-nox
bench: 
	scripts/bootstrap $(BENCH_PEERS)
	$(MAKE) all
	$(MAKE) -C ../shared/bench O=$(CURDIR)/build/bench
	scripts/bench

install: $(B)/gatewayd
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSCONFDIR)/gateway
	install -m 755 $(B)/gatewayd $(DESTDIR)$(SBINDIR)/gatewayd
	test -e $(DESTDIR)$(SYSCONFDIR)/gateway/gateway.ini || \
		install -m 644 etc/gateway.ini $(DESTDIR)$(SYSCONFDIR)/gateway/gateway.ini

clean:
	rm -rf build
