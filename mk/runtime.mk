# mk/runtime.mk: src/runtime/, crun and runc behind one interface
# (runtime.h), the user-namespace mapping and what the host offers
# (cgroup mode).
SRC += src/runtime/runtime.c src/runtime/crun.c src/runtime/runc.c
SRC += src/runtime/userns.c src/runtime/hostinfo.c
UNIT_TESTS += test-hostinfo
