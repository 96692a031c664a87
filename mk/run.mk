# mk/run.mk: src/run/, what one build-script run assembles and checks: the
# Cargo context, the container view (mounts, environment, canonical paths),
# the toolchain, the jobserver, the OCI spec and bundle, OCI hooks, the
# directive mapping and the after-run checks of OUT_DIR.
SRC += src/run/context.c src/run/view.c src/run/mounts.c src/run/spec.c
SRC += src/run/bundle.c src/run/directives.c src/run/outcheck.c src/run/outreach.c
SRC += src/run/envfilter.c src/run/jobserver.c src/run/toolchain.c src/run/hooks.c src/run/pkgsource.c
SRC += src/run/limits.c src/run/wsview.c src/run/seccomp.c src/run/seccomp-bpf.c src/run/idshift.c src/run/idmap.c
UNIT_TESTS += test-context test-envfilter test-spec test-jobserver test-mounts
UNIT_TESTS += test-outcheck test-directives test-hooks
UNIT_TESTS += test-toolchain test-view test-bundle test-limits test-pkgsource test-wsview
UNIT_TESTS += test-seccomp test-seccomp-bpf test-idshift test-idmap
