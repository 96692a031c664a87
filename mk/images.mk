# mk/images.mk: the pinned build images of images/ (see images/README.md).

# The Makefile defines `all` after including mk/*.mk: keep it the default.
.DEFAULT_GOAL := all

IMAGES ?= minimal cc sys

.PHONY: images images-check images-check-quick images-lock images-resolve

# OCI layouts in images/out/NAME (downloads the pinned .debs once into
# $XDG_CACHE_HOME/oci-host-runner/debs).
images:
	@set -e; for i in $(IMAGES); do images/build $$i >/dev/null; done

# lock.json against the definitions and against fresh builds (slow: builds
# every image); images-check-quick compares the definitions only.
images-check:
	images/check-lock $(IMAGES)

images-check-quick:
	images/check-lock --quick $(IMAGES)

# After editing images/NAME/* or images/lib: record the new digests.
images-lock:
	images/update-lock $(IMAGES)

# Re-pin packages.lock and Containerfile to apt's current lists, then lock.
images-resolve:
	images/resolve $(IMAGES)
	images/update-lock $(IMAGES)
