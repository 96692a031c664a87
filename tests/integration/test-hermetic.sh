#!/usr/bin/env bash
# Path-independent runs (--paths canonical): Cargo sees host paths in
# directives, generated files embedding container paths are caught, and
# two checkouts at different absolute paths give byte-identical OUT_DIRs.
. "$(dirname "$0")/../lib/libtest.sh"

export OCI_HOST_RUNNER_STATE_DIR=$T/state OCI_HOST_RUNNER_CACHE_DIR=$T/cache
EX=$TOP/examples
BINS="codegen cffi links-consumer cfgprobe"
outputs() { local b; for b in $BINS; do "$1/debug/$b"; done; }
cargo_build_native "$EX" "$T/native" || fatal "native build failed"
outputs "$T/native" >"$T/native.txt"

for rt in $(runtimes); do
  tgt=$T/canon-$rt
  if cargo_build_runner "$EX" "$tgt" --runtime "$rt" --paths canonical -v; then
    ok "$rt: examples build with canonical paths"
  else
    not_ok "$rt: examples build with canonical paths"; tail -15 "$T/cargo.out" | sed 's/^/# /'
    continue
  fi
  outputs "$tgt" >"$T/$rt.txt"
  check "$rt: same output as native" diff -u "$T/native.txt" "$T/$rt.txt"
  check "$rt: link-search mapped back to the host OUT_DIR" \
    assert_file_has "$(ls "$tgt"/debug/build/cffi-*/output | head -1)" "^cargo:rustc-link-search=native=$tgt/debug/build/cffi-[0-9a-f]+/out$"
  check "$rt: metadata (DEP_*_INCLUDE) mapped back" \
    assert_file_has "$(ls "$tgt"/debug/build/links-provider-*/output | head -1)" "^cargo:include=$tgt/debug/build/links-provider-[0-9a-f]+/out/include$"
  check "$rt: no container path reached Cargo" \
    bash -c "! grep -l '/cargo/' $tgt/debug/build/*/output"
done

# A script that writes its container OUT_DIR into generated Rust.
cp -r "$TOP/tests/fixtures/crates" "$T/crates"
if cargo_build_runner "$T/crates/leak-path" "$T/leak" --paths canonical; then
  not_ok "canonical: a generated include! of the container OUT_DIR fails the build"
else
  ok "canonical: a generated include! of the container OUT_DIR fails the build"
fi
check "canonical: the error names the OUT_DIR, file:line and the identity-paths rule" \
  assert_file_has "$T/cargo.out" "wrote the container path '/cargo/target/debug/build/ohr-fixture-leak-path-[0-9a-f]+/out' into OUT_DIR/generated.rs:2, .*\\{\"package\":\"ohr-fixture-leak-path\",\"source\":\"path\",\"paths\":\"identity\"\\}"
cat >"$T/policy.json" <<'JSON'
{ "version": 1, "defaults": { "paths": "canonical" },
  "packages": [ { "package": "ohr-fixture-leak-path", "source": "path", "paths": "identity" } ] }
JSON
chmod 644 "$T/policy.json"
cargo_build_runner "$T/crates/leak-path" "$T/leak2" --policy "$T/policy.json" \
  && ok "the suggested policy rule makes it build" || not_ok "the suggested policy rule makes it build"
check "... and it runs" assert_eq "leak-path: value=42" "$("$T/leak2/debug/ohr-fixture-leak-path" 2>&1)" "output"

