# pam_nsisolate: see README.md. Every target runs from a clean clone.
PREFIX      ?= /usr/local
DESTDIR     ?=
SYSCONFDIR  ?= /etc
LIBEXECDIR  ?= $(PREFIX)/libexec/nsisolate
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
SYSTEMDDIR  ?= $(SYSCONFDIR)/systemd/system
MULTIARCH   := $(shell gcc -print-multiarch 2>/dev/null)
PAMDIR      ?= $(shell pkg-config --variable=libdir pam 2>/dev/null | sed 's,$$,/security,' | grep . || echo /lib/$(MULTIARCH)/security)
HELPER_PATH := $(LIBEXECDIR)/nsisolate-helper
# nsisolate --version; debian/changelog carries the same number.
VERSION     := 0.1.0

CC      ?= gcc
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
           -Wswitch-enum
CFLAGS  ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -Icommon -DNSI_HELPER_PATH='"$(HELPER_PATH)"' -DNSI_VERSION='"$(VERSION)"'
# A crash-test build only (tests/e2e/test-faults.sh): make B=build/fault NSI_FAULTS=1.
ifeq ($(NSI_FAULTS),1)
CPPFLAGS += -DNSI_FAULTS
endif
ALL_CFLAGS = -std=gnu11 $(WARN) -fPIC -fstack-protector-strong -D_FORTIFY_SOURCE=2 $(CFLAGS)
B := build

COMMON_SRC := common/config.c common/settings.c common/match.c common/nss.c \
              common/literal.c common/fsutil.c common/state.c common/lease.c common/proto.c common/why.c common/idmap.c \
              common/capbset.c
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/%.o)
MODULE_OBJ := $(B)/pam_nsisolate/pam_nsisolate.o
HELPER_SRC := helper/main.c helper/report.c helper/mountfd.c helper/mounts.c helper/home.c helper/userns.c helper/keeper.c \
              helper/netns.c helper/nft.c helper/scope.c
HELPER_OBJ := $(HELPER_SRC:%.c=$(B)/%.o)
CLI_OBJ    := $(B)/cli/nsisolate.o $(B)/cli/pamstack.o $(B)/cli/instances.o
# Helper and nsisolate(8) only: the module never links libmnl.
HOSTNET_OBJ := $(B)/common/hostnet.o

TARGETS := $(B)/pam_nsisolate.so $(B)/nsisolate-helper $(B)/nsisolate

.PHONY: all install uninstall deps check test stress fault demo bench bench-scale format format-check clean unit fuzz deb \
	systemd-image systemd-shell
all: $(TARGETS)

# Header dependencies come from the compiler (-MMD -MP): $(B)/**/*.d.
DEPFLAGS = -MMD -MP -MF $@.d

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/pam_nsisolate.so: $(MODULE_OBJ) $(COMMON_OBJ) pam_nsisolate/pam_nsisolate.map
	$(CC) -shared -Wl,-z,relro,-z,now -Wl,--no-undefined -Wl,--version-script=pam_nsisolate/pam_nsisolate.map \
		-o $@ $(MODULE_OBJ) $(COMMON_OBJ) -lpam -lconfig

# libcap, libconfig and libnftnl linked in: each first login execs the helper, and
# fewer shared objects to map is a measurable part of that cost (Debian ships no
# libmnl.a).
$(B)/nsisolate-helper: $(HELPER_OBJ) $(COMMON_OBJ) $(HOSTNET_OBJ)
	$(CC) -pie -Wl,-z,relro,-z,now -o $@ $^ -Wl,-Bstatic -lcap -lconfig -lnftnl -Wl,-Bdynamic -lmnl

$(B)/nsisolate: $(CLI_OBJ) $(COMMON_OBJ) $(HOSTNET_OBJ)
	$(CC) -pie -Wl,-z,relro,-z,now -o $@ $^ -lconfig -lmnl

