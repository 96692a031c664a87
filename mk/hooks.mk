# mk/hooks.mk: the OCI hooks shipped in hooks/ (read by src/run/hooks.c,
# see hooks/README.md) and the test driver of tests/integration/test-hooks.sh.
#
# The first rule here adds to `all`, so that the default goal stays `all`
# (mk/*.mk are included before the Makefile's own `all:` rule).
all: $(BUILD)/tests/hooks-spec


# Puts selected hooks and annotations into a kept bundle's config.json,
# until the runner does it itself.
$(BUILD)/tests/hooks-spec: tests/tools/hooks-spec.c $(BUILD)/libohr.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

format: format-hooks
format-hooks:
	clang-format -i tests/tools/hooks-spec.c

format-check: format-check-hooks
format-check-hooks:
	@clang-format --dry-run --Werror tests/tools/hooks-spec.c

# Installed: the programs in libexec, the JSON files in the runner's own
# hooks directory with "path" made absolute (in the tree they are relative
# to hooks/, an extension of oci-hooks(5) the runner understands; the
# installed files are plain oci-hooks(5) that podman could read too).
HOOKS_PROGRAMS := ohr-outdir-digest
HOOKS_DATADIR  := $(PREFIX)/share/oci-host-runner/hooks.d
HOOKS_LIBEXEC  := $(PREFIX)/libexec/oci-host-runner/hooks

install: install-hooks
install-hooks:
	@set -e; for h in $(HOOKS_PROGRAMS); do \
	  install -D -m 755 hooks/$$h $(DESTDIR)$(HOOKS_LIBEXEC)/$$h; \
	  install -d -m 755 $(DESTDIR)$(HOOKS_DATADIR); \
	  sed 's|"path": "'$$h'"|"path": "$(HOOKS_LIBEXEC)/'$$h'"|' hooks/$$h.json \
	    >$(DESTDIR)$(HOOKS_DATADIR)/$$h.json; \
	  chmod 644 $(DESTDIR)$(HOOKS_DATADIR)/$$h.json; \
	  grep -q '"path": "/' $(DESTDIR)$(HOOKS_DATADIR)/$$h.json || \
	    { echo "install-hooks: hooks/$$h.json: \"path\" not rewritten" >&2; exit 1; }; \
	done

.PHONY: format-hooks format-check-hooks install-hooks
