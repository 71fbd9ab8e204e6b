# SPDX-License-Identifier: GPL-2.0-only
# alpnsteer - steer ACME TLS-ALPN-01 handshakes on port 443 in the kernel.
#
#   make            build $(OUTPUT)/alpnsteer (one binary, BPF skeleton inside)
#   make test       unit tests, no root needed
#   make selftest   root: real programs, network namespaces, nginx, openssl
#   make fuzz       libFuzzer on the ClientHello parser, FUZZ_SECONDS long
#   make bench      root: alpnsteer vs. direct vs. splitters, CPU per connection,
#                   the responder against the single daemon, ~19 min
#   make install    PREFIX=/usr/local DESTDIR= (see "Installation paths")
#   make deb        $(OUTPUT)/alpnsteer_VERSION_ARCH.deb (debhelper)
#   make vmtest-systemd  root: the package's units under systemd, in qemu
#   make V=1        show the commands
#   make help       this list

OUTPUT ?= $(abspath build)
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
FUZZ_SECONDS ?= 60
CHECK_FUZZ_SECONDS ?= 30
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(patsubst $(OUTPUT)/%,%,$(2))";
endif

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
NL_CFLAGS := $(shell $(PKG_CONFIG) --cflags libnl-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NL_LIBS := -lnl-idiag-3 -lnl-route-3 -lnl-3

WARN := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror
CFLAGS ?= -O2 -g
# user/ has a folder per process and one of shared code (docs/design.md,
# "Files"); every folder's headers are on the include path.
USER_DIRS := $(patsubst %/,%,$(wildcard user/*/))
ALL_CFLAGS := $(CPPFLAGS) $(CFLAGS) $(WARN) -D_GNU_SOURCE -Iinclude -Iuser \
	$(addprefix -I,$(USER_DIRS)) -I$(OUTPUT) $(NL_CFLAGS)
LDLIBS := -lbpf -lelf -lz -lssl -lcrypto -lseccomp $(NL_LIBS)
# the agent: json-c for the store's entries (libcurl, for etcd's JSON
# gateway, is dlopen'ed where it is used: user/agent/curl_dl.h)
LDLIBS += -ljson-c
# sd-bus: the keeper's own transient scope under systemd (user/lifecycle/keeper_scope.c)
LDLIBS += $(shell $(PKG_CONFIG) --libs libsystemd 2>/dev/null || echo -lsystemd)
BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
	-Iinclude -I$(OUTPUT)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.c,$(OUTPUT)/bpf/%.o,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/*.h) $(wildcard include/*.h)
MAIN_SRC := $(wildcard user/cli/main.c user/*/main.c)
MAIN_OBJ := $(patsubst user/%.c,$(OUTPUT)/obj/%.o,$(MAIN_SRC))
# The TLS worker's own small image (user/worker/worker_main.c): its code,
# OpenSSL and libseccomp only, linked from the same archive.
WORKER_MAIN := user/worker/worker_main.c
WORKER_LDLIBS := -lssl -lcrypto -lseccomp
# Bound at exec (full RELRO): then nothing reads the dynamic linker's
# tables once the worker is set up, and it drops them from its RSS
# (user/worker/ldpages.c).
WORKER_LDFLAGS := -Wl,-z,now
USER_SRCS := $(filter-out $(MAIN_SRC) $(WORKER_MAIN),$(wildcard user/*.c user/*/*.c))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/obj/%.o,$(USER_SRCS))
USER_HDRS := $(wildcard user/*.h user/*/*.h) $(wildcard include/*.h)
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(OUTPUT)/tests/%,$(TEST_SRCS))
SKEL := $(OUTPUT)/alpnsteer.skel.h

# `git describe` in a git checkout (VERSION-gHASH before the first tag),
# else VERSION: a release tarball or the Debian package build has no .git.
VERSION_FILE := $(shell cat VERSION)
ifneq ($(wildcard .git),)
ALPNSTEER_VERSION := $(shell git describe --tags --dirty 2>/dev/null || \
	echo "$(VERSION_FILE)-g$$(git rev-parse --short HEAD)$$(git diff --quiet HEAD 2>/dev/null || echo -dirty)")
endif
ALPNSTEER_VERSION ?= $(VERSION_FILE)

.PHONY: bench-agent bench-cpu bench-responder format-check
.PHONY: all test selftest fuzz check install install-main install-certbot install-user uninstall deb clean help format bench demo docs FORCE
.DELETE_ON_ERROR:

all: $(OUTPUT)/alpnsteer $(OUTPUT)/alpnsteer-worker

$(OUTPUT) $(OUTPUT)/obj $(OUTPUT)/tests $(OUTPUT)/bpf:
	$(Q)mkdir -p $@

# vmlinux.h is generated from the running kernel's BTF, never committed.
$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(OUTPUT)/vmlinux.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# One object, one skeleton: libbpf's static linker joins the production
# programs (alpnsteer.bpf.c) and the --preclassify spike (preclass.bpf.c),
# which share alpnsteer.bpf.c's maps and configuration (maps.bpf.h).
$(OUTPUT)/alpnsteer.bpf.o: $(BPF_OBJS)
	$(call msg,BPF-LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(OUTPUT)/alpnsteer.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name alpnsteer_bpf > $@

$(OUTPUT)/obj/%.o: user/%.c $(USER_HDRS) $(SKEL) | $(OUTPUT)/obj
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# Rewritten only when the version changes, so that only cmd_version.o is
# rebuilt after a commit.
$(OUTPUT)/version.h: FORCE | $(OUTPUT)
	$(Q)echo '#define ALPNSTEER_VERSION "$(ALPNSTEER_VERSION)"' > $@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(patsubst user/%.c,$(OUTPUT)/obj/%.o,$(wildcard user/cli/cmd_version.c user/*/cmd_version.c)): $(OUTPUT)/version.h

