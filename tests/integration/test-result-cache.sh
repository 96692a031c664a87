#!/usr/bin/env bash
# The build-script result cache (issue 13; docs/cache.md) with real cargo,
# runc and crun, as root: tests/fixtures/cache built clean in checkout A
# (every cacheable script missed and stored), then clean in checkout B at
# another path (every script a hit: OUT_DIRs and the program byte-identical
# to A's, the replayed directives mapped to B's paths, stderr replayed);
# a changed source file, a variable given with --env and a changed
# dependency's OUT_DIR each make the scripts that see them run again (a
# path package sees its whole workspace, so all of it is in its key).
# By hand (the runner called as Cargo would): a failing script and a
# script whose OUT_DIR is not empty at start are never cached; network
# host and identity paths are not either; --result-cache off does not ask.
# `cache stats`, `cache rm KEY` and `cache gc --max-size`.  Eight runs of
# one script at once on one store; a store on a full file system.
# A registry crate's script with RUSTFLAGS=--remap-path-prefix=<checkout>=..
# hits in B too (the checkout is /cargo/workspace in its values), and its
# directives come back with the host path.
# Rootless too: A then B by an unprivileged user, on both runtimes.
# A cacheable run sees of the build directory only the OUT_DIRs its DEP_*
# variables name: what its key covers.  A rustup toolchain is keyed by its
# identity: the same at another path, another when a file of it changes.
. "$(dirname "$0")/../lib/libtest.sh"
. "$(dirname "$0")/../lib/result-cache.sh"

export XDG_RUNTIME_DIR=$T/run OCI_HOST_RUNNER_STATE_DIR=$T/state
mkdir -p "$XDG_RUNTIME_DIR"

# cargo build in checkout DIR (its own target/), runner options after it;
# the paths of the checkout are remapped so that the program's bytes do
# not depend on where the checkout lives.
build() { # dir runner-args...
  local dir=$1
  shift
  RUSTFLAGS="--remap-path-prefix=$dir=/ws" cargo_build_runner "$dir" "$dir/target" "$@"
}

