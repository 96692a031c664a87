#!/usr/bin/env bash
# Workspaces (issue #14): a member whose build script reads the workspace's
# ../proto/schema.proto (prost-style), a path dependency outside the
# workspace in a workspace of its own, and a [patch]ed path crate, built
# with real cargo through the runner and natively: the same directives, the
# same OUT_DIR bytes, the same program output; runc and crun, canonical and
# identity paths, root and rootless.  Policy rules match the package's
# source: a path crate named like a registry rule's package does not get
# that rule.  Canonical runs are byte-identical
# across two checkout paths.  A script reading .git (hidden by design)
# fails with a line naming the path and the policy rule, then builds with
# that rule.  Fixtures: tests/fixtures/workspace (W, other, V, N).
. "$(dirname "$0")/../lib/libtest.sh"

FIX=$TOP/tests/fixtures/workspace
[ -d /usr/share/cargo/registry/adler-1.0.2 ] ||
  fatal "crate adler 1.0.2 missing from /usr/share/cargo/registry (make deps: librust-adler-dev)"

# A checkout of the fixtures at DIR, with a .git and a .env in W and V
# (made by hand: the same bytes whatever git would write).
checkout() {
  mkdir -p "$1"
  cp -r "$FIX/." "$1/"
  local w
  for w in W V; do
    mkdir -p "$1/$w/.git/refs/heads"
    echo "ref: refs/heads/main" >"$1/$w/.git/HEAD"
    echo "API_TOKEN=do-not-read" >"$1/$w/.env"
  done
}

# What Cargo got and what the scripts wrote, per package (hashes in
# directory names stripped): the directives (target/debug/build/*/output)
# and a sha256 per OUT_DIR file.
cat >"$T/snap.sh" <<'SH'
#!/bin/sh
# snap.sh TARGET_DIR: one line per directive and per OUT_DIR file, by package
set -e
for d in "$1"/debug/build/*/; do
  [ -f "$d/output" ] || continue
  n=$(basename "$d"); n=${n%-*}
  sed "s|^|$n directive |" "$d/output"
  (cd "$d/out" && find . -type f | sort | xargs -r sha256sum) | sed "s|^|$n out |"
done | sort -s -k1,1
SH
chmod 755 "$T/snap.sh"

# The script's own view of its run (what it echoed on stderr, the runner's
# lines dropped), per package: canonical runs must not depend on the
# checkout's path.
script_view() { # target_dir
  local f n
  for f in "$1"/debug/build/*/stderr; do
    n=$(basename "$(dirname "$f")")
    grep -v '^oci-host-runner: ' "$f" | sed "s|^|${n%-*} |"
  done | sort -s -k1,1
}

