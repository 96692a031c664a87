#!/usr/bin/env bash
# The result cache end to end (issue 13, item 8; docs/cache.md), real cargo
# on runc and crun.
#
# Invalidation, on the fixture workspace (tests/fixtures/cache) in a pinned
# image (an OCI layout made here, `--result-cache auto`), one local store a
# runtime: checkout A is built clean, then clean checkouts that differ from
# it in one thing each.  Its scripts print a timestamp, so "ran again" is
# proven by a new timestamp and "hit" by A's replayed one, besides the -v
# line.  Each of these runs the scripts again: another pinned image,
# another toolchain (a copy with one file changed), another policy setting
# for the package (only that package), a changed file in a directory the
# policy mounts for it, another build-script binary (the same source,
# build scripts optimised).  test-result-cache covers a
# changed source file, --env and a changed dependency OUT_DIR.  And each
# of these must still hit, as the script cannot see them: another checkout
# path, a changed file beside the checkout (outside the package and any
# mount), another .git (hidden by the workspace view), another -j
# (NUM_JOBS and the jobserver), the same toolchain copied to another path.
#
# Through nginx: tests/corpus built clean in checkout A with an empty local
# store, uploading signed results to a real nginx (WebDAV PUT,
# tests/lib/nginx-cache.sh); then clean in checkout B at another path with
# another empty local store, trusting the key: every cacheable script of A
# is a remote hit and B misses none; the binary and every OUT_DIR byte are
# A's.  A is built with crun, B with runc (the key names no runtime, so
# this also proves a result of one runtime serves the other), and again by
# an unprivileged user with crun and an empty store of its own (rootless).
. "$(dirname "$0")/../lib/libtest.sh"
. "$(dirname "$0")/../lib/result-cache.sh"
. "$(dirname "$0")/../lib/nginx-cache.sh"

export XDG_RUNTIME_DIR=$T/run OCI_HOST_RUNNER_STATE_DIR=$T/state
mkdir -p "$XDG_RUNTIME_DIR"
ATTEST=$(dirname "$OHR")/oci-host-runner-attest

# ---- invalidation

# Two pinned images that differ: base, and big (base and 1 MiB of random
# bytes in a third layer).
python3 "$TOP/tests/lib/make-test-image.py" "$T/layout" 1
layout_digest() { # name
  python3 -c 'import json, sys
for m in json.load(open(sys.argv[1] + "/index.json"))["manifests"]:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]:
        print(m["digest"])' "$T/layout" "$1"
}
IMG1=oci:$T/layout@$(layout_digest base)
IMG2=oci:$T/layout@$(layout_digest big)
[ "$IMG1" != "$IMG2" ] || fatal "the two test images have one digest"

# The same toolchain at another path (hard links: nothing is written to
# ~/.rustup), and a copy of it whose rustc has one byte more (a copy, the
# original is not touched): another toolchain identity that compiles
# exactly as the first.  Their cargo is run directly, not through rustup's
# proxy, which puts the toolchain's lib/ first in LD_LIBRARY_PATH (Cargo
# passes it on to build scripts, which see it): with_toolchain does that
# too, so that the scripts see the same variables as A's.
SYSROOT=$(rustc --print sysroot)
cp -al "$SYSROOT" "$T/tc-same"
cp -al "$SYSROOT" "$T/tc-changed"
rm "$T/tc-changed/bin/rustc"
cp "$SYSROOT/bin/rustc" "$T/tc-changed/bin/rustc"
printf '\0' >>"$T/tc-changed/bin/rustc"

with_toolchain() { # dir command...
  local tc=$1
  shift
  PATH=$tc/bin:$PATH LD_LIBRARY_PATH=$tc/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$@"
}

# Policies: A's (no rule), and one whose rule for gen changes a setting
# (memory) and mounts a directory, which depsys does not get.
printf '{"version": 1}\n' >"$T/policy-a.json"
mkdir "$T/pmount"
printf '{"version": 1, "packages": [{"package": "gen", "source": "path", "memory": "3G",
  "mounts": [{"source": "%s", "destination": "/opt/e2e"}]}]}\n' "$T/pmount" >"$T/policy-gen.json"
chmod 600 "$T"/policy-*.json