$(OUTPUT)/obj/libalpnsteer.a: $(USER_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(OUTPUT)/alpnsteer: $(MAIN_OBJ) $(OUTPUT)/obj/libalpnsteer.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(OUTPUT)/alpnsteer-worker: $(patsubst user/%.c,$(OUTPUT)/obj/%.o,$(WORKER_MAIN)) $(OUTPUT)/obj/libalpnsteer.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(WORKER_LDFLAGS) $^ -o $@ $(WORKER_LDLIBS)

$(OUTPUT)/tests/%: tests/%.c tests/testlib.h $(OUTPUT)/obj/libalpnsteer.a | $(OUTPUT)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests $< $(OUTPUT)/obj/libalpnsteer.a -o $@ $(LDLIBS)

# alpnsteer(8) and the bash completion, from the command table (user/cli/cmds.c)
# and man/alpnsteer.8.in; committed, and make test fails when they differ
# from what the table gives.
$(OUTPUT)/gendoc: tools/gendoc.c $(OUTPUT)/obj/libalpnsteer.a | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(OUTPUT)/obj/libalpnsteer.a -o $@ $(LDLIBS)

docs: $(OUTPUT)/gendoc
	$(call msg,GEN,man/alpnsteer.8)
	$(Q)$(OUTPUT)/gendoc man man/alpnsteer.8.in > man/alpnsteer.8
	$(call msg,GEN,completion/alpnsteer.bash)
	$(Q)$(OUTPUT)/gendoc bash > completion/alpnsteer.bash

test: $(TEST_BINS) $(OUTPUT)/alpnsteer
	$(Q)tests/run.sh $(OUTPUT)

selftest: all
	$(Q)selftests/run.sh $(OUTPUT)

# Isolated (own bpffs, /run/alpnsteer, netns names): safe on a host that
# has a real attachment.  Results in $(OUTPUT)/bench/; REPS= DUR= BIG_MIB=.
# The README's main job: certificates from pebble through alpnsteer while
# nginx serves (root; installs what it needs, builds, cleans up).
demo:
	$(Q)scripts/demo.sh

bench: all
	$(Q)selftests/isolate.sh bench scripts/bench/bench.sh $(OUTPUT)
	$(Q)selftests/isolate.sh benchcpu scripts/bench/cpu.sh $(OUTPUT)
	$(Q)$(MAKE) --no-print-directory bench-responder

# root: the built-in responder against the single daemon from before the
# privilege split (BASELINE=, a binary or a revision, built out of tree):
# handshakes per wall second, p50/p99 latency with CLIENTS concurrent
# clients, memory of monitor + worker, a 240-dial burst (~3 min with the
# defaults; also run by make bench).  Results in $(OUTPUT)/bench/responder.*
BASELINE ?= d7d487f
bench-responder: all
	$(Q)mkdir -p $(OUTPUT)/bench
	$(Q)BASELINE=$(BASELINE) RESULTS=$(OUTPUT)/bench/responder.jsonl \
		selftests/isolate.sh benchrsp scripts/bench-responder.sh $(OUTPUT) \
		>$(OUTPUT)/bench/responder.md
	$(Q)cat $(OUTPUT)/bench/responder.md

# root: the CPU alpnsteer adds per new connection (direct / attached /
# detached, fixed work, ~6 min; also run by make bench).  REPS= PLAIN_N=
# TLS_N= CONC=; PERF=1 adds a perf profile.  Results in $(OUTPUT)/bench/cpu-*.
bench-cpu: all
	$(Q)selftests/isolate.sh benchcpu scripts/bench/cpu.sh $(OUTPUT)

# root: the agent's time from challenge add to live steering, against
# attach + challenge add, in alternating blocks (~2 min).
bench-agent: all
	$(Q)selftests/isolate.sh benchag scripts/bench/agent.sh $(OUTPUT)

# The parser of include/clienthello.h, under libFuzzer and ASan.
$(OUTPUT)/fuzz_clienthello: tests/fuzz_clienthello.c include/clienthello.h include/proxyhdr.h | $(OUTPUT)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude $< -o $@

fuzz: $(OUTPUT)/fuzz_clienthello
	$(Q)mkdir -p $(OUTPUT)/fuzz-corpus
	$(Q)$(OUTPUT)/fuzz_clienthello -max_total_time=$(FUZZ_SECONDS) \
		-print_final_stats=1 $(OUTPUT)/fuzz-corpus tests/data/hello

# The README's test command: everything, as CI runs it (root).
check:
	$(Q)$(MAKE) --no-print-directory test
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)
	$(Q)$(MAKE) --no-print-directory selftest

