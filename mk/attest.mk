# mk/attest.mk: reproducibility attestations.  The run record
# (src/runrecord.c, yajl only) links into the runner; the statements,
# signatures and verification (src/attest.c, libcrypto) live in the helper
# oci-host-runner-attest, which the runner starts with --attest.
#
# The first rule here adds to `all`, so that the default goal stays `all`
# (mk/*.mk are included before the Makefile's own `all:` rule).
all: $(BUILD)/oci-host-runner-attest

SRC += src/runrecord.c src/attest.c
UNIT_TESTS += test-runrecord test-attest

$(BUILD)/oci-host-runner-attest: $(BUILD)/obj/attest-main.o $(BUILD)/libohr.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(BUILD)/obj/attest-main.o $(BUILD)/libohr.a $(PKG_LIBS)

install: install-attest
install-attest: $(BUILD)/oci-host-runner-attest
	install -D -m 755 $(BUILD)/oci-host-runner-attest $(DESTDIR)$(PREFIX)/libexec/oci-host-runner/oci-host-runner-attest

format: format-attest
format-attest:
	clang-format -i src/attest-main.c

format-check: format-check-attest
format-check-attest:
	@clang-format --dry-run --Werror src/attest-main.c

.PHONY: install-attest format-attest format-check-attest
