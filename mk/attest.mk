# mk/attest.mk: src/attest/, reproducibility attestations.  The run record
# (src/attest/record.c, yajl only) links into the runner; the statements,
# signatures and verification (src/attest/attest.c, libcrypto) live in the helper
# oci-host-runner-attest, which the runner starts with --attest.
#
# The first rule here adds to `all`, so that the default goal stays `all`
# (mk/*.mk are included before the Makefile's own `all:` rule).
all: $(BUILD)/oci-host-runner-attest

SRC += src/attest/record.c src/attest/attest.c
UNIT_TESTS += test-runrecord test-attest

$(BUILD)/oci-host-runner-attest: $(BUILD)/obj/cli/attest-main.o $(BUILD)/libohr.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(BUILD)/obj/cli/attest-main.o $(BUILD)/libohr.a $(PKG_LIBS)

install: install-attest
install-attest: $(BUILD)/oci-host-runner-attest
	install -D -m 755 $(BUILD)/oci-host-runner-attest $(DESTDIR)$(PREFIX)/libexec/oci-host-runner/oci-host-runner-attest

.PHONY: install-attest
