#!/usr/bin/env bash
# The real-world corpus (tests/corpus: 46 crates with build scripts from
# Debian's librust-*-dev packages): built through the runner on each
# runtime, every build script's directives and the binary's report must
# equal a native build's.
. "$(dirname "$0")/../lib/libtest.sh"

CORPUS=$TOP/tests/corpus
missing=$(dpkg-query -W -f='${db:Status-Status} ${Package}\n' $(cat "$CORPUS/packages.txt") 2>&1 | grep -v '^installed' || true)
[ -z "$missing" ] || fatal "corpus packages missing (make deps): $missing"
export OCI_HOST_RUNNER_STATE_DIR=$T/state OCI_HOST_RUNNER_CACHE_DIR=$T/cache

# Each build script's directive output, with the target dir made neutral,
# keyed by package (hash suffix dropped).
directives() { # target_dir
  local f pkg
  for f in "$1"/debug/build/*/output; do
    pkg=$(basename "$(dirname "$f")")
    echo "== ${pkg%-*}"
    # only cargo: lines are directives (Cargo ignores the rest, such as
    # Debian's dh-cargo: lines, which name the source path as it is)
    { grep -E '^cargo:' "$f" || true; } | sed -E "s|$1|TARGET|g; s|-[0-9a-f]{16}/|-HASH/|g" | sort
  done | sort_blocks
}
sort_blocks() { awk '/^== /{k=$0; next} {print k "\t" $0}' | sort; }

start=$(date +%s)
cargo_build_native "$CORPUS" "$T/native" || { tail -20 "$T/cargo.out"; fatal "native corpus build failed"; }
native_s=$(($(date +%s) - start))
"$T/native/debug/ohr-corpus" >"$T/native.txt"
check "native corpus report ends with the crate count" assert_file_has "$T/native.txt" "^corpus: [0-9]+ crates ok$"
directives "$T/native" >"$T/native.directives"
n_scripts=$(ls -d "$T"/native/debug/build/*/output | wc -l)
echo "# native: $native_s s, $n_scripts build-script runs"

# The crun build (canonical paths, attested) is kept for the rest of the
# run: test-hermetic compares it, as one of its two checkouts, with a copy
# at another path instead of building the corpus once more.
SHARED_CORPUS=${OHR_TEST_SHARED:+$OHR_TEST_SHARED/corpus-crun}
for rt in $(runtimes); do
  tgt=$T/$rt att=()
  if [ "$rt" = crun ] && [ -n "$SHARED_CORPUS" ]; then
    rm -rf "$SHARED_CORPUS"
    mkdir -p "$SHARED_CORPUS"
    tgt=$SHARED_CORPUS/target att=(--attest "$SHARED_CORPUS/att")
  fi
  start=$(date +%s)
  if cargo_build_runner "$CORPUS" "$tgt" --runtime "$rt" -v "${att[@]}"; then
    ok "$rt: the corpus builds through the runner"
  else
    not_ok "$rt: the corpus builds through the runner"
    grep -E '^(error|warning: .*failed)|Caused by|oci-host-runner' "$T/cargo.out" | head -20 | sed 's/^/# /'
    continue
  fi
  echo "# $rt: $(($(date +%s) - start)) s"
  "$tgt/debug/ohr-corpus" >"$T/$rt.txt"
  check "$rt: the binary's report equals the native build's" diff -u "$T/native.txt" "$T/$rt.txt"
  directives "$tgt" >"$T/$rt.directives"
  check "$rt: every build script printed the same directives as natively" \
    diff -u "$T/native.directives" "$T/$rt.directives"
  ran=$(grep -l "oci-host-runner: runtime $rt" "$tgt"/debug/build/*/stderr | wc -l)
  check "$rt: all $n_scripts build-script runs went through the runner" assert_eq "$n_scripts" "$ran" "contained runs"
  [ ${#att[@]} -eq 0 ] || echo "$CORPUS" >"$SHARED_CORPUS/done"
done
check "no container or bundle left behind" assert_eq 0 "$(leftovers "$T/state")" "leftovers"
finish
