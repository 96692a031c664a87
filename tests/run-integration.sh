#!/usr/bin/env bash
# Run tests/integration/test-*.sh (or the names given), each under a time
# bound; count their TAP "ok"/"not ok" lines and print one summary line
# "N passed, N failed".  A test file that dies counts as a failure too.
set -u
cd "$(dirname "$0")/integration" || exit 1
: "${OHR:?set OHR}"
export OHR
TIME_LIMIT=${OHR_TEST_TIMEOUT:-1200}
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in test-*.sh; do names+=("${f%.sh}"); done
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pass=0 fail=0 failed=()
for n in "${names[@]}"; do
  n=${n%.sh}
  echo "=== $n"
  start=$(date +%s)
  timeout --kill-after=10 "$TIME_LIMIT" bash "./$n.sh" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(grep -c '^ok ' "$log")
  f=$(grep -c '^not ok ' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  pass=$((pass + p))
  fail=$((fail + f))
  [ "$f" -gt 0 ] && failed+=("$n")
  echo "=== $n: $p passed, $f failed, exit $rc ($(($(date +%s) - start))s)"
done
[ ${#failed[@]} -gt 0 ] && echo "failed files: ${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