# A sha256 per OUT_DIR file, by package and file name.
out_hashes() { # target_dir
  local f n
  (cd "$1/debug/build" && find . -path '*/out/*' -type f | sort | while read -r f; do
    n=${f#./}
    d=${n%%/*}
    printf '%s %s %s\n' "${d%-*}" "${n#*/}" "$(sha256sum <"$f" | cut -d' ' -f1)"
  done) | sort
}

C1=$T/c1
checkout "$C1"
W=$C1/W
cargo_build_native "$W" "$W/target" || { tail -20 "$T/cargo.out" | sed 's/^/# /'; fatal "native build failed"; }
"$T/snap.sh" "$W/target" >"$T/native.snap"
"$W/target/debug/app" >"$T/native.txt"
grep -q "messages Greeting,Extra Greeting Extra" "$T/native.txt" || fatal "the fixture's native build is not what the test expects"
cargo_build_native "$C1/V" "$C1/V/target" || fatal "native build of V failed"
"$C1/V/target/debug/vers" >"$T/native-vers.txt"
grep -qx "env readable" "$T/native-vers.txt" || fatal "natively the fixture's script reads V/.env; the test relies on it"
sed -i '/^env /d' "$T/native-vers.txt"
rm -rf "$W/target" "$C1/V/target"

# The rule the runner will name, ready for --policy (the user's file: 0644).
cat >"$T/policy.json" <<'JSON'
{ "version": 1, "packages": [ { "package": "vers", "source": "path", "workspace-read": [".git"] } ] }
JSON
chmod 644 "$T/policy.json"

for rt in $(runtimes); do
  for mode in canonical identity; do
    if cargo_build_runner "$W" "$W/target" --runtime "$rt" --paths "$mode" -v; then
      ok "$rt $mode: cargo build of the workspace through the runner"
    else
      not_ok "$rt $mode: cargo build of the workspace through the runner"
      tail -20 "$T/cargo.out" | sed 's/^/# /'
      rm -rf "$W/target"
      continue
    fi
    check "$rt $mode: the member's script ran in a container" ran_in_container "$W/target" gen "$rt"
    "$T/snap.sh" "$W/target" >"$T/$rt-$mode.snap"
    check "$rt $mode: same directives and OUT_DIR bytes as native (gen, other, patched adler)" \
      diff -u "$T/native.snap" "$T/$rt-$mode.snap"
    "$W/target/debug/app" >"$T/$rt-$mode.txt"
    check "$rt $mode: the program prints what the native one prints" diff -u "$T/native.txt" "$T/$rt-$mode.txt"
    gen_err=$(ls "$W"/target/debug/build/gen-*/stderr | head -1)
    if [ "$mode" = canonical ]; then
      check "$rt $mode: the member saw itself at /cargo/src/gen, below the workspace" \
        assert_file_has "$gen_err" '^manifest=/cargo/src/gen$'
      check "$rt $mode: ... and printed container paths that reached Cargo as host paths" \
        assert_file_has "$gen_err" '^cargo::rerun-if-changed=/cargo/src/proto/extra.proto$'
      script_view "$W/target" >"$T/$rt-view-c1.txt"
      out_hashes "$W/target" >"$T/$rt-out-c1.txt"
    else
      check "$rt $mode: the member saw its host path" assert_file_has "$gen_err" "^manifest=$W/gen\$"
    fi
    check "$rt $mode: the workspace's .git, .env and target were hidden" \
      sh -c "grep -q 'hidden: $W/.git\$' '$gen_err' && grep -q 'hidden: $W/.env\$' '$gen_err' && grep -q 'hidden: $W/target\$' '$gen_err'"
    other_err=$(ls "$W"/target/debug/build/other-*/stderr | head -1)
    check "$rt $mode: the path dependency outside saw its own workspace" \
      assert_file_has "$other_err" "sees '$C1/other'"
    rm -rf "$W/target"

    # .git is hidden by design: the failure names it and the rule
    if cargo_build_runner "$C1/V" "$C1/V/target" --runtime "$rt" --paths "$mode"; then
      not_ok "$rt $mode: a script reading ../.git/HEAD fails"
    else
      ok "$rt $mode: a script reading ../.git/HEAD fails"
      check "$rt $mode: ... with a line naming the path and the policy rule" \
        assert_file_has "$T/cargo.out" \
        "oci-host-runner: build script of vers 0.1.0: '$C1/V/.git/HEAD' is hidden by design .*allow with: \\{\"package\":\"vers\",\"source\":\"path\",\"workspace-read\":\\[\"\\.git\"\\]\\}"
    fi
    if cargo_build_runner "$C1/V" "$C1/V/target" --runtime "$rt" --paths "$mode" --policy "$T/policy.json"; then
      "$C1/V/target/debug/vers" >"$T/vers.txt"
      check "$rt $mode: with the rule it builds and reads the .git the native build read" \
        diff -u "$T/native-vers.txt" <(grep -v '^env ' "$T/vers.txt")
      check "$rt $mode: ... while .env stays hidden (/dev/null over the file)" grep -qx "env hidden" "$T/vers.txt"
    else
      not_ok "$rt $mode: with the rule it builds"
      tail -10 "$T/cargo.out" | sed 's/^/# /'
    fi
    rm -rf "$C1/V/target"
  done
done

# Policy rules match the source (issue #12): a rule without "source" is for
# the registry crate; a path crate that names itself openssl-sys gets
# neither its mount, nor its env, nor its network, and the runner says the
# rule was passed over.  With "source": "path" the same settings apply.
mkdir -p "$T/probe"
touch "$T/probe/marker"
for src in registry path; do
  field=
  [ "$src" = path ] && field='"source": "path", '
  cat >"$T/policy-$src.json" <<JSON
{ "version": 1, "packages": [ { "package": "openssl-sys", $field"network": "host",
  "mounts": ["$T/probe"], "env": ["OHR_PROBE_MOUNT=$T/probe"] } ] }
JSON
  chmod 644 "$T/policy-$src.json"
done
for rt in $(runtimes); do
  if cargo_build_runner "$C1/N" "$C1/N/target" --runtime "$rt" --policy "$T/policy-registry.json"; then
    check "$rt: a path crate named openssl-sys gets no mount, env or network of the registry rule" \
      assert_eq "mount=false env=false net=false" "$("$C1/N/target/debug/openssl-sys")" "what the script saw"
    check "$rt: ... and the runner says the rule does not apply to a path package" \
      assert_file_has "$(ls "$C1"/N/target/debug/build/openssl-sys-*/stderr | head -1)" \
      'notice: policy rule packages\[0\] .* does not apply to openssl-sys, a path package'
  else
    not_ok "$rt: build of a path crate named openssl-sys"
    tail -10 "$T/cargo.out" | sed 's/^/# /'
  fi
  rm -rf "$C1/N/target"
  if cargo_build_runner "$C1/N" "$C1/N/target" --runtime "$rt" --policy "$T/policy-path.json"; then
    check "$rt: with \"source\": \"path\" the same rule gives it the mount and env" \
      assert_eq "mount=true env=true" "$("$C1/N/target/debug/openssl-sys" | cut -d' ' -f1-2)" "what the script saw"
  else
    not_ok "$rt: build of a path crate with a path rule"
    tail -10 "$T/cargo.out" | sed 's/^/# /'
  fi
  rm -rf "$C1/N/target"
done

# Canonical paths: a second checkout at another path, byte for byte the
# same as the script saw it (CARGO_MANIFEST_DIR, its directives) and wrote.
C2=$T/second/checkout/somewhere-longer
checkout "$C2"
for rt in $(runtimes); do
  [ -f "$T/$rt-view-c1.txt" ] || { skip "$rt: no first canonical build to compare with"; continue; }
  if cargo_build_runner "$C2/W" "$C2/W/target" --runtime "$rt" --paths canonical; then
    script_view "$C2/W/target" >"$T/$rt-view-c2.txt"
    check "$rt canonical: what the scripts saw and printed is the same in both checkouts" \
      diff -u "$T/$rt-view-c1.txt" "$T/$rt-view-c2.txt"
    out_hashes "$C2/W/target" >"$T/$rt-out-c2.txt"
    check "$rt canonical: OUT_DIR bytes are the same in both checkouts" \
      diff -u "$T/$rt-out-c1.txt" "$T/$rt-out-c2.txt"
  else
    not_ok "$rt canonical: build in a second checkout"
    tail -10 "$T/cargo.out" | sed 's/^/# /'
  fi
  rm -rf "$C2/W/target"
done

# Rootless: the same builds by an unprivileged user, native first (the
# toolchain under /root is bound where the user can reach it, as
# test-rootless does).
if [ "$(id -u)" -ne 0 ]; then
  skip "rootless: needs root to create the test user"
  finish
  exit
fi
ensure_test_user
SYSROOT=$(rustc --print sysroot)
mkdir -p "$T/bin" "$T/toolchain" "$T/u"
cp "$OHR" "$(dirname "$OHR")/ohr-init" "$T/bin/"
checkout "$T/u/c"
chown -R "$TEST_USER" "$T/u"
UW=$T/u/c/W
for rt in $(runtimes); do
  XDG=$T/u/xdg-$rt
  install -d -m 700 -o "$TEST_USER" "$XDG"
  cat >"$T/u/build-$rt.sh" <<SH
set -e
export PATH=$T/toolchain/bin:/usr/bin:/bin HOME=$T/u/home CARGO_HOME=$T/u/cargo-home
export RUSTC_BOOTSTRAP=1 CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never
export XDG_RUNTIME_DIR=$XDG XDG_CACHE_HOME=$T/u/cache
unset OCI_HOST_RUNNER_STATE_DIR OCI_HOST_RUNNER_CACHE_DIR OCI_HOST_RUNNER_STORE_DIR
cd $UW
cargo build --offline --target-dir $UW/target
$T/snap.sh $UW/target >$T/u/native-$rt.snap
$UW/target/debug/app >$T/u/native-$rt.txt
rm -rf $UW/target
for mode in canonical identity; do
  cargo build --offline -Zhost-config -Ztarget-applies-to-host --target-dir $UW/target \
    --config "host.runner=[\"$T/bin/oci-host-runner\",\"--runtime\",\"$rt\",\"--paths\",\"\$mode\",\"-v\"]"
  $T/snap.sh $UW/target >$T/u/$rt-\$mode.snap
  $UW/target/debug/app >$T/u/$rt-\$mode.txt
  grep -h 'oci-host-runner: runtime' $UW/target/debug/build/gen-*/stderr >$T/u/$rt-\$mode.runtime
  rm -rf $UW/target
done
SH
  if as_test_user "$SYSROOT" "$T/u/build-$rt.sh"; then
    ok "$rt rootless: native and runner builds of the workspace, both path modes"
  else
    not_ok "$rt rootless: native and runner builds of the workspace, both path modes"
    tail -15 "$T/cargo.out" | sed 's/^/# /'
    continue
  fi
  for mode in canonical identity; do
    check "$rt rootless $mode: the member's script ran in a rootless container" \
      assert_file_has "$T/u/$rt-$mode.runtime" "runtime $rt .*rootless"
    check "$rt rootless $mode: same directives and OUT_DIR bytes as native" \
      diff -u "$T/u/native-$rt.snap" "$T/u/$rt-$mode.snap"
    check "$rt rootless $mode: the program prints what the native one prints" \
      diff -u "$T/u/native-$rt.txt" "$T/u/$rt-$mode.txt"
  done
done
finish
