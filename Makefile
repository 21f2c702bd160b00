# socksify — build, test, demo, install.
# `make` builds build/libsocksify.so (the preloaded library), build/libsocksify-core.a
# (the core the tests link) and build/socksify (the command, which preloads the library).
#
# One library per class of program, where the dynamic loader's $LIB token finds it: with gcc's
# multilib toolchain present, `make` also builds the library for i386 programs (-m32), and
#     LD_PRELOAD='/abs/build/$LIB/libsocksify.so'        (a literal $LIB)
# gives each program the library of its own class: build/lib/x86_64-linux-gnu/libsocksify.so for
# x86-64 programs, build/lib32/libsocksify.so for i386 ones (Debian; scripts/loader-lib.sh says
# what $LIB becomes here). build/libsocksify.so is a link to the native one. `make install` lays
# out $(PREFIX)/lib/socksify the same way; the command preloads that string.

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(PREFIX)/bin
LIBDIR  := $(PREFIX)/lib/socksify
MANDIR  := $(PREFIX)/share/man
COMPLETIONDIR := $(PREFIX)/share/bash-completion/completions
VERSION := 0.1.0

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -std=gnu11
BASE_CFLAGS := $(WARN) -fPIC -fvisibility=hidden -D_GNU_SOURCE -DSOCKSIFY_VERSION='"$(VERSION)"' -Icore
B := build

