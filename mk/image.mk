# mk/image.mk: src/image/, images as run mode sees them: references,
# manifests and configs, OCI layouts, the catalogue of prepared images, the
# embedded host image, the glibc check and paths resolved inside an image
# (rootpath.c).  No libostree or libcurl: the store helper (src/store/)
# fills what run mode reads.
SRC += src/image/image.c src/image/host.c src/image/oci.c src/image/ref.c
SRC += src/image/manifest.c src/image/oci-layout.c src/image/catalog.c src/image/elfcheck.c
SRC += src/image/rootpath.c
UNIT_TESTS += test-imageref test-manifest test-elfcheck
