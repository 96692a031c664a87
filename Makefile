# oci-host-runner: one Makefile, SRC lists, a static library shared by the
# CLI and the unit tests (crun's libcrun_testing pattern).

CC       ?= cc
PKGS     := yajl libcurl ostree-1 libarchive libcrypto
TEST_PKGS := cmocka
BUILD    ?= build
ASAN_BUILD ?= build-asan
PREFIX   ?= /usr/local

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
           -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -Isrc $(PKG_CFLAGS) \
             -D_FORTIFY_SOURCE=2 -fstack-protector-strong
# libostree and libcurl are resolved by pkg-config for the whole project;
# --as-needed keeps run mode (the hot path) from loading what it never calls.
ALL_LDFLAGS = -Wl,--as-needed $(LDFLAGS)

# Each folder of src/ adds its SRC and UNIT_TESTS in mk/<folder>.mk (the
# mains, src/cli/*-main.c and src/cli/main.c, are not in SRC: everything
# else is the static library libohr.a that the binaries and every unit test
# link); mk/ also has the targets for images/, hooks/, fuzz/ and
# `make container`.
-include $(sort $(wildcard mk/*.mk))

OBJ       = $(SRC:src/%.c=$(BUILD)/obj/%.o)
ASAN_OBJ  = $(SRC:src/%.c=$(ASAN_BUILD)/obj/%.o)
HEADERS  := $(wildcard src/*/*.h)
MAINS    := src/cli/main.c src/cli/store-main.c src/cli/attest-main.c

.PHONY: all check check-fresh unit unit-asan integration format format-check deps \
        demo bench clean install check-pkgs corpus corpus-wide man docs-check

all: check-pkgs $(BUILD)/oci-host-runner $(BUILD)/ohr-init \
     $(BUILD)/oci-host-runner-store

check-pkgs:
	@pkg-config --exists $(PKGS) || { \
	  echo "missing development packages: run 'make deps' (needs root)" >&2; \
	  pkg-config --print-errors --exists $(PKGS); exit 1; }

$(BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The archive is made anew, and also whenever its list of objects changes:
# ar keeps members it is not given, so a source removed or renamed would
# otherwise stay in it and clash at link time.
%/libohr.objs: FORCE
	@mkdir -p $(dir $@)
	@echo '$(sort $(filter $*/%,$(OBJ) $(ASAN_OBJ)))' | cmp -s - $@ || \
	  echo '$(sort $(filter $*/%,$(OBJ) $(ASAN_OBJ)))' >$@

$(BUILD)/libohr.a: $(OBJ) $(BUILD)/libohr.objs
	rm -f $@ && ar rcs $@ $(OBJ)

# Run mode keys a run to find a hit (src/cli/run-cache.h): with
# sha256-plain.c, not libcrypto, whose start-up cost more than a lookup.
$(BUILD)/oci-host-runner: $(BUILD)/obj/cli/main.o \
    $(BUILD)/obj/util/sha256-plain.o $(BUILD)/libohr.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The store helper: the only binary that links libostree and libcurl.
$(BUILD)/oci-host-runner-store: $(BUILD)/obj/cli/store-main.o $(BUILD)/libohr.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)


# Static: it runs inside images whatever their libc (see src/init/).
$(BUILD)/ohr-init: src/init/ohr-init.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -static -o $@ $<

# ---- unit tests (cmocka), plain and under ASan+UBSan

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libohr.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) $(ALL_LDFLAGS) -o $@ $(filter-out src/%,$^) $(PKG_LIBS) $(TEST_LIBS)

SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

$(ASAN_BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) -c $< -o $@

$(ASAN_BUILD)/libohr.a: $(ASAN_OBJ) $(ASAN_BUILD)/libohr.objs
	rm -f $@ && ar rcs $@ $(ASAN_OBJ)

.PHONY: FORCE

$(ASAN_BUILD)/tests/%: tests/unit/%.c $(ASAN_BUILD)/libohr.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) $(TEST_CFLAGS) -o $@ $(filter-out src/%,$^) $(PKG_LIBS) $(TEST_LIBS)

unit: $(UNIT_TESTS:%=$(BUILD)/tests/%)
	@set -e; for t in $^; do echo "== $$t"; $$t; done

unit-asan: $(UNIT_TESTS:%=$(ASAN_BUILD)/tests/%)
	@set -e; for t in $^; do echo "== $$t (asan+ubsan)"; \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 $$t; done

# ---- integration tests: real cargo, real crun and runc

integration: all
	OHR=$(abspath $(BUILD)/oci-host-runner) tests/run-integration.sh $(TESTS)

# the slow real-world corpus (also part of check)
corpus: all
	OHR=$(abspath $(BUILD)/oci-host-runner) tests/run-integration.sh test-corpus

# the wide corpus: every Debian librust-*-dev crate with a build.rs
# (tests/corpus-wide; hours, not in check). CORPUS_WIDE_ARGS='--every 4'
# runs every 4th crate of the list.
corpus-wide: all
	tests/corpus-wide/corpus-wide install
	OHR=$(abspath $(BUILD)/oci-host-runner) nice -n 19 \
	  tests/corpus-wide/corpus-wide run $(CORPUS_WIDE_ARGS)

# deps first, in its own make: pkg-config flags are read when make starts.
# The builds and unit tests use every core (output kept per target), then
# the integration tests run one file at a time.
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
check: deps
	$(MAKE) -j$(CHECK_JOBS) --output-sync=target all format-check docs-check unit unit-asan
	$(MAKE) integration

# What CI does on a new machine: a clean clone of HEAD, empty caches, make check.
check-fresh:
	@tools/check-fresh

format:
	clang-format -i $(SRC) $(MAINS) src/init/ohr-init.c $(HEADERS) tests/unit/*.c tests/unit/*.h

format-check:
	@clang-format --dry-run --Werror $(SRC) $(MAINS) src/init/ohr-init.c \
	  $(HEADERS) tests/unit/*.c tests/unit/*.h && echo "format: ok"

# ---- set-up, demo, benchmark

deps:
	@tools/install-deps

demo: deps
	$(MAKE) all
	OHR=$(abspath $(BUILD)/oci-host-runner) tools/demo

bench: all
	OHR=$(abspath $(BUILD)/oci-host-runner) bench/invoke
	OHR=$(abspath $(BUILD)/oci-host-runner) bench/pull

install: all
	install -D -m 755 $(BUILD)/oci-host-runner $(DESTDIR)$(PREFIX)/bin/oci-host-runner
	install -D -m 755 $(BUILD)/ohr-init $(DESTDIR)$(PREFIX)/libexec/oci-host-runner/ohr-init
	install -D -m 755 $(BUILD)/oci-host-runner-store $(DESTDIR)$(PREFIX)/libexec/oci-host-runner/oci-host-runner-store

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
