# mk/fuzz.mk: libFuzzer targets for the parsers of untrusted input
# (fuzz/, see fuzz/README.md).

# ---- fuzzing (clang's libFuzzer; Debian: clang, libclang-rt-14-dev)
#
# `make fuzz` runs each target for FUZZ_SECONDS; `make fuzz-smoke` runs
# fuzz-manifest for 10 s.  Neither is part of `make check`.  New inputs go
# to $(FUZZ_BUILD)/corpus/<name>, crashes to $(FUZZ_BUILD)/<target>-*; the
# seeds in fuzz/corpus/<name> are only read.  See fuzz/README.md.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 8192
FUZZ_BUILD   ?= $(BUILD)/fuzz
FUZZ_TARGETS := fuzz-manifest fuzz-config fuzz-imageref fuzz-www-authenticate \
                fuzz-directives fuzz-layer
FUZZ_LIB_SRC := src/image/ref.c src/image/manifest.c src/util/digest.c \
                src/util/error.c src/util/strv.c src/util/clip.c \
                src/util/jsoncheck.c src/registry/www-authenticate.c
# -Wno-format-nonliteral: clang, unlike gcc, flags error.c's vasprintf of
# a va_list format.
FUZZ_CFLAGS  := -std=gnu11 $(WARN) -Wno-format-nonliteral -g -O1 -Isrc \
                $(shell pkg-config --cflags yajl 2>/dev/null) \
                -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_LIBS    := $(shell pkg-config --libs yajl 2>/dev/null)

# which seed corpus and dictionary each target uses: fuzz/corpus/NAME and
# fuzz/NAME.dict for fuzz-NAME, json.dict when there is no NAME.dict
fuzz_name = $(patsubst fuzz-%,%,$(1))
fuzz_dict = $(or $(wildcard fuzz/$(call fuzz_name,$(1)).dict),fuzz/json.dict)

.PHONY: fuzz fuzz-build fuzz-smoke

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)

# a target's own sources, flags and libraries beyond the common ones:
# FUZZ_SRC_NAME, FUZZ_CFLAGS_NAME, FUZZ_LIBS_NAME for fuzz-NAME
FUZZ_SRC_directives    := src/run/directives.c src/run/mounts.c \
                          src/image/rootpath.c src/util/buf.c src/util/fs.c \
                          src/util/walk.c src/util/procfs.c
# overlong lines within -max_len
FUZZ_CFLAGS_directives := -DDIRECTIVE_LINE_MAX=300

FUZZ_SRC_layer        := src/store/layer.c src/util/gerror.c src/util/sha256.c
FUZZ_CFLAGS_layer     := $(shell pkg-config --cflags ostree-1 libarchive 2>/dev/null)
FUZZ_LIBS_layer       := $(shell pkg-config --libs ostree-1 libarchive libcrypto 2>/dev/null)

$(FUZZ_BUILD)/fuzz-%: fuzz/fuzz-%.c $(FUZZ_LIB_SRC) $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_CFLAGS_$*) -o $@ $< $(FUZZ_LIB_SRC) \
	  $(FUZZ_SRC_$*) $(FUZZ_LIBS) $(FUZZ_LIBS_$*)

$(FUZZ_BUILD)/fuzz-directives: $(FUZZ_SRC_directives) fuzz/fuzz-tmpdir.h
$(FUZZ_BUILD)/fuzz-layer: $(FUZZ_SRC_layer) fuzz/fuzz-tmpdir.h

# Run one target: $(call fuzz_run,TARGET,SECONDS)
define fuzz_run
	@mkdir -p $(FUZZ_BUILD)/corpus/$(call fuzz_name,$(1))
	@echo "== $(1) ($(2) s)"
	$(FUZZ_BUILD)/$(1) -max_total_time=$(2) -max_len=$(FUZZ_MAX_LEN) \
	  -print_final_stats=1 -dict=$(call fuzz_dict,$(1)) \
	  -artifact_prefix=$(FUZZ_BUILD)/$(1)- \
	  $(FUZZ_BUILD)/corpus/$(call fuzz_name,$(1)) \
	  fuzz/corpus/$(call fuzz_name,$(1))

endef

fuzz: fuzz-build
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz_run,$(t),$(FUZZ_SECONDS)))

fuzz-smoke: $(FUZZ_BUILD)/fuzz-manifest
	$(call fuzz_run,fuzz-manifest,10)
