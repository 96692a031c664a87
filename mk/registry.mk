# mk/registry.mk: src/registry/, the OCI distribution client on libcurl
# (registry.c the API, transport.c HTTP, auth.c and credentials.c
# authentication, www-authenticate.c the challenge parser), and its test
# driver for tests/integration/test-registry.sh.  Only the store helper
# links it.
#
# The first rule here adds to `all`, so that the default goal stays `all`
# (mk/*.mk are included before the Makefile's own `all:` rule).
all: $(BUILD)/tests/registry-fetch

SRC += src/registry/registry.c src/registry/transport.c src/registry/auth.c
SRC += src/registry/credentials.c src/registry/www-authenticate.c
UNIT_TESTS += test-registry-auth

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
