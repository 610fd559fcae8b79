# shipyard: one binary, one library of stages, cmocka unit tests, integration
# tests that drive the real binary.  `make demo` and `make check` install what
# is missing first (scripts/deps.sh).

CC ?= gcc
BUILD := build
PKGS := libgit2 rpm libsolv libsolvext jansson libarchive libcurl sqlite3 \
	libmicrohttpd openssl glib-2.0

# The stage directories in data-flow order: each may include only the headers
# of those before it (scripts/check-includes.sh, run by `make check`).
STAGES := common state sandbox gitwatch forge planner builder repo-publish imager pipeline server cli
LIB_SRCS := $(filter-out cli/main.c,$(wildcard $(addsuffix /*.c,$(STAGES))))
HDRS := $(wildcard $(addsuffix /*.h,$(STAGES)))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)

-include $(BUILD)/config.mk

WARN := -Wall -Wextra -Werror -Wno-missing-field-initializers
BASE_CFLAGS := -std=gnu11 $(WARN) -g -I. $(PKG_CFLAGS)
LDLIBS := $(PKG_LIBS) -lrpmbuild -lcreaterepo_c -lpthread
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(LIB_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps demo check unit integration torture bench clean install

all: deps
	@$(MAKE) --no-print-directory $(BUILD)/shipyard

deps:
	@scripts/deps.sh

$(BUILD)/config.mk: scripts/deps.sh
	@scripts/deps.sh
	@mkdir -p $(BUILD)
	@{ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS))"; \
	   echo "PKG_LIBS := $$(pkg-config --libs $(PKGS))"; } > $@.tmp && mv $@.tmp $@

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
	$(Q)$(CC) $(BASE_CFLAGS) -O1 $(SAN) $< $(BUILD)/libshipyard-san.a $(LDLIBS) -lcmocka -o $@

# Benchmark tools (bench/<name>.c -> build/bench/<name>).
$(BUILD)/bench/%: bench/%.c $(BUILD)/libshipyard.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -O2 $< $(BUILD)/libshipyard.a $(LDLIBS) -lm -o $@

export SHIPYARD_WORKER_CACHE ?= $(CURDIR)/$(BUILD)/worker-cache

unit: deps
	@$(MAKE) --no-print-directory $(UNIT_BINS)
	@tests/run-tests.sh unit $(UNIT_BINS)

integration: all
	@tests/run-tests.sh integration tests/integration/test_*.sh

check: deps
	@scripts/check-includes.sh
	@$(MAKE) --no-print-directory $(BUILD)/shipyard $(UNIT_BINS)
	@tests/run-tests.sh all $(UNIT_BINS) tests/integration/test_*.sh

demo: all
	@scripts/demo.sh

# The crash torture: kill -9 of the service at random points of random
# pipelines, then the invariants (tests/torture/torture.sh; TORTURE_SEED=S
# repeats a run).
TORTURE_N ?= 50

torture: all
	@tests/torture/torture.sh $(TORTURE_N)

BENCH_TOOLS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

bench: all
	@$(MAKE) --no-print-directory $(BENCH_TOOLS)
	@for b in bench/*.sh; do "$$b" || exit 1; done

install: all
	install -D -m 755 $(BUILD)/shipyard $(DESTDIR)/usr/local/bin/shipyard

clean:
	rm -rf $(BUILD)