# Installation paths.  Hooks are programs that ACME clients run, not
# users, and not data: FHS puts such internal executables in $(PREFIX)/lib
# (/usr/share is for architecture-independent data, not programs).  Units
# go where systemd looks for them under PREFIX ($(PREFIX)/lib/systemd/system
# is in its search path for /usr/local too); the package passes Debian 12's
# /lib/systemd/system, the only place its dh_installsystemd looks.
SBINDIR ?= $(PREFIX)/sbin
HOOKDIR ?= $(PREFIX)/lib/alpnsteer/hooks
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# The README and docs/ keep their layout, so that their links work there
# (the units' Documentation= names DOCDIR/README.md).
DOCDIR ?= $(PREFIX)/share/doc/alpnsteer
DOCS := $(wildcard docs/*.md docs/*.png)
HOOKS := $(wildcard scripts/hooks/*.sh)
UNITS := $(wildcard scripts/systemd/*.service)

# certbot's alpnsteer authenticator (certbot/): the module and an egg-info
# with its `certbot.plugins` entry point, which is how certbot finds a
# plugin (pkg_resources in certbot 2, importlib.metadata later; both read
# an egg-info directory on sys.path).  Debian's python3 looks in
# /usr/lib/python3/dist-packages for packages and in
# PREFIX/lib/python3.X/dist-packages for /usr/local; certbot runs
# /usr/bin/python3, whose version names that directory.
CERTBOT_PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)
ifeq ($(PREFIX),/usr)
PYTHONDIR ?= /usr/lib/python3/dist-packages
else
PYTHONDIR ?= $(PREFIX)/lib/python$(shell $(CERTBOT_PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo 3)/dist-packages
endif
CERTBOT_EGG := certbot_alpnsteer-$(VERSION_FILE).egg-info

# No user is created here: with DESTDIR (a package, a staging tree) this is
# not the machine alpnsteer will run on, and its /etc/passwd is not ours to
# change.  The package creates it in postinst from the sysusers.d file
# installed below; on a machine installed from source, `make install-user`.
install: install-main install-certbot

install-main: all
	install -D -m 0755 $(OUTPUT)/alpnsteer $(DESTDIR)$(SBINDIR)/alpnsteer
	@# Where the daemon looks for it: ../libexec/alpnsteer/ from its own
	@# binary (user/monitor/daemon_worker.c, worker_image_open()).
	install -D -m 0755 $(OUTPUT)/alpnsteer-worker $(DESTDIR)$(PREFIX)/libexec/alpnsteer/alpnsteer-worker
	install -d $(DESTDIR)$(HOOKDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	install -m 0755 $(HOOKS) $(DESTDIR)$(HOOKDIR)/
	@# The units name /usr/local/sbin/alpnsteer (make install's default,
	@# and what test_acme_units.sh rewrites); point them at this PREFIX.
	for u in $(UNITS); do \
		sed 's|/usr/local/|$(PREFIX)/|g' $$u > $(DESTDIR)$(UNITDIR)/$${u##*/} && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; \
	done
	install -m 0644 scripts/sysusers.d/alpnsteer.conf $(DESTDIR)$(SYSUSERSDIR)/alpnsteer.conf
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -d $(DESTDIR)$(DOCDIR)/docs
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/docs/
	install -D -m 0644 man/alpnsteer.8 $(DESTDIR)$(MANDIR)/man8/alpnsteer.8
	install -D -m 0644 completion/alpnsteer.bash $(DESTDIR)$(BASHCOMPDIR)/alpnsteer
	@id -u alpnsteer >/dev/null 2>&1 || [ -n "$(DESTDIR)" ] || \
		echo "Note: no user alpnsteer here yet (the daemon runs as it): make install-user"