# A checkout whose scripts print a timestamp and what cargo told them of
# the profile, beside the fixture's own lines; and a .git of its own (the
# workspace view hides it: no script sees it).
e2e_checkout() { # dir
  checkout "$1"
  mkdir "$1/.git"
  echo "ref: refs/heads/$1" >"$1/.git/HEAD"
  local p
  for p in gen depsys; do
    sed -i "s|^    eprintln!(\"$p build script ran\");|&\n    eprintln!(\"$p stamp {} {} {} {}\", std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos(), env::var(\"OPT_LEVEL\").unwrap(), env::var(\"DEBUG\").unwrap(), env::var(\"PROFILE\").unwrap());|" \
      "$1/$p/build.rs"
    grep -q "$p stamp" "$1/$p/build.rs" || fatal "could not add the stamp to $p/build.rs"
  done
}
stamp() { # dir pkg
  cat "$1"/target/debug/build/"$2"-*/stderr 2>/dev/null | sed -n "s/^$2 stamp //p"
}
key_of() { cache_line "$1" "$2" | cut -d' ' -f2; }

# ran_again DIR PKG [REF]: the script missed, was stored and really ran
# (its stamp is not that of checkout REF, by default A)
ran_again() {
  expect_cache "$1" "$2" '^miss [0-9a-f]{12} \(stored\)$' || return 1
  local s ref=${3:-$A}
  s=$(stamp "$1" "$2")
  [ -n "$s" ] && [ "$s" != "$(stamp "$ref" "$2")" ] && return 0
  echo "# $2 in $1: stamp '$s', $ref's '$(stamp "$ref" "$2")': it did not run" >&2
  return 1
}
# hit_of_a DIR PKG: a hit of A's key, which replayed A's stamp
hit_of_a() {
  expect_cache "$1" "$2" "^hit $(key_of "$A" "$2") \\(saved [0-9.]+ s\\)$" || return 1
  [ "$(stamp "$1" "$2")" = "$(stamp "$A" "$2")" ] && return 0
  echo "# $2 in $1: stamp '$(stamp "$1" "$2")', not A's '$(stamp "$A" "$2")'" >&2
  return 1
}
# both WHAT CHECK DIR: CHECK (ran_again or hit_of_a) of DIR's two scripts
both() {
  local p word=hits
  [ "$2" = ran_again ] && word="runs again"
  for p in gen depsys; do check "$1: $p $word" "$2" "$3" "$p"; done
}
# the build-script binary of PKG in DIR
script_bin() { ls "$1"/target/debug/build/"$2"-*/build-script-build; }

# cargo build in checkout DIR (paths remapped, as test-result-cache does,
# so that binaries do not depend on where the checkout is)
build() { # dir runner-args...
  local dir=$1
  shift
  RUSTFLAGS="--remap-path-prefix=$dir=/ws" cargo_build_runner "$dir" "$dir/target" "$@"
}
# e2e_build NAME DIR RUNNER-ARGS...: a fresh checkout at DIR built clean;
# a failure is a failed check NAME and returns 1
e2e_build() {
  local name=$1 dir=$2
  shift 2
  e2e_checkout "$dir"
  if build "$dir" "$@"; then return 0; fi
  not_ok "$name: the build"
  tail -20 "$T/cargo.out" | sed 's/^/# /'
  return 1
}

