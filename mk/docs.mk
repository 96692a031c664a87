# mk/docs.mk: the manual page and the documentation checks (docs/).
#
# The manual page is written in markdown, docs/oci-host-runner.1.md, and
# generated with go-md2man (Debian: go-md2man), as crun and podman do:
# `make man` writes $(BUILD)/oci-host-runner.1, `make install` installs it
# in $(PREFIX)/share/man/man1.  `make docs-check` (part of `make check`)
# runs docs/check-docs: groff renders the page without a warning, the page
# names every option `oci-host-runner --help` prints, and every relative
# link of the READMEs and docs/*.md resolves.

GO_MD2MAN ?= go-md2man
MAN_PAGE  := $(BUILD)/oci-host-runner.1
# The pages whose links are checked: the top-level README, docs/, and the
# folder READMEs they send readers to.
DOCS_MD   := README.md $(sort $(wildcard docs/*.md)) bench/README.md \
             hooks/README.md images/README.md fuzz/README.md

man: $(MAN_PAGE)

$(MAN_PAGE): docs/oci-host-runner.1.md
	@mkdir -p $(dir $@)
	@command -v $(GO_MD2MAN) >/dev/null || { \
	  echo "$(GO_MD2MAN) not found: run 'make deps' (Debian: go-md2man)" >&2; \
	  exit 1; }
	$(GO_MD2MAN) -in $< -out $@

docs-check: $(MAN_PAGE) $(BUILD)/oci-host-runner
	@docs/check-docs man $(MAN_PAGE) $(BUILD)/oci-host-runner
	@docs/check-docs links $(DOCS_MD)

install: install-man
install-man: $(MAN_PAGE)
	install -D -m 644 $(MAN_PAGE) $(DESTDIR)$(PREFIX)/share/man/man1/oci-host-runner.1

.PHONY: install-man