install: all
	install -d $(DESTDIR)$(PAMDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/security
	install -m 0644 $(B)/pam_nsisolate.so $(DESTDIR)$(PAMDIR)/pam_nsisolate.so
	install -m 0700 $(B)/nsisolate-helper $(DESTDIR)$(HELPER_PATH)
	install -m 0755 $(B)/nsisolate $(DESTDIR)$(SBINDIR)/nsisolate
	install -m 0644 man/nsisolate.conf.5 $(DESTDIR)$(MANDIR)/man5/nsisolate.conf.5
	install -m 0644 man/pam_nsisolate.8 $(DESTDIR)$(MANDIR)/man8/pam_nsisolate.8
	install -m 0644 man/nsisolate.8 $(DESTDIR)$(MANDIR)/man8/nsisolate.8
	install -d $(DESTDIR)$(SYSTEMDDIR)/user@.service.d
	sed 's,@SBINDIR@,$(SBINDIR),g' conf/systemd/user@.service.d-nsisolate.conf.in \
		>$(DESTDIR)$(SYSTEMDDIR)/user@.service.d/nsisolate.conf
	@# Never overwrite an administrator's policy.
	[ -e $(DESTDIR)$(SYSCONFDIR)/security/nsisolate.conf ] || \
		install -m 0644 conf/nsisolate.conf $(DESTDIR)$(SYSCONFDIR)/security/nsisolate.conf

uninstall:
	rm -f $(DESTDIR)$(PAMDIR)/pam_nsisolate.so $(DESTDIR)$(HELPER_PATH) $(DESTDIR)$(SBINDIR)/nsisolate \
		$(DESTDIR)$(MANDIR)/man5/nsisolate.conf.5 $(DESTDIR)$(MANDIR)/man8/pam_nsisolate.8 \
		$(DESTDIR)$(MANDIR)/man8/nsisolate.8 $(DESTDIR)$(SYSTEMDDIR)/user@.service.d/nsisolate.conf
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SYSTEMDDIR)/user@.service.d 2>/dev/null
	@echo "left $(SYSCONFDIR)/security/nsisolate.conf in place"

# Debian packages the build and the tests need; apt-get only when one is missing.
# slapd, ldap-utils, nslcd and libnss-ldapd are the directory of
# tests/e2e/test-directory.sh, which runs its own slapd and nslcd: no service
# is started by the install (a policy-rc.d that refuses, only while apt runs).
DEB_PKGS := gcc make pkg-config libpam0g-dev libcap-dev libconfig-dev pamtester openssh-server \
            openssh-client iproute2 util-linux procps psmisc clang libclang-rt-14-dev clang-format \
            sudo libcap2-bin passwd login python3 libmnl-dev libnftnl-dev nftables libsystemd-dev \
            valgrind slapd ldap-utils nslcd libnss-ldapd
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		made=; if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; \
			chmod 0755 /usr/sbin/policy-rc.d; made=1; fi; \
		apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing; }; \
		r=$$?; [ -z "$$made" ] || rm -f /usr/sbin/policy-rc.d; exit $$r; \
	else echo "deps: all present"; fi

# ---- tests ----
UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
ASAN_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/asan/%)
PAMT_BIN := $(B)/tests/pam-retval $(B)/tests/pam-hold $(B)/tests/pam-fdcheck $(B)/tests/pam-starter \
            $(B)/tests/pam-cycles

# A unit test of CLI code links that code too (the cli/*.c prerequisites).
$(B)/tests/test-pamstack $(B)/asan/test-pamstack: cli/pamstack.c
$(B)/tests/test-instances $(B)/asan/test-instances: cli/instances.c

$(B)/tests/%: tests/unit/%.c $(COMMON_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit -Icli $(ALL_CFLAGS) $(DEPFLAGS) -o $@ $< $(COMMON_SRC) \
		$(filter cli/%.c,$^) -lconfig

$(B)/asan/%: tests/unit/%.c $(COMMON_SRC)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) -Itests/unit -Icli -std=gnu11 -g -O1 -fsanitize=address,undefined \
		-fno-sanitize-recover=all -fno-omit-frame-pointer $(DEPFLAGS) -o $@ $< $(COMMON_SRC) \
		$(filter cli/%.c,$^) -lconfig

# libFuzzer targets (tests/fuzz/fuzz-NAME.c, corpus in tests/fuzz/corpus-NAME/).
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/%)

$(B)/fuzz-%: tests/fuzz/fuzz-%.c $(COMMON_SRC)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined $(DEPFLAGS) \
		-o $@ $< $(COMMON_SRC) -lconfig

