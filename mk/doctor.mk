# mk/doctor.mk: `oci-host-runner doctor` (src/doctor.c: probes and the
# pure evaluation the unit test drives; src/cmd-doctor.c: the command).
# It lives in the runner binary: plain file reads and a few forks, no
# libostree or libcurl.
SRC += src/doctor.c src/cmd-doctor.c
UNIT_TESTS += test-doctor
