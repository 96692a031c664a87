# mk/util.mk: src/util/, the helpers every other folder may use (errors
# and GError conversion, cleanup, strv, byte buffers, files and the tree
# walker, JSON checks, JSON paths in messages and generation, clipped text
# for messages, processes, kernel settings, digests, base64, helper
# executables, the version).  It calls no other folder.
SRC += src/util/error.c src/util/strv.c src/util/fs.c src/util/jsoncheck.c
SRC += src/util/proc.c src/util/digest.c src/util/sha256.c src/util/digest-io.c
SRC += src/util/helper-exe.c
SRC += src/util/walk.c src/util/base64.c
SRC += src/util/clip.c src/util/jsonpath.c src/util/procfs.c
SRC += src/util/gerror.c src/util/buf.c src/util/mountinfo.c
UNIT_TESTS += test-fs test-digest test-walk
UNIT_TESTS += test-error test-jsonpath test-jsoncheck test-procfs
# test-digest #includes run mode's sha256-plain.c (it is not in libohr.a):
# rebuilt when it changes (the test rules link no src/ file given here)
$(BUILD)/tests/test-digest $(ASAN_BUILD)/tests/test-digest: src/util/sha256-plain.c