for rt in $(runtimes); do
  export OCI_HOST_RUNNER_CACHE_DIR=$T/$rt-cache
  COMMON=(--runtime "$rt" --result-cache auto -v)
  A=$T/$rt-a/ws
  mkdir -p "$T/$rt-a"
  echo one >"$T/$rt-a/notes.txt"
  e2e_build "$rt: checkout A" "$A" "${COMMON[@]}" --image "$IMG1" --policy "$T/policy-a.json" || continue
  check "$rt: A's scripts ran in a container of the pinned image" ran_in_container "$A/target" gen "$rt"
  for p in gen depsys; do
    check "$rt: A: $p missed and was stored" expect_cache "$A" "$p" '^miss [0-9a-f]{12} \(stored\)$'
    check "$rt: A: $p printed its stamp" bash -c "[ -n \"\$1\" ]" _ "$(stamp "$A" "$p")"
  done

  # what the scripts cannot see: all of it at once, and still hits
  H=$T/$rt-elsewhere/deeper/ws
  mkdir -p "$T/$rt-elsewhere/deeper"
  echo two >"$T/$rt-elsewhere/deeper/notes.txt"
  if CARGO_BUILD_JOBS=1 e2e_build "$rt: another path, a changed file beside it, -j1" "$H" \
    "${COMMON[@]}" --image "$IMG1" --policy "$T/policy-a.json"; then
    both "$rt: another checkout path, another .git, a changed file beside it, -j1" hit_of_a "$H"
  fi

  C=$T/$rt-image/ws
  if e2e_build "$rt: another image" "$C" "${COMMON[@]}" --image "$IMG2" --policy "$T/policy-a.json"; then
    both "$rt: another pinned image" ran_again "$C"
  fi

  C=$T/$rt-tc-same/ws
  if with_toolchain "$T/tc-same" e2e_build "$rt: the toolchain at another path" "$C" \
    "${COMMON[@]}" --image "$IMG1" --policy "$T/policy-a.json"; then
    both "$rt: the same toolchain at another path" hit_of_a "$C"
  fi
  C=$T/$rt-tc-changed/ws
  if with_toolchain "$T/tc-changed" e2e_build "$rt: another toolchain" "$C" \
    "${COMMON[@]}" --image "$IMG1" --policy "$T/policy-a.json"; then
    check "$rt: a toolchain with one file changed: the build-script binary is A's" \
      cmp "$(script_bin "$A" gen)" "$(script_bin "$C" gen)"
    both "$rt: a toolchain with one file changed" ran_again "$C"
  fi

  echo one >"$T/pmount/data"
  C=$T/$rt-policy/ws
  if e2e_build "$rt: another policy" "$C" "${COMMON[@]}" --image "$IMG1" --policy "$T/policy-gen.json"; then
    check "$rt: a policy rule for gen (memory, a mount): gen runs again" ran_again "$C" gen
    check "$rt: ... depsys, which the rule is not for, hits" hit_of_a "$C" depsys
  fi
  echo two >"$T/pmount/data"
  C2=$T/$rt-policy-mount/ws
  if e2e_build "$rt: a changed file in a policy mount" "$C2" "${COMMON[@]}" --image "$IMG1" --policy "$T/policy-gen.json"; then
    check "$rt: a changed file in gen's policy mount: gen runs again" ran_again "$C2" gen "$C"
    check "$rt: ... depsys hits" hit_of_a "$C2" depsys
  fi

  C=$T/$rt-binary/ws
  if CARGO_PROFILE_DEV_BUILD_OVERRIDE_OPT_LEVEL=1 e2e_build "$rt: another build-script binary" "$C" \
    "${COMMON[@]}" --image "$IMG1" --policy "$T/policy-a.json"; then
    check "$rt: build scripts optimised: gen's binary is not A's" \
      bash -c "! cmp -s '$(script_bin "$A" gen)' '$(script_bin "$C" gen)'"
    for p in gen depsys; do
      check "$rt: another build-script binary: $p runs again" ran_again "$C" "$p"
      check "$rt: ... with the profile A's script saw" \
        assert_eq "$(stamp "$A" "$p" | cut -d' ' -f2-)" "$(stamp "$C" "$p" | cut -d' ' -f2-)" "OPT_LEVEL DEBUG PROFILE"
    done
  fi
done

# ---- tests/corpus through nginx, each checkout with an empty local store

