# mk/store.mk: src/store/, the image store (libostree), layer import
# (libarchive) and pulls into it; only the store helper links them.
SRC += src/store/store.c src/store/layer.c src/store/pull.c
UNIT_TESTS += test-store

# A driver for tests/integration/test-store-umoci.sh: OCI layout -> store.
all: $(BUILD)/tests/store-import

$(BUILD)/tests/store-import: tests/tools/store-import.c $(BUILD)/libohr.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