install-certbot:
	install -d $(DESTDIR)$(PYTHONDIR)/certbot_alpnsteer $(DESTDIR)$(PYTHONDIR)/$(CERTBOT_EGG)
	install -m 0644 certbot/certbot_alpnsteer/__init__.py $(DESTDIR)$(PYTHONDIR)/certbot_alpnsteer/
	printf 'Metadata-Version: 2.1\nName: certbot-alpnsteer\nVersion: %s\nSummary: %s\nLicense: GPL-2.0-only\n' \
		'$(VERSION_FILE)' 'certbot authenticator: tls-alpn-01 through alpnsteer' \
		> $(DESTDIR)$(PYTHONDIR)/$(CERTBOT_EGG)/PKG-INFO
	printf '[certbot.plugins]\nalpnsteer = certbot_alpnsteer:Authenticator\n' \
		> $(DESTDIR)$(PYTHONDIR)/$(CERTBOT_EGG)/entry_points.txt
	printf 'certbot_alpnsteer\n' > $(DESTDIR)$(PYTHONDIR)/$(CERTBOT_EGG)/top_level.txt
	chmod 0644 $(DESTDIR)$(PYTHONDIR)/$(CERTBOT_EGG)/*

# The daemon's user, from the same sysusers.d file the package uses.
install-user:
	@if command -v systemd-sysusers >/dev/null; then \
		echo systemd-sysusers $(CURDIR)/scripts/sysusers.d/alpnsteer.conf; \
		systemd-sysusers $(CURDIR)/scripts/sysusers.d/alpnsteer.conf; \
	else \
		id -u alpnsteer >/dev/null 2>&1 || useradd --system --no-create-home \
			--home-dir /nonexistent --shell /usr/sbin/nologin alpnsteer; \
	fi

# Leaves the user (files it wrote may remain) and anything attached.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/alpnsteer $(DESTDIR)$(MANDIR)/man8/alpnsteer.8 \
		$(DESTDIR)$(PREFIX)/libexec/alpnsteer/alpnsteer-worker \
		$(DESTDIR)$(BASHCOMPDIR)/alpnsteer $(DESTDIR)$(SYSUSERSDIR)/alpnsteer.conf \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS))) \
		$(addprefix $(DESTDIR)$(HOOKDIR)/,$(notdir $(HOOKS))) \
		$(DESTDIR)$(DOCDIR)/README.md $(addprefix $(DESTDIR)$(DOCDIR)/,$(DOCS))
	rm -rf $(DESTDIR)$(PYTHONDIR)/certbot_alpnsteer $(DESTDIR)$(PYTHONDIR)/$(CERTBOT_EGG)
	-rmdir $(DESTDIR)$(HOOKDIR) $(DESTDIR)$(PREFIX)/lib/alpnsteer $(DESTDIR)$(PREFIX)/libexec/alpnsteer \
		$(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR)

# The Debian package, built by dpkg-buildpackage in a copy of the tree
# under $(OUTPUT)/deb (so neither ./build nor the tree's parent, where
# dpkg-buildpackage writes, is touched); the .deb ends up as
# $(OUTPUT)/alpnsteer_VERSION_ARCH.deb (VERSION: the file).
deb:
	$(Q)scripts/build-deb.sh $(OUTPUT)

# Debian 12's clang-format: another version formats some constructs
# differently, and tests/test_format.sh (make test) checks with this one.
CLANG_FORMAT ?= clang-format-14
FORMAT_SRCS = $(wildcard bpf/*.[ch] user/*.[ch] user/*/*.[ch] include/*.h tests/*.[ch] tools/*.[ch])

format:
	$(Q)$(CLANG_FORMAT) -i $(FORMAT_SRCS)

format-check:
	$(Q)CLANG_FORMAT=$(CLANG_FORMAT) tests/test_format.sh

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)

help:
	@echo 'Targets:'
	@echo '  all       build $$(OUTPUT)/alpnsteer (default OUTPUT=./build)'
	@echo '  test      unit tests (parser, certificates, CLI, JSON); no root'
	@echo '  selftest  root: load the real programs in network namespaces'
	@echo '  fuzz      run the ClientHello fuzzer for FUZZ_SECONDS (default 60)'
	@echo '  check     test + fuzz (30 s) + selftest: what CI runs (root)'
	@echo '  bench     root: throughput/latency vs. direct and splitters, CPU per connection (~16 min)'
	@echo '  bench-cpu root: the CPU alpnsteer adds per new connection (~6 min)'
	@echo '  bench-responder  root: responder handshakes/s, p50/p99, memory, a burst, vs. BASELINE= (~3 min)'
	@echo '  demo      root: certificates from a local ACME CA through alpnsteer'
	@echo '  install   binary, hooks, units, man page, certbot plugin into $$(DESTDIR)$$(PREFIX)'
	@echo '  install-user  create the alpnsteer system user (sysusers.d)'
	@echo '  uninstall what install installed'
	@echo '  deb       $$(OUTPUT)/alpnsteer_VERSION_ARCH.deb (dpkg-buildpackage)'
	@echo '  vmtest    root: selftests in a qemu guest booting KERNEL=6.1|6.12|.deb'
	@echo '  vmtest-systemd  root: the package'"'"'s units under systemd as PID 1 (qemu)'
	@echo '  docs      regenerate man/alpnsteer.8 and completion/alpnsteer.bash'
	@echo '  clean     remove $$(OUTPUT)'
	@echo 'Variables: OUTPUT=DIR V=1 CC= CLANG= BPFTOOL= FUZZ_SECONDS='

# root: the selftests in a qemu guest (TCG) booting KERNEL: 6.1 or 6.12
# (Debian's current bookworm/trixie kernel, fetched into
# /var/cache/alpnsteer-vmtest), a linux-image .deb or its unpacked tree.
# SELFTESTS= picks the tests (default: steering, fail-open, segments,
# loss), VMTEST_CYCLES= the loss test's cycles.
.PHONY: vmtest
vmtest: all
	$(Q)scripts/vmtest/run.sh "$(KERNEL)" $(OUTPUT)

# root: the package's systemd units under systemd as PID 1, in a qemu guest
# (TCG) booting KERNEL (default: 6.1 and 6.12): $(OUTPUT)'s package built
# from the tree (make deb) installed with apt, every unit started, used and
# stopped, their exposure scores, apt purge with each active
# (scripts/vmtest/systemd-guest.sh).
.PHONY: vmtest-systemd
vmtest-systemd: all deb
	$(Q)rc=0; for k in $(or $(KERNEL),6.1 6.12); do \
		VMTEST_SYSTEMD=1 scripts/vmtest/run.sh $$k $(OUTPUT) || rc=1; \
	done; exit $$rc
