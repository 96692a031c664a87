# mk/cache.mk: src/cache/, the build-script result cache: the protobuf
# wire format and the REAPI messages, the action key, the local store of
# results and what run mode asks of it.
SRC += src/cache/proto.c src/cache/reapi.c src/cache/memo.c src/cache/merkle.c
SRC += src/cache/request.c src/cache/key.c src/cache/decide.c src/cache/plan.c
SRC += src/cache/local.c src/cache/maint.c src/cache/index.c
SRC += src/cache/toolchain-id.c
UNIT_TESTS += test-proto test-reapi test-key test-decide test-cache-index
UNIT_TESTS += test-toolchain-id