for rt in $(runtimes); do
  export OCI_HOST_RUNNER_CACHE_DIR=$T/$rt-cache
  A=$T/$rt-a
  B=$T/$rt-checkout-b-elsewhere
  checkout "$A"
  checkout "$B"
  if build "$A" --runtime "$rt" --result-cache local -v; then
    ok "$rt: checkout A builds through the runner with the cache"
  else
    not_ok "$rt: checkout A builds through the runner with the cache"
    tail -20 "$T/cargo.out" | sed 's/^/# /'
    continue
  fi
  check "$rt: A's scripts ran in a container" ran_in_container "$A/target" gen "$rt"
  for p in gen depsys; do
    check "$rt: A: $p missed and was stored" expect_cache "$A" "$p" '^miss [0-9a-f]{12} \(stored\)$'
  done
  check "$rt: A: gen's script printed to stderr" assert_file_has "$(ls "$A"/target/debug/build/gen-*/stderr)" '^gen build script ran$'

  if build "$B" --runtime "$rt" --result-cache local -v; then
    ok "$rt: checkout B (another path) builds"
  else
    not_ok "$rt: checkout B (another path) builds"
    tail -20 "$T/cargo.out" | sed 's/^/# /'
    continue
  fi
  for p in gen depsys; do
    check "$rt: B: $p is a hit of A's key" expect_cache "$B" "$p" "^hit $(cache_line "$A" "$p" | cut -d' ' -f2) \\(saved [0-9.]+ s\\)$"
  done
  out_snapshot "$A/target" >"$T/a.snap"
  out_snapshot "$B/target" >"$T/b.snap"
  check "$rt: B's OUT_DIRs are A's, byte for byte (files, modes, symlinks)" diff -u "$T/a.snap" "$T/b.snap"
  check "$rt: ... and not empty" assert_file_has "$T/b.snap" '^gen lib/link l 777 sub/blob.bin -$'
  check "$rt: ... the executable kept its mode" assert_file_has "$T/b.snap" '^gen lib/tool.sh f 750 '
  check "$rt: the program is A's, byte for byte" cmp "$A/target/debug/app" "$B/target/debug/app"
  check "$rt: ... and prints what the build scripts generated" \
    bash -c "'$B/target/debug/app' | grep -qx 'data one | #define DEPSYS 1 |  | from-build-script'"
  gen_out=$(ls "$B"/target/debug/build/gen-*/output)
  check "$rt: the replayed directive names B's OUT_DIR" \
    assert_file_has "$gen_out" "^cargo:rustc-link-search=native=$B/target/debug/build/gen-[0-9a-f]+/out/lib\$"
  check "$rt: ... never A's" assert_file_lacks "$gen_out" "$A"
  check "$rt: the hit replayed the script's stderr" \
    assert_file_has "$(ls "$B"/target/debug/build/gen-*/stderr)" '^gen build script ran$'
  check "$rt: a restored file is a copy, not a link into the store" \
    bash -c "[ \$(stat -c %h '$B'/target/debug/build/gen-*/out/lib/sub/blob.bin) = 1 ]"

  # invalidation: each in a fresh checkout, built clean
  C=$T/$rt-c-source
  checkout "$C"
  echo "data two" >"$C/gen/data.txt"
  if build "$C" --runtime "$rt" --result-cache local -v; then
    check "$rt: a changed source file: gen runs again" expect_cache "$C" gen '^miss .* \(stored\)$'
    # depsys sees the whole workspace, read-only (its view): that is
    # what its key covers, so it runs again too
    check "$rt: ... and depsys, which sees the workspace, too" expect_cache "$C" depsys '^miss .* \(stored\)$'
    check "$rt: ... and the program has the new data" \
      bash -c "'$C/target/debug/app' | grep -q '^data two |'"
  else
    not_ok "$rt: a changed source file: the build"
    tail -20 "$T/cargo.out" | sed 's/^/# /'
  fi
  C=$T/$rt-c-env
  checkout "$C"
  if build "$C" --runtime "$rt" --result-cache local -v --env CACHE_TEST_EXTRA=extra; then
    check "$rt: a variable given with --env: gen runs again" expect_cache "$C" gen '^miss .* \(stored\)$'
    check "$rt: ... and sees it" bash -c "'$C/target/debug/app' | grep -q '| extra |'"
  else
    not_ok "$rt: --env: the build"
    tail -20 "$T/cargo.out" | sed 's/^/# /'
  fi
  C=$T/$rt-c-dep
  checkout "$C"
  echo '#define DEPSYS 2' >"$C/depsys/depsys.h"
  if build "$C" --runtime "$rt" --result-cache local -v; then
    check "$rt: a changed dependency: depsys runs again" expect_cache "$C" depsys '^miss .* \(stored\)$'
    check "$rt: ... and gen, which reads its OUT_DIR, too" expect_cache "$C" gen '^miss .* \(stored\)$'
    check "$rt: ... and the program has the new header" \
      bash -c "'$C/target/debug/app' | grep -q '| #define DEPSYS 2 |'"
  else
    not_ok "$rt: a changed dependency: the build"
    tail -20 "$T/cargo.out" | sed 's/^/# /'
  fi
done

# ---- a registry crate's script, RUSTFLAGS=--remap-path-prefix=<checkout>=/ws
# (tests/fixtures/cache-registry): the checkout is named /cargo/workspace in
# its values (it sees only its own directory, at /cargo/src), so checkout B
# hits A's key; flagprobe's warning comes back with B's path.  A target
# directory that is not <checkout>/target names no workspace: the value
# keeps the host path and the script misses (what every registry crate did
# before).
[ -d /usr/share/cargo/registry/crunchy-0.2.2 ] ||
  fatal "crate crunchy 0.2.2 missing from /usr/share/cargo/registry (make deps: librust-crunchy-dev)"
