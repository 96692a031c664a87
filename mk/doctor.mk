# mk/doctor.mk: src/doctor/, `oci-host-runner doctor`: the probes
# (probe.c, and namespaces.c for those that fork and unshare), the pure
# parsers of what they read (parse.c), the pure evaluation the unit test
# drives (evaluate.c), the report (report.c) and --cargo's probe of
# Cargo's configuration (cargo.c, a throwaway build); the command is
# src/cli/doctor.c.  It lives in the runner binary: plain file reads and a
# few forks, no libostree or libcurl.
SRC += src/doctor/probe.c src/doctor/namespaces.c src/doctor/parse.c
SRC += src/doctor/evaluate.c src/doctor/report.c src/doctor/cargo.c
UNIT_TESTS += test-doctor
