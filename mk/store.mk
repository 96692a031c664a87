# The image store (libostree) and layer import (libarchive).
SRC += src/store.c src/layer.c
UNIT_TESTS += test-store

# A driver for tests/integration/test-store-umoci.sh: OCI layout -> store.
all: $(BUILD)/tests/store-import

$(BUILD)/tests/store-import: tests/tools/store-import.c $(BUILD)/libohr.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