for rt in $(runtimes); do
  export OCI_HOST_RUNNER_CACHE_DIR=$T/$rt-reg-cache
  A=$T/$rt-reg-a
  B=$T/$rt-reg-checkout-b-elsewhere
  reg_checkout "$A"
  reg_checkout "$B"
  if ! build "$A" --runtime "$rt" --result-cache local -v || ! build "$B" --runtime "$rt" --result-cache local -v; then
    not_ok "$rt: registry crates: checkouts A and B build"
    tail -20 "$T/cargo.out" | sed 's/^/# /'
    continue
  fi
  for p in crunchy flagprobe; do
    check "$rt: registry: A: $p missed and was stored" expect_cache "$A" "$p" '^miss [0-9a-f]{12} \(stored\)$'
    check "$rt: registry: B: $p is a hit of A's key" expect_cache "$B" "$p" "^hit $(cache_line "$A" "$p" | cut -d' ' -f2) "
  done
  check "$rt: registry: -v names the checkout's place in values" \
    assert_file_has "$(ls "$B"/target/debug/build/crunchy-*/stderr)" "^oci-host-runner: values: '$B' named /cargo/workspace \(not mounted\)\$"
  check "$rt: registry: the script saw the checkout as /cargo/workspace" \
    assert_file_has "$(ls "$A"/target/debug/build/flagprobe-*/out/flags.txt)" '^--remap-path-prefix=/cargo/workspace=/ws$'
  check "$rt: registry: its warning reached Cargo with A's path" \
    assert_file_has "$(ls "$A"/target/debug/build/flagprobe-*/output)" "^cargo::warning=rustflags --remap-path-prefix=$A=/ws\$"
  flag_out=$(ls "$B"/target/debug/build/flagprobe-*/output)
  check "$rt: registry: ... and, replayed, with B's" \
    assert_file_has "$flag_out" "^cargo::warning=rustflags --remap-path-prefix=$B=/ws\$"
  check "$rt: registry: ... never A's" assert_file_lacks "$flag_out" "$A"
  C=$T/$rt-reg-c-out
  reg_checkout "$C"
  if RUSTFLAGS="--remap-path-prefix=$C=/ws" cargo_build_runner "$C" "$C/out" --runtime "$rt" --result-cache local -v; then
    line=$(sed -n 's/^oci-host-runner: result-cache: //p' "$C"/out/debug/build/crunchy-*/stderr)
    if [[ "$line" =~ ^miss\ [0-9a-f]{12}\ \(stored\)$ ]]; then
      ok "$rt: registry: target dir $C/out: crunchy misses (the value keeps the host path)"
    else
      not_ok "$rt: registry: target dir $C/out: crunchy misses (the value keeps the host path)"
      echo "# got '$line'"
    fi
    check "$rt: registry: ... and -v says the workspace is unknown" \
      assert_file_has "$(ls "$C"/out/debug/build/crunchy-*/stderr)" '^oci-host-runner: values: the workspace is unknown'
  else
    not_ok "$rt: registry: a target dir that is not <checkout>/target: the build"
    tail -20 "$T/cargo.out" | sed 's/^/# /'
  fi
done

# ---- by hand: what is never cached
export OCI_HOST_RUNNER_CACHE_DIR=$T/hand-cache
RT=$(runtimes | sed -n 1p)
cat >"$T/fail.sh" <<'SH'
#!/bin/sh
echo "failing run" >&2
echo "partial" >"$OUT_DIR/partial"
exit 3
SH
fake_cargo_context "$T/fail" "$T/fail.sh"
run() { rc=0; (cd "$CARGO_MANIFEST_DIR" && "$OHR" --runtime "$RT" --result-cache local -v "$@") >"$T/out" 2>"$T/err" || rc=$?; }
run "$SCRIPT"
check "a failing script exits with its status" assert_eq 3 "$rc" "exit code"
check "... and is not stored" assert_file_has "$T/err" 'result-cache: miss [0-9a-f]{12} \(not stored: exit status 3\)$'
rm -f "$OUT_DIR/partial"
run "$SCRIPT"
check "... so the same run misses again" assert_file_has "$T/err" 'result-cache: miss [0-9a-f]{12} \(not stored: exit status 3\)$'
check "... and ran again" assert_file_has "$T/err" '^failing run$'

