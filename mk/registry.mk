# mk/registry.mk: src/registry/, the OCI registry client, and its test driver for
# tests/integration/test-registry.sh.
#
# The first rule here adds to `all`, so that the default goal stays `all`
# (mk/*.mk are included before the Makefile's own `all:` rule).
all: $(BUILD)/tests/registry-fetch

SRC += src/registry/registry.c

$(BUILD)/tests/registry-fetch: tests/tools/registry-fetch.c $(BUILD)/libohr.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

format: format-registry
format-registry:
	clang-format -i tests/tools/registry-fetch.c

format-check: format-check-registry
format-check-registry:
	@clang-format --dry-run --Werror tests/tools/registry-fetch.c

.PHONY: format-registry format-check-registry
