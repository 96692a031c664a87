# mk/policy.mk: src/policy/, the per-package execution policy (policy.json)
# and the Cargo version requirements its rules match with.
SRC += src/policy/policy.c src/policy/digest.c src/policy/semver.c
UNIT_TESTS += test-policy test-semver