cat >"$T/ok.sh" <<'SH'
#!/bin/sh
echo "ran" >&2
echo "cargo:rustc-env=X=1"
ls "$OUT_DIR" | sed 's/^/saw /' >&2
echo new >"$OUT_DIR/new"
SH
fake_cargo_context "$T/ok" "$T/ok.sh"
echo earlier >"$OUT_DIR/earlier"
run "$SCRIPT"
check "OUT_DIR not empty at start: the script runs" assert_file_has "$T/err" '^saw earlier$'
check "... uncached, and -v says why" assert_file_has "$T/err" 'result-cache: off \(OUT_DIR was not empty at start\)$'
rm -f "$OUT_DIR"/*
run "$SCRIPT"
check "the same script over an empty OUT_DIR is stored" assert_file_has "$T/err" 'result-cache: miss [0-9a-f]{12} \(stored\)$'
rm -f "$OUT_DIR"/*
run "$SCRIPT"
check "... and then a hit, which restores OUT_DIR" \
  bash -c "grep -q 'result-cache: hit ' '$T/err' && [ \"\$(cat '$OUT_DIR/new')\" = new ]"
check "... and replays stdout" assert_file_has "$T/out" '^cargo:rustc-env=X=1$'
"$OHR" cache stats >"$T/stats" 2>&1 || true
check "cache stats counts the result, the hit and the time saved" \
  bash -c "grep -qx 'entries: 1' '$T/stats' && grep -qx 'hits: 1' '$T/stats' && grep -q '^time saved: ' '$T/stats'"
KEY=$(sed -n 's/.*result-cache: hit \([0-9a-f]*\) .*/\1/p' "$T/err")
# the hit index (src/cache/index.h): a hit needs no store helper at all
IDX=$OCI_HOST_RUNNER_CACHE_DIR/results-index
check "the stored result has a hit index" bash -c "[ \$(ls '$IDX' | wc -l) -eq 1 ]"
rm -f "$OUT_DIR"/*
OCI_HOST_RUNNER_STORE=/nonexistent run "$SCRIPT"
check "... which restores a hit without the store helper" \
  bash -c "grep -q 'result-cache: hit ' '$T/err' && [ \"\$(cat '$OUT_DIR/new')\" = new ] && grep -qx 'cargo:rustc-env=X=1' '$T/out'"
rm -f "$OUT_DIR"/*
OCI_HOST_RUNNER_STATE_DIR=$T/no-state run "$SCRIPT"
check "... before any container set-up: no state directory, no bundle made" \
  bash -c "grep -q 'result-cache: hit ' '$T/err' && [ \"\$(cat '$OUT_DIR/new')\" = new ] && [ ! -e '$T/no-state' ]"
cp "$IDX"/* "$T/index.orig"
sed -i 's/^f \([0-7]*\) \([0-9a-f]*\) [0-9]* /f \1 \2 999 /' "$IDX"/*
rm -f "$OUT_DIR"/*
run "$SCRIPT"
check "an index that does not match the repo: still a hit, through the store helper" \
  bash -c "grep -q 'result-cache: hit ' '$T/err' && [ \"\$(cat '$OUT_DIR/new')\" = new ] && [ \$(ls '$OUT_DIR' | wc -l) -eq 1 ] && ! grep -q notice '$T/err'"
cp "$T/index.orig" "$IDX/$(basename "$(ls "$IDX"/*)")"
rc=0
"$OHR" cache rm "$KEY" >"$T/rm" 2>&1 || rc=$?
check "cache rm KEY12 removes it" bash -c "[ $rc -eq 0 ] && grep -q '^removed $KEY' '$T/rm'"
check "... and its hit index" bash -c "[ -z \"\$(ls '$IDX')\" ]"
rm -f "$OUT_DIR"/*
run "$SCRIPT"
check "... so the next run misses, and is stored again" assert_file_has "$T/err" "result-cache: miss $KEY \\(stored\\)$"
# The memo of file digests: a shard per tree a key walks, read only by
# the runs that walk it; a hit brings the shards it read back to now, and
# cache gc removes those no run has read for 30 days (and an earlier
# version's single-file memo).
MEMO=$OCI_HOST_RUNNER_CACHE_DIR/results-memo.d
# (that a run reads only its own trees' shards: tests/unit/test-key.c)
check "the memo is kept in shard files in results-memo.d, not in one file" \
  bash -c "[ -n \"\$(ls '$MEMO')\" ] && [ ! -e '$OCI_HOST_RUNNER_CACHE_DIR/results-memo' ]"
shards=$(ls "$MEMO" | wc -l)
printf '1 2 3 4 5 %064d /gone/file\n' 0 >"$MEMO/0000000000000000"
touch -d '40 days ago' "$MEMO"/*
echo old >"$OCI_HOST_RUNNER_CACHE_DIR/results-memo"
rm -f "$OUT_DIR"/*
run "$SCRIPT"
check "a hit reads its trees' shards and keeps them" \
  bash -c "grep -q 'result-cache: hit ' '$T/err' && [ -n \"\$(find '$MEMO' -type f -newermt '1 day ago')\" ]"
rc=0
"$OHR" cache gc --max-size 0 >"$T/gc" 2>&1 || rc=$?
check "cache gc --max-size 0 removes every result" \
  bash -c "[ $rc -eq 0 ] && grep -q '^removed 1 results' '$T/gc' && '$OHR' cache stats | grep -qx 'entries: 0'"
check "... and the memo shards no run read for 30 days, and the old memo" \
  bash -c "grep -qx 'removed [0-9]* memo files unused for 30 days' '$T/gc' && [ ! -e '$MEMO/0000000000000000' ] && [ ! -e '$OCI_HOST_RUNNER_CACHE_DIR/results-memo' ] && [ -n \"\$(ls '$MEMO')\" ] && [ \$(ls '$MEMO' | wc -l) -le $shards ]"
check "... and every hit index" bash -c "[ -z \"\$(ls '$IDX')\" ]"
rc=0
"$OHR" cache rm 0123456789ab >"$T/rm" 2>&1 || rc=$?
check "cache rm of an unknown key: usage error 121, one line" \
  bash -c "[ $rc -eq 121 ] && grep -q \"no result '0123456789ab'\" '$T/rm'"
rm -f "$OUT_DIR"/*
run --network host "$SCRIPT"
check "network host is not cached" assert_file_has "$T/err" 'result-cache: off \(network host\)$'
rm -f "$OUT_DIR"/*
run --paths identity "$SCRIPT"
check "identity paths are not cached" assert_file_has "$T/err" 'result-cache: off \(identity paths\)$'
rm -f "$OUT_DIR"/*
run --result-cache auto "$SCRIPT"
check "auto: the host image is not cached" \
  assert_file_has "$T/err" 'result-cache: off \(the host image is cached only with --result-cache local\)$'
rm -f "$OUT_DIR"/*
run --result-cache off "$SCRIPT"
check "--result-cache off: the script runs" assert_file_has "$T/err" '^ran$'
check "... and -v says so" assert_file_has "$T/err" 'result-cache: off \(--result-cache off\)$'
# the view is what the key covers: of the build directory, a cacheable
# run sees only the OUT_DIRs its DEP_* variables name
cat >"$T/look.sh" <<'SH'
#!/bin/sh
find /cargo/target -mindepth 1 | sort | sed 's/^/sees /' >&2
echo "library path: $LD_LIBRARY_PATH" >&2
SH
fake_cargo_context "$T/look" "$T/look.sh"
B=$T/look/target/debug/build
mkdir -p "$B/dep-3333/out/include" "$B/other-2222/out"
echo x >"$B/dep-3333/out/include/dep.h"
echo y >"$B/other-2222/out/unrelated"
export DEP_DEP_INCLUDE=$B/dep-3333/out/include
# as Cargo sets it: the profile directory and its deps/, then the toolchain
export LD_LIBRARY_PATH=$T/look/target/debug:$T/look/target/debug/deps:/usr/lib/extra
run "$SCRIPT"
check "... and no host path of the checkout in LD_LIBRARY_PATH (not mounted)" \
  assert_file_has "$T/err" '^library path: /usr/lib/extra$'
check "a cacheable run sees the OUT_DIR a DEP_* variable names" \
  assert_file_has "$T/err" '^sees /cargo/target/debug/build/dep-3333/out/include/dep.h$'
check "... and nothing else of the build directory" assert_file_lacks "$T/err" 'other-2222|pkg-1111'
rm -f "$OUT_DIR"/*
run --result-cache off "$SCRIPT"
check "an uncached run sees the whole build directory, as before" \
  assert_file_has "$T/err" '^sees /cargo/target/debug/build/other-2222/out/unrelated$'
check "... which keeps Cargo's LD_LIBRARY_PATH as it was" \
  assert_file_has "$T/err" "^library path: $T/look/target/debug:"
unset DEP_DEP_INCLUDE LD_LIBRARY_PATH
check "no bundle or container left behind" assert_eq 0 "$(leftovers "$OCI_HOST_RUNNER_STATE_DIR")" "leftovers"

# ---- a rustup toolchain enters the key by its identity (toolchain-id.h):
# copies of the real one (its rustc and rustup's manifests, mtimes kept)
# at two paths give one key; a file changed in a copy, or a copy without
# rustup's components list (hashed file by file), another
SYSROOT=$(rustc --print sysroot)
tc_copy() { # dir
  mkdir -p "$1/bin" "$1/lib/rustlib"
  cp -a "$SYSROOT/bin/rustc" "$1/bin/"
  cp -a "$SYSROOT/lib/rustlib/multirust-channel-manifest.toml" \
    "$SYSROOT/lib/rustlib/components" "$SYSROOT"/lib/rustlib/manifest-* "$1/lib/rustlib/"
}
tc_run() { # toolchain: run ok.sh over an empty OUT_DIR; $T/key its key
  rm -rf "${OUT_DIR:?}"/*
  RUSTC=$1/bin/rustc
  export RUSTC
  run "$SCRIPT"
  unset RUSTC
  sed -n 's/.*result-cache: \(hit\|miss\) \([0-9a-f]*\) .*/\2/p' "$T/err" >"$T/key"
}
tc_copy "$T/tc-one"
tc_copy "$T/tc/elsewhere"
fake_cargo_context "$T/tcid" "$T/ok.sh"
tc_run "$T/tc-one"
k1=$(cat "$T/key")
check "a rustup toolchain's copy: a miss, stored" assert_file_has "$T/err" 'result-cache: miss [0-9a-f]{12} \(stored\)$'
tc_run "$T/tc/elsewhere"
check "the same toolchain at another path: a hit" assert_file_has "$T/err" 'result-cache: hit [0-9a-f]{12} '
check "... of the same key" assert_eq "$k1" "$(cat "$T/key")" "key"
printf x >>"$T/tc/elsewhere/bin/rustc"
tc_run "$T/tc/elsewhere"
check "a file of the copy changed: a miss" assert_file_has "$T/err" 'result-cache: miss [0-9a-f]{12} \(stored\)$'
check "... of another key" bash -c "[ -s '$T/key' ] && [ \"\$(cat '$T/key')\" != '$k1' ]"
rm "$T/tc-one/lib/rustlib/components"
tc_run "$T/tc-one"
check "not a rustup toolchain (no components list): a miss" assert_file_has "$T/err" 'result-cache: miss [0-9a-f]{12} \(stored\)$'
check "... of another key" bash -c "[ -s '$T/key' ] && [ \"\$(cat '$T/key')\" != '$k1' ]"
k4=$(cat "$T/key")
printf x >>"$T/tc-one/bin/rustc"
touch -r "$SYSROOT/bin/rustc" "$T/tc-one/bin/rustc"
tc_run "$T/tc-one"
check "... whose files are hashed: a change with the mtime put back is another key" \
  bash -c "[ -s '$T/key' ] && [ \"\$(cat '$T/key')\" != '$k4' ]"

