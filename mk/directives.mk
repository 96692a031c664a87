# Directive mapping: container paths in a build script's stdout back to
# host paths (src/directives.c), with its unit test.
SRC += src/directives.c
UNIT_TESTS += test-directives
