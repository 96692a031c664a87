# mk/doctor.mk: src/doctor/, `oci-host-runner doctor`: probes and the pure
# evaluation the unit test drives (the command is src/cli/doctor.c).
# It lives in the runner binary: plain file reads and a few forks, no
# libostree or libcurl.
SRC += src/doctor/doctor.c
UNIT_TESTS += test-doctor