CORE_SRC    := $(sort $(wildcard core/*.c))
PRELOAD_SRC := $(sort $(wildcard preload/*.c))
CORE_OBJ    := $(CORE_SRC:%.c=$(B)/%.o)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(B)/%.o)
UNIT_SRC    := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ    := $(UNIT_SRC:%.c=$(B)/%.o)
# Every compile writes a .d file beside its output listing the headers it read (-MMD; -MP adds an
# empty rule per header, so a deleted header does not break the build): a change to a header then
# rebuilds what includes it and nothing else. preload/hooks.def is caught too: real.h includes it.
DEPFLAGS    := -MMD -MP

# What $LIB becomes for native programs and for -m32 ones (empty: no working -m32 toolchain, or
# -m32 is the native class already).
LIB_DIR     := $(shell scripts/loader-lib.sh $(CC))
LIB_DIR_M32 := $(filter-out $(LIB_DIR),$(shell scripts/loader-lib.sh $(CC) -m32))

LIB    := $(B)/libsocksify.so
LIB_NATIVE := $(B)/$(LIB_DIR)/libsocksify.so
LIB_M32 := $(if $(LIB_DIR_M32),$(B)/$(LIB_DIR_M32)/libsocksify.so)
# The i386 objects, from the same sources with the same flags plus -m32.
B32 := $(B)/m32
CORE_OBJ_M32    := $(CORE_SRC:%.c=$(B32)/%.o)
PRELOAD_OBJ_M32 := $(PRELOAD_SRC:%.c=$(B32)/%.o)
CORE_A := $(B)/libsocksify-core.a
# The command: scripts/*.c. libpath.c holds the library's path, compiled in: the build directory's
# here, the installed one for the copy `make install` builds (no script rewritten with sed).
CMD    := $(B)/socksify
CMD_SRC := $(filter-out scripts/libpath.c,$(sort $(wildcard scripts/*.c)))
CMD_OBJ := $(CMD_SRC:%.c=$(B)/%.o)
# The command is linked statically: it is started once per program run, and without the dynamic
# loader's work it starts in about 1.5 ms less CPU here (tests/bench/startup.sh). Not as a PIE: its
# 1 500 relocations wrote six pages at every start, each a page fault (13 us on this VM). The
# command parses only what the user and the user's own program give it, under the user's own
# rights; `make deb` links it dynamically, as a PIE, with Debian's hardening flags.
# It needs nothing of libc that a static link lacks (no dlopen), except in the seccomp supervisor,
# which resolves a proxy's host name and names routed direct with getaddrinfo (NSS: glibc loads
# the same version's libnss_* at run time, as it does for every static program; the library
# does the same lookups). Sanitizer builds link dynamically: their runtimes need the loader.
CMD_LDFLAGS ?= -static -no-pie
LIBPATH_DEFINES = -DSOCKSIFY_LIB_ROOT='"$(1)"' -DSOCKSIFY_LIB_DIR='"$(LIB_DIR)"' \
    $(if $(LIB_DIR_M32),-DSOCKSIFY_LIB_DIR32='"$(LIB_DIR_M32)"')
UNIT   := $(B)/unit-tests
BENCH  := $(B)/bench-connloop
BENCH_FAKEDNS := $(B)/bench-fakedns
BENCH_ROUTE := $(B)/bench-route
BENCH_EPOLLCLOSE := $(B)/bench-epollclose
BENCH_SESSION_LOOKUP := $(B)/bench-session-lookup
# tests/bench/compare.sh: the target servers, a bulk-transfer client, a read/write loop on a pipe
BENCH_TOOLS_BIN := $(B)/bench-tserver $(B)/bench-bulk $(B)/bench-pipeloop

.PHONY: all libs deps check check-man unit integration demo bench install uninstall clean deb
all: libs $(CORE_A) $(CMD) $(B)/hooks.list
# The preloaded library of every class this toolchain builds.
libs: $(LIB) $(LIB_M32)
ifeq ($(LIB_DIR_M32),)
	@echo "note: no 32-bit library: '$(CC) -m32' cannot link a program (scripts/deps.sh installs gcc-multilib)"
endif

deps:
	scripts/deps.sh

$(B)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B32)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) -m32 $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# The headers each object and program read, as the compiler listed them (none before a first build).
-include $(wildcard $(B)/*.d $(B)/core/*.d $(B)/preload/*.d $(B)/scripts/*.d $(B)/tests/unit/*.d \
                    $(B32)/core/*.d $(B32)/preload/*.d)

$(CORE_A): $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

# The exported names, one a line, and the version script that exports them and nothing else:
# both generated from preload/hooks.def, the one list of hooks.
$(B)/hooks.list: preload/hooks.def
	@mkdir -p $(B)
	sed -n 's/^\(HOOK\|HOOK_MAYBE\|HOOK_TIME64\|WRAP\|ALIAS\|FORTIFY\)(\([A-Za-z0-9_]*\).*/\2/p' $< > $@

$(B)/exports.map: $(B)/hooks.list
	{ echo '/* Generated from preload/hooks.def: the hooks are all the library exports. */'; \
	  echo '{ global:'; sed 's/.*/    &;/' $<; echo '  local: *; };'; } > $@

LINK_LIB_FLAGS := -Wl,--version-script=$(B)/exports.map -Wl,-z,now -Wl,-z,relro -Wl,--no-undefined -ldl -lpthread

$(LIB_NATIVE): $(PRELOAD_OBJ) $(CORE_A) $(B)/exports.map
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -o $@ $(PRELOAD_OBJ) $(CORE_A) $(LINK_LIB_FLAGS)

# The path every test and script knew before there were two classes.
$(LIB): $(LIB_NATIVE)
	ln -sfn $(LIB_DIR)/libsocksify.so $@

$(B)/$(LIB_DIR_M32)/libsocksify.so: $(PRELOAD_OBJ_M32) $(CORE_OBJ_M32) $(B)/exports.map
	@mkdir -p $(dir $@)
	$(CC) -m32 $(CFLAGS) -shared -o $@ $(PRELOAD_OBJ_M32) $(CORE_OBJ_M32) $(LINK_LIB_FLAGS)

$(B)/scripts/libpath.o: scripts/libpath.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) $(call LIBPATH_DEFINES,$(abspath $(B))) -c $< -o $@

# The seccomp supervisor (scripts/sv_*.c) drives proxy handshakes with the library's own
# non-blocking tunnel driver: the same objects, not a second implementation (they call libc
# through preload/libc.c's table, which in the command is simply libc's).
CMD_PRELOAD_OBJ := $(B)/preload/tunnel.o $(B)/preload/libc.o $(B)/preload/descriptor.o

$(CMD): $(CMD_OBJ) $(B)/scripts/libpath.o $(CMD_PRELOAD_OBJ) $(CORE_A)
	$(CC) $(CFLAGS) $(CMD_LDFLAGS) -o $@ $^

# The installed command: the same objects, libpath.c compiled again with the installed paths
# (every time: PREFIX may differ from the last install).
.PHONY: $(B)/install/socksify
$(B)/install/socksify: $(CMD_OBJ) $(CMD_PRELOAD_OBJ) $(CORE_A)
	@mkdir -p $(B)/install
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(call LIBPATH_DEFINES,$(LIBDIR)) -c scripts/libpath.c -o $(B)/install/libpath.o
	$(CC) $(CFLAGS) $(CMD_LDFLAGS) -o $@ $(CMD_OBJ) $(B)/install/libpath.o $(CMD_PRELOAD_OBJ) $(CORE_A)

# The seccomp filter's builder is pure: its test runs the program it writes through an interpreter.
$(B)/tests/unit/test_seccomp_filter.o: BASE_CFLAGS += -Iscripts
$(UNIT): $(UNIT_OBJ) $(B)/scripts/seccomp_filter.o $(CORE_A)
	$(CC) $(CFLAGS) -o $@ $^ -lcriterion -lpthread

$(BENCH): tests/bench/connloop.c $(CORE_A)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -o $@ $< $(CORE_A)

$(BENCH_ROUTE): tests/bench/route_cost.c $(CORE_A)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -o $@ $< $(CORE_A)

$(BENCH_FAKEDNS): tests/bench/fakedns_memory.c $(CORE_A)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -o $@ $< $(CORE_A) -lpthread

$(BENCH_EPOLLCLOSE): tests/bench/epoll_close.c
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -o $@ $<

$(BENCH_SESSION_LOOKUP): tests/bench/session_lookup.c
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -o $@ $<

$(B)/bench-startcmp: tests/bench/startcmp.c
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -o $@ $<

$(B)/bench-tserver: tests/bench/tserver.c
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -o $@ $<

$(B)/bench-bulk: tests/bench/bulk.c
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -o $@ $<

$(B)/bench-pipeloop: tests/bench/pipeloop.c
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -o $@ $<

# tests/bench/udp.sh: UDP round trips (plain, SOCKS5 by hand, and the echo server)
$(B)/bench-udp-rtt: tests/bench/udp_rtt.c
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -o $@ $<

unit: $(UNIT)
	tests/run-unit.sh $(UNIT)

integration: all
	tests/integration/run.sh

check: deps
	tests/integration/build-gss-dante.sh > /dev/null   # once: cached in /var/cache/socksify-test
	$(MAKE) all $(UNIT)
	tests/check-exports.sh $(LIB) $(B)/hooks.list
	tests/check-internal-calls.sh $(B)/hooks.list $(PRELOAD_OBJ) $(CORE_OBJ)
	$(MAKE) check-m32
	$(MAKE) check-man
	tests/install-test.sh
	tests/deb-test.sh
	$(MAKE) unit
	$(MAKE) fuzz FUZZ_SECONDS=5
	$(MAKE) integration
	$(MAKE) check-asan
	$(MAKE) check-tsan

# The i386 library passes the same export and internal-call checks, against the i386 libc.
# Where the toolchain cannot build it, this fails: deps.sh installs gcc-multilib for make check.
.PHONY: check-m32
check-m32: libs
	@test -n "$(LIB_DIR_M32)" || { echo "check-m32: '$(CC) -m32' cannot link a program: run scripts/deps.sh"; exit 1; }
	tests/check-exports.sh $(LIB_M32) $(B)/hooks.list "$$($(CC) -m32 -print-file-name=libc.so.6)"
	tests/check-internal-calls.sh $(B)/hooks.list $(PRELOAD_OBJ_M32) $(CORE_OBJ_M32)

# The man pages list every option of --help, every variable the code reads and every config key
# the parsers know, and nothing more; mandoc finds no warning in them (tests/check-man.py).
check-man: $(CMD)
	tests/check-man.py $(CMD) scripts

# build/socksify_$(VERSION)-N_ARCH.deb: the command, the libraries, the man pages, the bash
# completion and /etc/socksify.conf, built with PREFIX=/usr in build/deb/ (scripts/deb.sh).
deb:
	scripts/deb.sh

demo: deps
	$(MAKE) all
	scripts/demo.sh

bench:
	scripts/deps.sh --bench
	$(MAKE) all $(BENCH) $(BENCH_FAKEDNS) $(BENCH_ROUTE) $(BENCH_EPOLLCLOSE) $(BENCH_SESSION_LOOKUP) $(BENCH_TOOLS_BIN) $(B)/bench-udp-rtt $(B)/bench-startcmp
	tests/bench/startup.sh
	tests/bench/connect.sh
	tests/bench/epollclose.sh
	tests/bench/dns.sh
	tests/bench/chain.sh
	tests/bench/rtt.sh
	tests/bench/eventloop.sh
	tests/bench/udp.sh
	$(BENCH_ROUTE) 1000
	timeout -k 30 900 tests/bench/compare.sh
	tests/bench/seccomp.sh

# $(LIBDIR) as build/ is: one library per class under its $LIB directory, LIBDIR/libsocksify.so a
# link to the native one (for LD_PRELOAD set by hand, one class); the installed command (its
# libpath.c compiled with LIBDIR) preloads '$(LIBDIR)/$LIB/libsocksify.so'.
install: all $(B)/install/socksify
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/$(LIB_DIR)
	install -m 0755 $(LIB_NATIVE) $(DESTDIR)$(LIBDIR)/$(LIB_DIR)/libsocksify.so
	ln -sfn $(LIB_DIR)/libsocksify.so $(DESTDIR)$(LIBDIR)/libsocksify.so
	$(if $(LIB_M32),install -d $(DESTDIR)$(LIBDIR)/$(LIB_DIR_M32))
	$(if $(LIB_M32),install -m 0755 $(LIB_M32) $(DESTDIR)$(LIBDIR)/$(LIB_DIR_M32)/libsocksify.so)
	install -m 0755 $(B)/install/socksify $(DESTDIR)$(BINDIR)/socksify
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(COMPLETIONDIR)
	install -m 0644 scripts/socksify.1 $(DESTDIR)$(MANDIR)/man1/socksify.1
	install -m 0644 scripts/socksify.conf.5 $(DESTDIR)$(MANDIR)/man5/socksify.conf.5
	install -m 0644 scripts/socksify.bash-completion $(DESTDIR)$(COMPLETIONDIR)/socksify

uninstall:
	rm -f $(DESTDIR)$(MANDIR)/man1/socksify.1 $(DESTDIR)$(MANDIR)/man5/socksify.conf.5 $(DESTDIR)$(COMPLETIONDIR)/socksify
	rm -f $(DESTDIR)$(BINDIR)/socksify $(DESTDIR)$(LIBDIR)/libsocksify.so \
	    $(DESTDIR)$(LIBDIR)/$(LIB_DIR)/libsocksify.so $(if $(LIB_M32),$(DESTDIR)$(LIBDIR)/$(LIB_DIR_M32)/libsocksify.so)

clean:
	rm -rf $(B)

# Fuzzing: libFuzzer targets built with clang and ASan/UBSan over the core sources.
# `make fuzz` first runs each target once over its committed corpus tests/fuzz/corpus/<target>/
# (a regression check: any crash, leak, UB or timeout fails), then fuzzes each for FUZZ_SECONDS,
# seeded from that corpus (read-only) and the scratch corpus $(B)/fuzz/<target>.corpus (where new
# inputs go), and prints executions and coverage. A crash leaves its input in
# $(B)/fuzz/<target>.crashes/; once fixed it joins the committed corpus (tests/fuzz/README.md).
# `make fuzz-coverage` prints the line/branch coverage of core/*.c by the committed corpora.
FUZZ_SECONDS ?= 20
FUZZ_TIMEOUT ?= 25
FUZZ_CORPUS := tests/fuzz/corpus
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/*.c))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(B)/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(CORE_SRC) $(wildcard core/*.h)
	@mkdir -p $(dir $@)
	clang $(WARN) -D_GNU_SOURCE -Icore $(FUZZ_FLAGS) -o $@ $< $(CORE_SRC)

# Sanitizers. The core and the unit tests run under ASan+UBSan. The integration suite runs
# against a UBSan build of the library (build-ubsan/): ASan's runtime would have to be preloaded
# into every client, and curl hangs with libasan preloaded even without socksify.
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
UBSAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=undefined -fno-sanitize-recover=all
.PHONY: check-asan
check-asan: deps
	$(MAKE) B=build-asan CFLAGS="$(ASAN_FLAGS)" build-asan/unit-tests
	ASAN_OPTIONS=detect_leaks=1 tests/run-unit.sh build-asan/unit-tests
	$(MAKE) B=build-ubsan CFLAGS="$(UBSAN_FLAGS)" CMD_LDFLAGS= libs build-ubsan/socksify
	SOCKSIFY_LIB='$(CURDIR)/build-ubsan/$$LIB/libsocksify.so' SOCKSIFY_CMD=$(CURDIR)/build-ubsan/socksify \
	SOCKSIFY_IT_ENV="UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1" tests/integration/run.sh

# ThreadSanitizer (tests/tsan/): build-tsan/tsan-stress links the preload and core objects, built
# with -fsanitize=thread, with tests/tsan/stress.c, whose threads connect by name through a local
# danted (blocking and non-blocking, through chains holding a dead proxy), send UDP through
# associations (own sockets, sockets shared by threads, sockets churned, inherited across fork()),
# look names up and fork() concurrently. gcc, for its shared libtsan: socksify's calls to libc (dlsym(RTLD_NEXT)) then go
# through TSan's interceptors. clang 14 links its runtime into the program, where the hooks would
# bypass its interceptors (it would miss socksify's close()s and report races on reused descriptors).
TSAN_CC ?= gcc
TSAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
.PHONY: check-tsan
check-tsan: deps
	$(MAKE) B=build-tsan CC=$(TSAN_CC) CFLAGS="$(TSAN_FLAGS)" build-tsan/tsan-stress
	tests/tsan/run.sh build-tsan/tsan-stress

# The hooks take the program's calls, but are kept out of the executable's dynamic symbols
# (--exclude-libs): exported, they would also take libtsan's own calls (its symbolizer's close()),
# which deadlocks TSan while it writes a report.
$(B)/tsan-stress: tests/tsan/stress.c $(PRELOAD_OBJ) $(CORE_OBJ)
	rm -f $(B)/libsocksify-tsan.a && ar rcs $(B)/libsocksify-tsan.a $(PRELOAD_OBJ) $(CORE_OBJ)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< -Wl,--whole-archive $(B)/libsocksify-tsan.a -Wl,--no-whole-archive \
	    -Wl,--exclude-libs,ALL -ldl -lpthread

.PHONY: fuzz fuzz-coverage
fuzz: $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
	    n=$${t##*/}; c=$(FUZZ_CORPUS)/$$n; mkdir -p $$t.crashes; \
	    if [ ! -d $$c ]; then echo "$$n: no committed corpus in $$c"; continue; fi; \
	    if $$t -runs=0 -timeout=$(FUZZ_TIMEOUT) -artifact_prefix=$$t.crashes/ $$c > $$t.regress.log 2>&1; \
	    then echo "$$n: regression ok, $$(ls $$c | wc -l) inputs, $$(sed -n 's/.*DONE *cov: \([0-9]*\).*/\1/p' $$t.regress.log) edges"; \
	    else grep -m1 -A14 -E 'ERROR:|runtime error:' $$t.regress.log; echo ...; sed -n '/^MS: /,/Test unit written/p' $$t.regress.log; \
	         echo "FUZZ REGRESSION: $$n fails on an input of $$c (log: $$t.regress.log)"; exit 1; fi; \
	done
	@for t in $(FUZZ_TARGETS); do \
	    n=$${t##*/}; c=$(FUZZ_CORPUS)/$$n; mkdir -p $$t.corpus $$t.crashes; \
	    echo "fuzzing $$n for $(FUZZ_SECONDS)s"; \
	    if $$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=$(FUZZ_TIMEOUT) -print_final_stats=1 \
	        -artifact_prefix=$$t.crashes/ $$t.corpus $$(test -d $$c && echo $$c) > $$t.log 2>&1; \
	    then awk -v n=$$n '$$2 == "DONE" { for (i = 1; i < NF; i++) { if ($$i == "cov:") c = $$(i + 1); \
	                                                        if ($$i == "ft:") f = $$(i + 1); if ($$i == "corp:") p = $$(i + 1) } } \
	            /number_of_executed_units/ { e = $$2 } /average_exec_per_sec/ { s = $$2 } /new_units_added/ { u = $$2 } \
	            END { printf "%s: %s execs (%s/s), cov %s edges, ft %s features, corpus %s, %s new inputs\n", n, e, s, c, f, p, u }' $$t.log; \
	    else grep -m1 -A14 -E 'ERROR:|runtime error:' $$t.log; echo ...; sed -n '/^MS: /,/Test unit written/p' $$t.log; \
	         echo "FUZZ FAILURE: $$n; the input is in $$t.crashes/ (log: $$t.log)."; \
	         echo "Once fixed, copy it into $$c/ as a regression input (tests/fuzz/README.md)."; exit 1; fi; \
	done

# Coverage of core/*.c by the committed corpora (FUZZ_COVERAGE_ARGS=--scratch adds $(B)/fuzz/*.corpus).
fuzz-coverage:
	B=$(B) tests/fuzz/coverage.sh $(FUZZ_COVERAGE_ARGS)
