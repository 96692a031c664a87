# mk/cli.mk: src/cli/, the commands and option parsing (run mode in run.c,
# its start-up sweep of runs whose runner died in sweep.c,
# doctor in doctor.c), what the mains share (dispatch.c) and the mains of
# the three binaries (not in SRC).
SRC += src/cli/options.c src/cli/run.c src/cli/sweep.c src/cli/doctor.c \
       src/cli/dispatch.c src/cli/cache-cmd.c src/cli/run-cache.c
UNIT_TESTS += test-options
