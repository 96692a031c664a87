# Per-package execution policy (policy.json) and the Cargo version
# requirements its rules match with.
SRC += src/policy.c src/policy-digest.c src/semver.c
UNIT_TESTS += test-policy test-semver
