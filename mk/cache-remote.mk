# mk/cache-remote.mk: the remote side of src/cache/, the result cache:
# http.c (Bazel's HTTP remote cache protocol on libcurl), sign.c (entry
# signatures and trust), down.c (the "down once per build" marker), and
# the test driver
# tests/integration/test-cache-http.sh runs against a loopback nginx.
# (mk/cache.mk adds the rest of the folder.)
#
# The first rule here adds to `all`, so that the default goal stays `all`
# (mk/*.mk are included before the Makefile's own `all:` rule).
all: $(BUILD)/tests/cache-http

SRC += src/cache/http.c src/cache/sign.c src/cache/down.c src/cache/remote.c
UNIT_TESTS += test-cache-sign test-cache-down test-cache-remote

$(BUILD)/tests/cache-http: tests/tools/cache-http.c $(BUILD)/libohr.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

format: format-cache-remote
format-cache-remote:
	clang-format -i tests/tools/cache-http.c

format-check: format-check-cache-remote
format-check-cache-remote:
	@clang-format --dry-run --Werror tests/tools/cache-http.c

.PHONY: format-cache-remote format-check-cache-remote