# ---- faults: eight runs of one script at once on one store; a store on a
# full file system
par_checkouts 8 /dev/zero
export OCI_HOST_RUNNER_CACHE_DIR=$T/par-cache
pids=()
for i in 1 2 3 4 5 6 7 8; do
  d=$T/par$i
  (cd "$d/pkg" && OUT_DIR=$d/target/debug/build/pkg-0000/out CARGO_MANIFEST_DIR=$d/pkg \
    "$OHR" --runtime "$RT" --result-cache local -v "$d/target/debug/build/pkg-1111/build-script-build" \
    >"$d/out" 2>"$d/err") &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
check "eight runs at once on one store all succeed" assert_eq 0 "$failed" "failed runs"
check "... each OUT_DIR complete, each stdout replayed or printed" par_complete 1 2 3 4 5 6 7 8
check "... and no notice of a store failure" bash -c "! grep -h 'notice: result cache' $T/par*/err"
rc=0
"$OHR" cache stats >"$T/stats" 2>&1 || rc=$?
check "... one result in the store" bash -c "[ $rc -eq 0 ] && grep -qx 'entries: 1' '$T/stats'"

if mkdir -p "$T/full" && mount -t tmpfs -o size=256k tmpfs "$T/full" 2>/dev/null; then
  at_exit "umount '$T/full'"
  # the result store (the image store) there, the prepared images not
  export OCI_HOST_RUNNER_STORE_DIR=$T/full OCI_HOST_RUNNER_CACHE_DIR=$T/par-cache
  head -c 200000 /dev/zero >"$T/full/filler" || true
  fake_cargo_context "$T/fullrun" "$T/par.sh"
  run "$SCRIPT"
  check "a store on a full file system: the build script still succeeds" assert_eq 0 "$rc" "exit code"
  check "... with its OUT_DIR" bash -c "[ \"\$(cat '$OUT_DIR/mark')\" = done ]"
  check "... and a notice, not an error" assert_file_has "$T/err" 'notice: result cache: '
  unset OCI_HOST_RUNNER_STORE_DIR