CORPUS=$TOP/tests/corpus
missing=$(dpkg-query -W -f='${db:Status-Status} ${Package}\n' $(cat "$CORPUS/packages.txt") 2>&1 | grep -v '^installed' || true)
[ -z "$missing" ] || fatal "corpus packages missing (make deps): $missing"
RT_A=$(runtimes | grep -x crun || runtimes | sed -n 1p)
RT_B=$(runtimes | grep -x runc || runtimes | sed -n 1p)
mkdir -p "$T/keys"
"$ATTEST" keygen --out "$T/keys/good" >/dev/null
start_nginx_cache nginx
URL=$NGINX_URL/corpus
# The checkout's path is remapped (--remap-path-prefix, as for the fixture)
# so that binaries are the same bytes in every checkout: build scripts that
# include generated code by absolute path (clang-sys's, under zstd-sys and
# nettle-sys) otherwise differ, and rightly miss.  Not through RUSTFLAGS:
# Cargo hands build scripts CARGO_ENCODED_RUSTFLAGS, where the path of the
# checkout stays a host path for registry crates' scripts (they do not see
# the workspace, so nothing maps it): another path is then another
# environment, and every such script would rightly miss too
# (docs/cache.md).  A RUSTC_WRAPPER at one path for every checkout adds the
# flag, from a variable the scripts do not get.
cat >"$T/rustc-remap" <<'SH'
#!/bin/sh
[ -n "${OHR_E2E_REMAP:-}" ] && exec "$@" "--remap-path-prefix=$OHR_E2E_REMAP=/ws"
exec "$@"
SH
chmod 755 "$T/rustc-remap"
corpus_build() { # dir store runner-args...
  local dir=$1 store=$2
  shift 2
  OCI_HOST_RUNNER_CACHE_DIR=$store RUSTC_WRAPPER=$T/rustc-remap OHR_E2E_REMAP=$dir \
    cargo_build_runner "$dir" "$dir/target" "$@"
}
corpus_checkout() { # dir
  mkdir -p "$1"
  tar -C "$CORPUS" --exclude=./target -cf - . | tar -C "$1" -xf -
}
# the -v lines of every script of the build in DIR
cache_lines() { cat "$1"/target/debug/build/*/stderr 2>/dev/null | sed -n 's/^oci-host-runner: result-cache: //p'; }
count() { # file regex
  grep -cE -- "$2" "$1" || true
}
keys() { # file: the keys, sorted
  cut -d' ' -f2 "$1" | sort
}

CA=$T/corpus-a
corpus_checkout "$CA"
start=$(date +%s)
if corpus_build "$CA" "$T/corpus-a-store" --runtime "$RT_A" --result-cache "$URL" \
  --result-cache-sign "$T/keys/good.key" --result-cache-trust "$T/keys/good.pub" -v; then
  ok "$RT_A: tests/corpus in checkout A, an empty local store, uploading"
else
  not_ok "$RT_A: tests/corpus in checkout A, an empty local store, uploading"
  tail -20 "$T/cargo.out" | sed 's/^/# /'
fi
echo "# corpus A ($RT_A, cold, uploading): $(($(date +%s) - start)) s"
cache_lines "$CA" >"$T/corpus-a.cache"
runs=$(ls -d "$CA"/target/debug/build/*/output 2>/dev/null | wc -l)
uploaded=$(count "$T/corpus-a.cache" '^miss [0-9a-f]{12} \(stored; remote: uploaded\)$')
echo "# corpus A: $runs build-script runs, $uploaded uploaded, $(count "$T/corpus-a.cache" '^off ') not cached"
check "A: every build-script run has its -v line" assert_eq "$runs" "$(wc -l <"$T/corpus-a.cache")" "-v lines"
check "A: every cacheable script missed, was stored and uploaded (none failed to)" \
  assert_eq "$(count "$T/corpus-a.cache" '^miss ')" "$uploaded" "uploaded misses"
check "A: most scripts are cacheable" bash -c "[ $uploaded -ge $((runs * 9 / 10)) ]"
check "A: no hit (an empty store, an empty server)" assert_eq 0 "$(count "$T/corpus-a.cache" '^hit ')" "hits"
out_snapshot "$CA/target" >"$T/corpus-a.snap"

# check_corpus_b WHAT CACHE-LINES SNAPSHOT BINARY: the -v lines, OUT_DIRs
# and binary of a clean build of another checkout against A's
check_corpus_b() {
  local what=$1 lines=$2 snap=$3 bin=$4
  check "$what: every cacheable script of A is a remote hit" \
    assert_eq "$uploaded" "$(count "$lines" '^hit [0-9a-f]{12} \(remote, saved [0-9.]+ s\)$')" "remote hits"
  check "$what: ... of A's keys" diff -u <(grep '^miss .*uploaded' "$T/corpus-a.cache" | keys /dev/stdin) \
    <(grep '^hit ' "$lines" | keys /dev/stdin)
  check "$what: no script missed" assert_eq 0 "$(count "$lines" '^miss ')" "misses"
  check "$what: every OUT_DIR byte is A's (files, modes, symlinks)" diff -u "$T/corpus-a.snap" "$snap"
  check "$what: ... and there are OUT_DIR files" bash -c "[ \$(awk '\$3 == \"f\"' '$snap' | wc -l) -ge 10 ]"
  check "$what: the binary is A's, byte for byte" cmp "$CA/target/debug/ohr-corpus" "$bin"
}

