# shipyard: one binary, one library of stages, cmocka unit tests, integration
# tests that drive the real binary.  `make demo` and `make check` install what
# is missing first (scripts/deps.sh).

CC ?= gcc
BUILD := build
# (libcrypto, not openssl: libssl's TLS is libcurl's business.)
PKGS := libgit2 rpm libsolv libsolvext jansson sqlite3 libcrypto libcrypt
# Libraries only some commands use: compiled against (their headers) but not
# linked; each is opened on first use (common/dynlib.h, the dl-*.c files),
# so that a short process such as `shipyard plan` does not load them.
LAZY_PKGS := libarchive libcurl libmicrohttpd glib-2.0 libxml-2.0 libgvc libcgraph

# The stage directories in data-flow order: each may include only the headers
# of those before it (scripts/check-includes.sh, run by `make check`).
STAGES := common state sandbox gitwatch forge planner builder repo-publish imager pipeline server cli
LIB_SRCS := $(filter-out cli/main.c,$(wildcard $(addsuffix /*.c,$(STAGES))))
HDRS := $(wildcard $(addsuffix /*.h,$(STAGES)))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)

-include $(BUILD)/config.mk

WARN := -Wall -Wextra -Werror -Wno-missing-field-initializers
BASE_CFLAGS := -std=gnu11 $(WARN) -g -I. -I$(BUILD) $(PKG_CFLAGS)
# -u: gitwatch/tlscerts.c is linked (from the library archive) though only
# libgit2 calls it: it defers libgit2's reading of the CA certificates.
LDLIBS := -Wl,-u,mbedtls_x509_crt_parse_file $(PKG_LIBS) -lrpmbuild -lpthread
# Unit tests also call the lazily opened libraries themselves (to check what
# shipyard wrote with them): linked, and shipyard's calls still go through
# its forwarders (the executable's definitions come first).
TEST_LDLIBS := $(LDLIBS) $(LAZY_LIBS)
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(LIB_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

# libFuzzer targets (tests/fuzz/fuzz_<name>.c -> build/fuzz/fuzz_<name>): the
# library compiled again with clang, coverage instrumentation and sanitizers,
# into build/fuzz/obj. (-Wno-string-plus-int: clang warns about the intended
# BUILD_TOPDIR + 1 of builder/buildout.c, a string without its first '/'.)
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := $(BASE_CFLAGS) -Wno-string-plus-int -O1 $(FUZZ_SAN)
FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
# `make fuzz`: seconds per target; FUZZ_UPDATE_CORPUS=1 merges the inputs
# that found new coverage back into tests/fuzz/corpus.
FUZZ_SECONDS ?= 60
FUZZ_UPDATE_CORPUS ?= 0

.PHONY: all deps demo check unit integration torture bench clean install man fuzz fuzz-targets FORCE

# Where `make install` puts things (DESTDIR is prepended when installing,
# never compiled in).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/shipyard
DOCDIR ?= $(PREFIX)/share/doc/shipyard
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system

# `make` alone builds the binary, whatever rule comes first below.
.DEFAULT_GOAL := all

# The installed data directory, compiled into cli/cli.c; the header is
# rewritten only when DATADIR changes, so that a `make install PREFIX=...`
# rebuilds what depends on it and nothing else does.
$(BUILD)/sy-paths.h: FORCE
	@mkdir -p $(BUILD)
	@echo '#define SY_DATADIR "$(DATADIR)"' >$@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi
$(BUILD)/obj/cli/cli.o $(BUILD)/san/cli/cli.o $(BUILD)/fuzz/obj/cli/cli.o: $(BUILD)/sy-paths.h

all: deps
	@$(MAKE) --no-print-directory $(BUILD)/shipyard

deps:
	@scripts/deps.sh

$(BUILD)/config.mk: scripts/deps.sh Makefile
	@scripts/deps.sh
	@mkdir -p $(BUILD)
	@{ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS) $(LAZY_PKGS))"; \
	   echo "PKG_LIBS := $$(pkg-config --libs $(PKGS))"; \
	   echo "LAZY_LIBS := $$(pkg-config --libs $(LAZY_PKGS)) -lcreaterepo_c"; } > $@.tmp && mv $@.tmp $@

# V=1 shows the full command lines.
Q := $(if $(V),,@)
say = $(if $(V),,@echo "  $(1) $(2)")

$(BUILD)/obj/%.o: %.c $(HDRS) $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(BASE_CFLAGS) -O2 -c $< -o $@

$(BUILD)/san/%.o: %.c $(HDRS) $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(call say,CC-SAN,$<)
	$(Q)$(CC) $(BASE_CFLAGS) -O1 $(SAN) -c $< -o $@

# server/openapi.c builds server/openapi.json in (.incbin).
$(BUILD)/obj/server/openapi.o $(BUILD)/san/server/openapi.o $(BUILD)/fuzz/obj/server/openapi.o: \
	server/openapi.json

$(BUILD)/libshipyard.a: $(OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/libshipyard-san.a: $(SAN_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/shipyard: cli/main.c $(BUILD)/libshipyard.a
	$(call say,LINK,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -O2 $< $(BUILD)/libshipyard.a $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c tests/unit/testutil.h $(BUILD)/libshipyard-san.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -O1 $(SAN) $< $(BUILD)/libshipyard-san.a $(TEST_LDLIBS) -lcmocka -o $@

$(BUILD)/fuzz/obj/%.o: %.c $(HDRS) $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(call say,CC-FUZZ,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/libshipyard.a: $(FUZZ_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(BUILD)/fuzz/libshipyard.a
	$(call say,LINK,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(BUILD)/fuzz/libshipyard.a $(LDLIBS) -o $@

# Benchmark tools (bench/<name>.c -> build/bench/<name>), each linked with
# what the benches share (BENCH_LIB: bench/dag.h's DAG generator).
BENCH_LIB := bench/dag.c
$(BUILD)/bench/%: bench/%.c $(BENCH_LIB) bench/dag.h $(BUILD)/libshipyard.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -O2 $< $(BENCH_LIB) $(BUILD)/libshipyard.a $(LDLIBS) -lm -o $@

export SHIPYARD_WORKER_CACHE ?= $(CURDIR)/$(BUILD)/worker-cache

unit: deps
	@$(MAKE) --no-print-directory $(UNIT_BINS)
	@tests/run-tests.sh unit $(UNIT_BINS)

integration: all
	@tests/run-tests.sh integration tests/integration/test_*.sh

# tests/integration/test_fuzz_corpus.sh runs every seed corpus once through
# the fuzz targets built here.
check: deps
	@scripts/check-includes.sh
	@$(MAKE) --no-print-directory $(BUILD)/shipyard $(UNIT_BINS) $(FUZZ_BINS)
	@tests/run-tests.sh all $(UNIT_BINS) tests/integration/test_*.sh

fuzz-targets: deps
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

# Each target for FUZZ_SECONDS on a copy of its corpus under build/fuzz/corpus;
# fails when one finds a crash (the input is left in build/fuzz/crashes).
fuzz: fuzz-targets
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_UPDATE_CORPUS=$(FUZZ_UPDATE_CORPUS) \
		tests/fuzz/run.sh fuzz $(FUZZ_BINS)

demo: all
	@scripts/demo.sh

# The crash torture: kill -9 of the service at random points of random
# pipelines, then the invariants (tests/torture/torture.sh; TORTURE_SEED=S
# repeats a run).
TORTURE_N ?= 50

torture: all
	@tests/torture/torture.sh $(TORTURE_N)

BENCH_TOOLS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(filter-out $(BENCH_LIB),$(wildcard bench/*.c)))

bench: all
	@$(MAKE) --no-print-directory $(BENCH_TOOLS)
	@for b in bench/*.sh; do "$$b" || exit 1; done

# `make install PREFIX=/usr/local DESTDIR=`: the binary, the default worker
# manifest where the binary looks for it (SY_DATADIR, compiled into
# cli/cli.c), the example service configuration, the systemd unit (its
# ExecStart pointing at BINDIR) and the man pages made from the docs
# (scripts/make-man.sh).
install: all man
	install -D -m 755 $(BUILD)/shipyard $(DESTDIR)$(BINDIR)/shipyard
	install -D -m 644 config/worker.conf $(DESTDIR)$(DATADIR)/worker.conf
	install -D -m 644 config/shipyard-serve.conf \
		$(DESTDIR)$(DOCDIR)/examples/shipyard-serve.conf
	install -D -m 644 examples/minidistro/shipyard.conf $(DESTDIR)$(DOCDIR)/examples/shipyard.conf
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/bin/shipyard|$(BINDIR)/shipyard|' config/shipyard.service \
		>$(DESTDIR)$(UNITDIR)/shipyard.service
	chmod 644 $(DESTDIR)$(UNITDIR)/shipyard.service
	install -D -m 644 $(BUILD)/man/shipyard.1 $(DESTDIR)$(MANDIR)/man1/shipyard.1
	install -D -m 644 $(BUILD)/man/shipyard.conf.5 $(DESTDIR)$(MANDIR)/man5/shipyard.conf.5
	install -D -m 644 $(BUILD)/man/shipyard-serve.conf.5 \
		$(DESTDIR)$(MANDIR)/man5/shipyard-serve.conf.5

# Man pages from docs/man/<page>.md and the docs they include; every page
# is made again when any Markdown file changes (the includes are not known
# to make).
MAN_PAGES := $(patsubst docs/man/%.md,$(BUILD)/man/%,$(wildcard docs/man/*.md))
man: $(MAN_PAGES)

$(BUILD)/man/%: docs/man/%.md scripts/make-man.sh README.md $(wildcard docs/*.md) \
		config/shipyard-serve.conf examples/minidistro/shipyard.conf
	@mkdir -p $(dir $@)
	$(call say,MAN,$@)
	$(Q)scripts/make-man.sh $< $@

clean:
	rm -rf $(BUILD)