else
  skip "a store on a full file system: cannot mount a tmpfs here"
fi

# ---- rootless: the same A/B builds by an unprivileged user (a bare-user
# ostree repo in the user's cache; the toolchain under /root bound where
# the user can reach it, as test-rootless does)
if [ "$(id -u)" -ne 0 ]; then
  skip "rootless: needs root to create the test user"
  finish
  exit
fi
rootless_prepare
for rt in $(runtimes); do
  rootless_script "$rt" "$T/u/cache-$rt" --runtime "$rt" --result-cache local -v
  if as_test_user "$SYSROOT" "$T/u/build-$rt.sh"; then
    ok "$rt rootless: checkouts A and B build with the cache"
  else
    not_ok "$rt rootless: checkouts A and B build with the cache"
    tail -15 "$T/cargo.out" | sed 's/^/# /'
    continue
  fi
  check "$rt rootless: A's scripts ran in a rootless container" \
    assert_file_has "$T/u/$rt-a.runtime" "runtime $rt .*rootless"
  check "$rt rootless: A's two scripts were stored" \
    assert_eq 2 "$(grep -c '^miss [0-9a-f]* (stored)$' "$T/u/$rt-a.cache")" "stored results"
  check "$rt rootless: B's two scripts were hits" \
    assert_eq 2 "$(grep -c '^hit ' "$T/u/$rt-checkout-b.cache")" "hits"
  check "$rt rootless: B's OUT_DIRs are A's, byte for byte" \
    diff -u "$T/u/$rt-a.snap" "$T/u/$rt-checkout-b.snap"
  check "$rt rootless: ... and not empty" assert_file_has "$T/u/$rt-checkout-b.snap" '^gen lib/tool.sh f 750 '
done

finish
