# mk/runtime.mk: src/runtime/, crun and runc behind one interface
# (runtime.h; select.c the pure choice of runtime that run mode and doctor
# share), the user-namespace mapping and what the host offers (cgroup
# mode).
SRC += src/runtime/runtime.c src/runtime/select.c src/runtime/crun.c
SRC += src/runtime/runc.c src/runtime/userns.c src/runtime/hostinfo.c
SRC += src/runtime/cgprime.c src/runtime/memcg.c
UNIT_TESTS += test-hostinfo test-runtime-select test-cgprime test-memcg test-runtime-run