# Benchmark tools of tests/bench.sh (not tests).
$(B)/tests/bench-%: tests/bench/bench-%.c $(COMMON_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(DEPFLAGS) -o $@ $< $(COMMON_SRC) -lconfig

$(B)/tests/pam-%: tests/pam/pam-%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(DEPFLAGS) -o $@ $< -lpam

-include $(wildcard $(B)/*.d $(B)/*/*.d)

unit: $(UNIT_BIN) $(ASAN_BIN)
fuzz: $(FUZZ_BIN)

# In the tree, as any user, nothing installed: unit tests (plain and with
# ASan/UBSan) and each fuzzer for NSI_FUZZ_TIME seconds (default 10). Tests
# that need root-owned files or NSS users skip, saying so, when not root.
test:
	$(MAKE) -j$(shell nproc) unit fuzz
	NSI_FUZZ_TIME=$${NSI_FUZZ_TIME:-10} tests/run-all.sh --in-tree

# The crash-test build (tests/e2e/test-faults.sh): fault points compiled in,
# the helper's path under /run/nsit-fault; never installed system-wide.
FAULT_BIN := build/fault/pam_nsisolate.so build/fault/nsisolate-helper
fault:
	$(MAKE) B=build/fault NSI_FAULTS=1 LIBEXECDIR=/run/nsit-fault $(FAULT_BIN)

check: deps
	$(MAKE) -j$(shell nproc) all unit fuzz fault $(PAMT_BIN)
	$(MAKE) install
	tests/run-all.sh

# Long runs, documented in README.md "Reliability": the login flood and
# 10,000 open/close cycles in one process. Root, installs like check.
stress: deps
	$(MAKE) all $(PAMT_BIN)
	$(MAKE) install
	tests/stress/flood.sh
	NSI_OPENER_CYCLES=10000 tests/e2e/test-opener.sh

demo: deps
	$(MAKE) all
	$(MAKE) install
	tests/demo.sh

# The systemd test bed: a booted Debian 12 under qemu (tests/systemd/vm.sh).
systemd-image:
	tests/systemd/vm.sh build

systemd-shell: systemd-image
	$(MAKE) B=build/vm all
	rm -rf $(B)/vm-stage && $(MAKE) B=build/vm DESTDIR=$(CURDIR)/$(B)/vm-stage install
	tests/systemd/vm.sh start >/dev/null
	tests/systemd/vm.sh install $(B)/vm-stage; tests/systemd/vm.sh shell; tests/systemd/vm.sh stop

bench: deps
	$(MAKE) all
	$(MAKE) install
	tests/bench.sh

# 1000 users with live sets (about 3 minutes here): README, "What a login costs".
bench-scale: deps
	$(MAKE) all build/tests/pam-hold
	$(MAKE) install
	tests/bench-scale.sh

FORMAT_SRC := $(wildcard common/*.[ch] helper/*.[ch] pam_nsisolate/*.c cli/*.[ch] tests/unit/*.[ch] tests/pam/*.c tests/fuzz/*.c tests/bench/*.c)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	@fail=0; for f in $(FORMAT_SRC); do \
		clang-format $$f | diff -u $$f - >/dev/null || { echo "format: $$f"; fail=1; }; done; \
	exit $$fail

# The Debian package (debian/), built by dpkg-buildpackage in a copy of the
# tree (tracked and new files, not build/), so that it never writes into this
# tree or races another build; the .deb, .buildinfo and .changes land in
# $(B)/deb/. Needs dpkg-dev, debhelper and the Build-Depends. MAKEFLAGS stays
# out: the package's own make would take this one's variables (B=...).
deb:
	@rm -rf $(B)/deb && mkdir -p $(B)/deb
	set -e; work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	mkdir "$$work/src"; \
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z -c -o --exclude-standard | \
			xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
			tar -c --null -T - | tar -x -C "$$work/src"; \
	else \
		tar -c --exclude=./$(B) --exclude=./.git . | tar -x -C "$$work/src"; \
	fi; \
	(cd "$$work/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -us -uc -b); \
	cp "$$work"/*.deb "$$work"/*.buildinfo "$$work"/*.changes $(B)/deb/
	@ls $(B)/deb

clean:
	rm -rf $(B)
