# mk/attest.mk: src/attest/, reproducibility attestations.  The run record
# (src/attest/record.c, yajl only) links into the runner; the statements,
# signatures and verification (the other files, libcrypto) live in the helper
# oci-host-runner-attest, which the runner starts with --attest.
#
# The first rule here adds to `all`, so that the default goal stays `all`
# (mk/*.mk are included before the Makefile's own `all:` rule).
all: $(BUILD)/oci-host-runner-attest

SRC += src/attest/record.c
SRC += src/attest/canonical.c src/attest/tree.c src/attest/probe.c
SRC += src/attest/statement.c src/attest/parse.c src/attest/keys.c
SRC += src/attest/dsse.c src/attest/diff.c src/attest/bundle.c
SRC += src/attest/rerun.c src/attest/deps.c
UNIT_TESTS += test-runrecord test-attest

$(BUILD)/oci-host-runner-attest: $(BUILD)/obj/cli/attest-main.o $(BUILD)/libohr.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(BUILD)/obj/cli/attest-main.o $(BUILD)/libohr.a $(PKG_LIBS)

install: install-attest
install-attest: $(BUILD)/oci-host-runner-attest
	install -D -m 755 $(BUILD)/oci-host-runner-attest $(DESTDIR)$(PREFIX)/libexec/oci-host-runner/oci-host-runner-attest

.PHONY: install-attest
