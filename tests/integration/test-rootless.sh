#!/usr/bin/env bash
# Rootless: an unprivileged user runs a real cargo build whose build
# scripts run in user-namespace containers, with runc and with crun.
# The toolchain lives under /root (mode 700); the test bind-mounts it to a
# path the user can reach, inside a private mount namespace, instead of
# opening /root.
. "$(dirname "$0")/../lib/libtest.sh"

[ "$(id -u)" -eq 0 ] || fatal "test-rootless needs root to create the test user"
ensure_test_user
uid=$(id -u "$TEST_USER")
SYSROOT=$(rustc --print sysroot)

# Everything the user needs, in $T (mode 755): the runner, the examples,
# a mount point for the toolchain.
mkdir -p "$T/bin" "$T/toolchain" "$T/u"
cp "$OHR" "$(dirname "$OHR")/ohr-init" "$T/bin/"
cp -r "$TOP/examples" "$T/u/examples"
rm -rf "$T/u/examples/target"
chown -R "$TEST_USER" "$T/u"

cargo_build_native "$TOP/examples" "$T/native" || fatal "native build failed"
for b in codegen cffi links-consumer cfgprobe; do "$T/native/debug/$b"; done >"$T/native.txt"

for rt in $(runtimes); do
  # A per-run XDG_RUNTIME_DIR of the user's, as a login session has: the
  # runner's default state directory for a rootless user is inside it
  # (src/cli/options.c).  Fresh here, so what is in it after the build was put
  # there by this run; a shared path such as /dev/shm/oci-host-runner-UID
  # may hold what earlier runs left.
  XDG=$T/u/xdg-$rt
  STATE=$XDG/oci-host-runner
  install -d -m 700 -o "$TEST_USER" "$XDG"
  [ ! -e "$STATE" ] || fatal "$STATE exists before the build"
  cat >"$T/u/build-$rt.sh" <<SH
set -e
export PATH=$T/toolchain/bin:/usr/bin:/bin HOME=$T/u/home CARGO_HOME=$T/u/cargo-home
export RUSTC_BOOTSTRAP=1 CARGO_NET_OFFLINE=true
export XDG_RUNTIME_DIR=$XDG XDG_CACHE_HOME=$T/u/cache
unset OCI_HOST_RUNNER_STATE_DIR OCI_HOST_RUNNER_CACHE_DIR OCI_HOST_RUNNER_STORE_DIR
cd $T/u/examples
cargo build --offline -Zhost-config -Ztarget-applies-to-host --target-dir $T/u/target-$rt \
  --config 'host.runner=["$T/bin/oci-host-runner","--runtime","$rt","-v"]'
for b in codegen cffi links-consumer cfgprobe; do $T/u/target-$rt/debug/\$b; done >$T/u/$rt.txt
SH
  if as_test_user "$SYSROOT" "$T/u/build-$rt.sh"; then
    ok "$rt: rootless cargo build of the examples"
  else
    not_ok "$rt: rootless cargo build of the examples"
    tail -15 "$T/cargo.out" | sed 's/^/# /'
    continue
  fi
  check "$rt: binaries print the same as a native build" diff -u "$T/native.txt" "$T/u/$rt.txt"
  check "$rt: build scripts ran in rootless containers" \
    assert_file_has "$(ls "$T"/u/target-$rt/debug/build/cffi-*/stderr | head -1)" "runtime $rt .*rootless"
  out=$(ls -d "$T"/u/target-$rt/debug/build/codegen-*/out | head -1)
  check "$rt: files the script wrote belong to the user" \
    assert_eq "$uid" "$(stat -c %u "$out/generated.rs")" "owner of generated.rs"
  check "$rt: state went to the user's own XDG_RUNTIME_DIR (created by this run)" \
    test -d "$STATE/$rt"
  check "$rt: ... a directory of the user's, writable only by them" \
    assert_eq "$uid 700" "$(stat -c '%u %a' "$STATE")" "owner and mode of $STATE"
  check "$rt: ... with no container or bundle left behind" \
    assert_eq 0 "$(leftovers "$STATE")" "leftovers in $STATE"
done
finish
