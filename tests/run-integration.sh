#!/usr/bin/env bash
# Run tests/integration/test-*.sh (or the names given), each under a time
# bound; count their TAP "ok"/"not ok" lines and print one summary line
# "N passed, N failed, N skipped" (a "# SKIP" check is never a pass).  A
# test file that dies counts as a failure too, and
# so does one whose TAP plan ("1..N", printed by libtest's finish) is
# missing or does not match the number of "ok" and "not ok" lines: a file
# that stopped early or skipped checks silently must not look green.
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
# What the test files of one run share: images built once (tests/lib/images.sh).
if [ -z "${OHR_TEST_SHARED:-}" ]; then
  OHR_TEST_SHARED=$(mktemp -d /tmp/ohr-shared.XXXXXX)
  trap 'rm -f "$log"; rm -rf "$OHR_TEST_SHARED"' EXIT
else
  trap 'rm -f "$log"' EXIT
fi
export OHR_TEST_SHARED
pass=0 fail=0 skipped=0 failed=()
for n in "${names[@]}"; do
  n=${n%.sh}
  echo "=== $n"
  start=$(date +%s)
  timeout --kill-after=10 "$TIME_LIMIT" bash "./$n.sh" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  sk=$(grep -cE '^ok [0-9]+ # SKIP' "$log")
  p=$(($(grep -c '^ok ' "$log") - sk))
  f=$(grep -c '^not ok ' "$log")
  plans=$(sed -n 's/^1\.\.\([0-9][0-9]*\)\([[:space:]].*\)\{0,1\}$/\1/p' "$log")
  why=
  case $(printf '%s' "$plans" | grep -c .) in
  0) why="no TAP plan (1..N): the file stopped before libtest's finish" ;;
  1) [ "$plans" -eq $((p + sk + f)) ] ||
    why="the plan says 1..$plans but $((p + sk + f)) tests ran ($p ok, $sk skipped, $f not ok)" ;;
  *) why="several TAP plans: $(printf '%s' "$plans" | tr '\n' ' ')" ;;
  esac
  if [ -n "$why" ]; then
    echo "=== $n: plan mismatch: $why"
    f=$((f + 1))
  elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
  fi
  pass=$((pass + p))
  fail=$((fail + f))
  skipped=$((skipped + sk))
  [ "$f" -gt 0 ] && failed+=("$n")
  echo "=== $n: $p passed, $f failed, $sk skipped, exit $rc ($(($(date +%s) - start))s)"
done
[ ${#failed[@]} -gt 0 ] && echo "failed files: ${failed[*]}"
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