# A script that walks up from OUT_DIR as cbindgen 0.24.3's does
# (OUT_DIR/../../.., three parent().unwrap()): the canonical OUT_DIR has
# Cargo's depth, /cargo/target/debug/build/<pkg>-<hash>/out, so it runs,
# finds at each level what natively it finds (the next level down), and
# writes the same OUT_DIR/walk.rs as natively; the host path of the target
# dir it hands on (rustc-env) reaches Cargo as natively.  The reference is
# a build with the same -Z flags (they enter Cargo's metadata hash).
WALK=$T/crates/walk-up
# WALK_CARGS: more cargo arguments (--target); WALK_SUB: the profile's
# directory below the target dir (<triple>/debug with --target)
WALK_CARGS= WALK_SUB=debug
walk_build() { # target_dir [runner args...]: no args: without the runner
  local tgt=$1
  shift
  if [ $# -eq 0 ]; then
    cargo_env
    # shellcheck disable=SC2086
    (cd "$WALK" && cargo build --offline $WALK_CARGS -Zhost-config -Ztarget-applies-to-host \
      --target-dir "$tgt") >"$T/cargo.out" 2>&1
  else
    cargo_build_runner_args "$WALK" "$tgt" "$WALK_CARGS" "$@"
  fi
}
walk_out() { # target_dir: its walk-up OUT_DIR
  local o=("$1/$WALK_SUB"/build/ohr-fixture-walk-up-*/out)
  echo "${o[0]}"
}
walk_run() { # target_dir: what the program prints, the target dir as TGT
  "$1/$WALK_SUB/ohr-fixture-walk-up" | sed "s|$1/|TGT/|"
}
walk_build "$T/walk-native" || { tail -15 "$T/cargo.out" | sed 's/^/# /'; fatal "native build of walk-up failed"; }
walk_run "$T/walk-native" >"$T/walk-native.txt"
grep -qx 'bin=TGT/debug/ohr-fixture-walk-up' "$T/walk-native.txt" \
  || fatal "walk-up's native build is not what the test expects: $(cat "$T/walk-native.txt")"
for rt in $(runtimes); do
  for mode in canonical identity; do
    tgt=$T/walk-$rt-$mode
    if walk_build "$tgt" --runtime "$rt" --paths "$mode" -v; then
      ok "$rt $mode: a script walking up OUT_DIR/../../.. builds"
    else
      not_ok "$rt $mode: a script walking up OUT_DIR/../../.. builds"
      tail -15 "$T/cargo.out" | sed 's/^/# /'
      continue
    fi
    check "$rt $mode: ... in a container" ran_in_container "$tgt" ohr-fixture-walk-up "$rt"
    check "$rt $mode: ... its OUT_DIR/walk.rs is byte for byte the native one" \
      cmp "$(walk_out "$T/walk-native")/walk.rs" "$(walk_out "$tgt")/walk.rs"
    check "$rt $mode: ... the program prints what the native one prints (the host's target dir)" \
      diff -u "$T/walk-native.txt" <(walk_run "$tgt")
  done
  check "$rt canonical: walk-up saw OUT_DIR at Cargo's depth below /cargo/target" \
    assert_file_has "$(dirname "$(walk_out "$T/walk-$rt-canonical")")/stderr" \
    '^walk-up: OUT_DIR=/cargo/target/debug/build/ohr-fixture-walk-up-[0-9a-f]+/out$'
done
# ... and byte-identical from a checkout at another path: the <pkg>-<hash>
# directory is Cargo's metadata hash, which hashes a workspace member's
# path relative to the workspace root
WALK_B=$T/walk-b/somewhere/much/deeper
mkdir -p "$WALK_B"
cp -r "$TOP/tests/fixtures/crates" "$WALK_B/crates"
rt=$(runtimes | sed -n 1p)
WALK=$WALK_B/crates/walk-up
if walk_build "$T/walk-b-$rt" --runtime "$rt" --paths canonical; then
  check "$rt canonical: walk-up's OUT_DIR is byte-identical across checkouts" \
    diff -r "$(walk_out "$T/walk-$rt-canonical")" "$(walk_out "$T/walk-b-$rt")"
  check "$rt canonical: ... in the same <pkg>-<hash> directory" assert_eq \
    "$(basename "$(dirname "$(walk_out "$T/walk-$rt-canonical")")")" \
    "$(basename "$(dirname "$(walk_out "$T/walk-b-$rt")")")" "directory"
else
  not_ok "$rt canonical: walk-up builds in a second checkout"
  tail -15 "$T/cargo.out" | sed 's/^/# /'
fi
WALK=$T/crates/walk-up
# A cross build (--target, the host's triple: Cargo puts the units under
# <target>/<triple>/): the canonical OUT_DIR keeps the <triple> directory.
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
WALK_CARGS="--target $TRIPLE" WALK_SUB=$TRIPLE/debug
walk_build "$T/walkx-native" || { tail -15 "$T/cargo.out" | sed 's/^/# /'; fatal "native cross build of walk-up failed"; }
walk_run "$T/walkx-native" >"$T/walkx-native.txt"
for rt in $(runtimes); do
  tgt=$T/walkx-$rt
  if ! walk_build "$tgt" --runtime "$rt" --paths canonical -v; then
    not_ok "$rt canonical: walk-up builds with --target $TRIPLE"
    tail -15 "$T/cargo.out" | sed 's/^/# /'
    continue
  fi
  check "$rt canonical --target: OUT_DIR below /cargo/target/$TRIPLE/debug/build" \
    assert_file_has "$(dirname "$(walk_out "$tgt")")/stderr" \
    "^walk-up: OUT_DIR=/cargo/target/$TRIPLE/debug/build/ohr-fixture-walk-up-[0-9a-f]+/out\$"
  check "$rt canonical --target: ... its OUT_DIR/walk.rs is byte for byte the native one" \
    cmp "$(walk_out "$T/walkx-native")/walk.rs" "$(walk_out "$tgt")/walk.rs"
  walk_run "$tgt" >"$T/walkx-$rt.txt"
  check "$rt canonical --target: ... the program prints what the native one prints" \
    diff -u "$T/walkx-native.txt" "$T/walkx-$rt.txt"
done
WALK_CARGS= WALK_SUB=debug

# A directive naming a host path outside every mount: a warning; an error
# under a strict policy.
printf '#!/bin/sh\necho cargo:rustc-link-search=native=/root/private/lib\necho cargo:rustc-link-search=native=/usr/lib/x86_64-linux-gnu\n' >"$T/d.sh"
fake_cargo_context "$T/ctx" "$T/d.sh"
(cd "$T/ctx/pkg" && "$OHR" --paths canonical "$SCRIPT" >"$T/out" 2>"$T/err") && rc=0 || rc=$?
check "outside path: reported as a warning, run succeeds" \
  bash -c "[ $rc -eq 0 ] && grep -q \"warning: .*'rustc-link-search' names '/root/private/lib'\" '$T/err' && ! grep -q '/usr/lib/x86_64' '$T/err'"
printf '{ "version": 1, "strict": true }\n' >"$T/strict.json"
chmod 644 "$T/strict.json"
(cd "$T/ctx/pkg" && "$OHR" --paths canonical --policy "$T/strict.json" "$SCRIPT" >"$T/out" 2>"$T/err") && rc=0 || rc=$?
check "outside path: an error (124) under a strict policy" \
  bash -c "[ $rc -eq 124 ] && grep -q 'strict policy' '$T/err'"

# Reproducibility: the same sources at two different absolute paths.
mkdir -p "$T/a" "$T/b/somewhere/much/deeper"
for d in "$T/a" "$T/b/somewhere/much/deeper"; do
  cp -r "$EX" "$d/examples"
  cp -r "$TOP/tests/corpus" "$d/corpus"
  rm -rf "$d/examples/target" "$d/corpus/target"
done
# OUT_DIR trees keyed by package (the hash in the directory name depends
# on the path of path dependencies), content compared byte for byte.
tree_sums() { # target_dir
  local o
  for o in "$1"/debug/build/*/out; do
    local pkg
    pkg=$(basename "$(dirname "$o")")
    (cd "$o" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum | sed "s|^|${pkg%-*} |")
  done | sort
}
# REPRO_A=TARGET:ATTEST: side a is a build made before (test-corpus's,
# canonical and attested, from the checkout in the tree) instead of a copy
repro() { # mode project [cargo args...]   (REPRO_ATTEST=1: also --attest)
  local mode=$1 p=$2 side
  shift 2
  for side in a b/somewhere/much/deeper; do
    if [ "$side" = a ] && [ -n "${REPRO_A:-}" ]; then
      tree_sums "${REPRO_A%%:*}" >"$T/sums-$mode-$p-a"
      continue
    fi
    local att=()
    [ "${REPRO_ATTEST:-0}" = 1 ] && att=(--attest "$T/att-$p-${side%%/*}")
    cargo_build_runner_args "$T/$side/$p" "$T/$side/$p/target-$mode" "$*" --paths "$mode" "${att[@]}" \
      || { tail -5 "$T/cargo.out"; return 1; }
    tree_sums "$T/$side/$p/target-$mode" >"$T/sums-$mode-$p-${side%%/*}"
  done
  diff "$T/sums-$mode-$p-a" "$T/sums-$mode-$p-b" >"$T/diff-$mode-$p" || true
}
repro canonical examples
check "examples: OUT_DIRs byte-identical across checkouts (canonical)" \
  bash -c "[ ! -s '$T/diff-canonical-examples' ] && [ -s '$T/sums-canonical-examples-a' ]"
# The cc crate compiles with -g in debug builds: the object's DW_AT_comp_dir
# is the package root, which differs between checkouts unless canonical.
repro identity corpus -p ohr-ccdep
check "ccdep: with identity paths its objects differ (the test can fail)" \
  bash -c "grep -q '^[<>] ohr-ccdep .*\.o$' '$T/diff-identity-corpus'"
ATT_A=$T/att-corpus-a REPRO_A=
SHARED_CORPUS=${OHR_TEST_SHARED:+$OHR_TEST_SHARED/corpus-crun}
if [ -n "$SHARED_CORPUS" ] && [ -f "$SHARED_CORPUS/done" ]; then
  REPRO_A=$SHARED_CORPUS/target:$SHARED_CORPUS/att ATT_A=$SHARED_CORPUS/att
  echo "# checkout a: test-corpus's canonical, attested crun build of $(cat "$SHARED_CORPUS/done")"
fi
REPRO_A=$REPRO_A REPRO_ATTEST=1 repro canonical corpus
if [ -s "$T/diff-canonical-corpus" ]; then
  not_ok "corpus: OUT_DIRs byte-identical across checkouts (canonical)"
  grep '^[<>]' "$T/diff-canonical-corpus" | awk '{print "#   " $1, $2, $4}' | sort -u | head -20
else
  ok "corpus: OUT_DIRs byte-identical across checkouts (canonical)"
fi
check "corpus: ccdep's C objects are among the compared files" \
  bash -c "grep -q '^ohr-ccdep .*\\.o$' '$T/sums-canonical-corpus-a'"

# The two builds' attestations: every build script's subjects (OUT_DIR
# files and directive stream) must be identical; any that differ are named.
subjects() { # attest dir -> "package@version name digest" lines
  /usr/bin/python3 - "$1" <<'PY'
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.intoto.json")):
    st = json.load(open(f))
    pkg = st["predicate"]["buildDefinition"]["externalParameters"]["package"]
    for sub in st["subject"]:
        print("%s@%s %s %s" % (pkg["name"], pkg["version"], sub["name"], sub["digest"]["sha256"]))
PY
}
subjects "$ATT_A" | sort >"$T/subjects-a"
subjects "$T/att-corpus-b" | sort >"$T/subjects-b"
n_st=$(ls "$ATT_A"/*.intoto.json 2>/dev/null | wc -l)
check "corpus: one statement per build-script run ($n_st)" test "$n_st" -ge 50
if diff "$T/subjects-a" "$T/subjects-b" >"$T/subjects.diff"; then
  ok "corpus: attested subjects identical for every build script across checkouts"
else
  not_ok "corpus: attested subjects identical for every build script across checkouts"
  grep '^[<>]' "$T/subjects.diff" | awk '{print "#   not reproducible: " $2, $3}' | sort -u | head -20
fi
finish