CB=$T/elsewhere/corpus-checkout-b
corpus_checkout "$CB"
start=$(date +%s)
if corpus_build "$CB" "$T/corpus-b-store" --runtime "$RT_B" --result-cache "$URL" \
  --result-cache-mode read --result-cache-trust "$T/keys/good.pub" -v; then
  ok "$RT_B: tests/corpus in checkout B at another path, another empty local store"
  echo "# corpus B ($RT_B, remote hits): $(($(date +%s) - start)) s"
  cache_lines "$CB" >"$T/corpus-b.cache"
  out_snapshot "$CB/target" >"$T/corpus-b.snap"
  check_corpus_b "$RT_B: B" "$T/corpus-b.cache" "$T/corpus-b.snap" "$CB/target/debug/ohr-corpus"
else
  not_ok "$RT_B: tests/corpus in checkout B at another path, another empty local store"
  tail -20 "$T/cargo.out" | sed 's/^/# /'
fi

# rootless: checkout C by an unprivileged user (its own empty store, the
# toolchain bound under $T as test-result-cache does).  Not `cargo check`,
# which would be quicker: 6 of the corpus's scripts get another key under
# it, rightly: Cargo gives them another OUT_DIR (another unit hash) or
# another LD_LIBRARY_PATH there.
if [ "$(id -u)" -ne 0 ]; then
  skip "rootless: needs root to create the test user"
else
  rootless_prepare
  cp "$T/keys/good.pub" "$T/u/"
  CU=$T/u/corpus-c
  corpus_checkout "$CU"
  install -d -m 700 -o "$TEST_USER" "$T/u/xdg"
  cat >"$T/u/build-corpus.sh" <<SH
set -e
. $T/u/snap.sh
# as rustup's proxy does for root's builds: the toolchain's lib/ first
export PATH=$T/toolchain/bin:/usr/bin:/bin LD_LIBRARY_PATH=$T/toolchain/lib
export HOME=$T/u/home CARGO_HOME=$T/u/cargo-home XDG_CACHE_HOME=$T/u/cache XDG_RUNTIME_DIR=$T/u/xdg
export RUSTC_BOOTSTRAP=1 CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never RUSTC_WRAPPER=$T/rustc-remap OHR_E2E_REMAP=$CU
unset OCI_HOST_RUNNER_STATE_DIR OCI_HOST_RUNNER_CACHE_DIR OCI_HOST_RUNNER_STORE_DIR
cd $CU
cargo build --offline -Zhost-config -Ztarget-applies-to-host --target-dir target \\
  --config 'host.runner=["$T/bin/oci-host-runner","--runtime","$RT_A","--result-cache","$URL","--result-cache-mode","read","--result-cache-trust","$T/u/good.pub","-v"]'
cat target/debug/build/*/stderr | sed -n 's/^oci-host-runner: result-cache: //p' >$T/u/corpus-c.cache
out_snapshot target >$T/u/corpus-c.snap
SH
  chown -R "$TEST_USER" "$T/u"
  start=$(date +%s)
  if as_test_user "$SYSROOT" "$T/u/build-corpus.sh"; then
    ok "$RT_A rootless: tests/corpus in checkout C, the user's empty store"
    echo "# corpus C ($RT_A rootless, remote hits): $(($(date +%s) - start)) s"
    check_corpus_b "$RT_A rootless: C" "$T/u/corpus-c.cache" "$T/u/corpus-c.snap" "$CU/target/debug/ohr-corpus"
  else
    not_ok "$RT_A rootless: tests/corpus in checkout C, the user's empty store"
    tail -20 "$T/cargo.out" | sed 's/^/# /'
  fi
fi
stop_nginx_cache

finish
