# mk/util.mk: src/util/, the helpers every other folder may use (errors,
# cleanup, strv, files and the tree walker, JSON checks and generation,
# processes, digests, helper executables, the version).  It calls no other
# folder.
SRC += src/util/error.c src/util/strv.c src/util/fs.c src/util/jsoncheck.c
SRC += src/util/proc.c src/util/digest.c src/util/sha256.c src/util/helper-exe.c
UNIT_TESTS += test-fs test-digest
