# SPDX-License-Identifier: GPL-2.0-only
# alpnsteer - steer ACME TLS-ALPN-01 handshakes on port 443 in the kernel.
#
#   make            build $(OUTPUT)/alpnsteer (one binary, BPF skeleton inside)
#   make test       unit tests, no root needed
#   make selftest   root: real programs, network namespaces, nginx, openssl
#   make fuzz       libFuzzer on the ClientHello parser, FUZZ_SECONDS long
#   make bench      root: alpnsteer vs. direct vs. splitters, ~15 min
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
ALL_CFLAGS := $(CFLAGS) $(WARN) -D_GNU_SOURCE -Iinclude -Iuser -I$(OUTPUT) $(NL_CFLAGS)
LDLIBS := -lbpf -lelf -lz -lssl -lcrypto -lseccomp $(NL_LIBS)
BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
	-Iinclude -I$(OUTPUT)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_HDRS := $(wildcard bpf/*.h) $(wildcard include/*.h)
USER_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/obj/%.o,$(USER_SRCS))
USER_HDRS := $(wildcard user/*.h) $(wildcard include/*.h)
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(OUTPUT)/tests/%,$(TEST_SRCS))
SKEL := $(OUTPUT)/alpnsteer.skel.h

.PHONY: all test selftest fuzz check install clean help format bench demo
.DELETE_ON_ERROR:

all: $(OUTPUT)/alpnsteer

$(OUTPUT) $(OUTPUT)/obj $(OUTPUT)/tests:
	$(Q)mkdir -p $@

# vmlinux.h is generated from the running kernel's BTF, never committed.
$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(OUTPUT)/alpnsteer.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name alpnsteer_bpf > $@

$(OUTPUT)/obj/%.o: user/%.c $(USER_HDRS) $(SKEL) | $(OUTPUT)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/obj/libalpnsteer.a: $(USER_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(OUTPUT)/alpnsteer: $(OUTPUT)/obj/main.o $(OUTPUT)/obj/libalpnsteer.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -o $@ $(LDLIBS)

$(OUTPUT)/tests/%: tests/%.c tests/testlib.h $(OUTPUT)/obj/libalpnsteer.a | $(OUTPUT)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests $< $(OUTPUT)/obj/libalpnsteer.a -o $@ $(LDLIBS)

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

# The parser of include/clienthello.h, under libFuzzer and ASan.
$(OUTPUT)/fuzz_clienthello: tests/fuzz_clienthello.c include/clienthello.h | $(OUTPUT)
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

install: all
	install -D -m 0755 $(OUTPUT)/alpnsteer $(DESTDIR)$(PREFIX)/sbin/alpnsteer
	@# the unprivileged user the daemon becomes once attached
	id -u alpnsteer >/dev/null 2>&1 || useradd --system --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin alpnsteer

format:
	clang-format -i bpf/*.c bpf/*.h user/*.c user/*.h include/*.h tests/*.c tests/*.h

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
	@echo '  bench     root: throughput/latency vs. direct and splitters (~15 min)'
	@echo '  demo      root: certificates from a local ACME CA through alpnsteer'
	@echo '  install   install alpnsteer into $$(DESTDIR)$$(PREFIX)/sbin'
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
