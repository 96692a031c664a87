#!/usr/bin/env bash
# The container's host name (uname -n) as a build script sees it: the
# host's with identity paths (what a native build sees, and what autoconf's
# config.log records), a fixed one with canonical paths (the same bytes on
# every machine).  Real cargo, crun and runc, as root and rootless.
. "$(dirname "$0")/../lib/libtest.sh"

export OCI_HOST_RUNNER_STATE_DIR=$T/state OCI_HOST_RUNNER_CACHE_DIR=$T/cache
HOST=$(uname -n)
[ "$HOST" != build ] || fatal "this machine is called 'build': the test could not tell"

# A crate whose build script asks uname, and whose binary prints the answer.
mkdir -p "$T/u/hostname-probe/src"
cat >"$T/u/hostname-probe/Cargo.toml" <<'TOML'
[package]
name = "ohr-hostname-probe"
version = "0.1.0"
edition = "2021"
TOML
cat >"$T/u/hostname-probe/build.rs" <<'RS'
fn main() {
    let out = std::process::Command::new("uname").arg("-n").output().expect("uname -n");
    assert!(out.status.success(), "uname -n failed");
    let name = String::from_utf8(out.stdout).unwrap();
    println!("cargo:rustc-env=PROBE_HOSTNAME={}", name.trim());
}
RS
echo 'fn main() { println!("{}", env!("PROBE_HOSTNAME")); }' >"$T/u/hostname-probe/src/main.rs"
P=$T/u/hostname-probe
BIN=debug/ohr-hostname-probe

cargo_build_native "$P" "$T/native" || fatal "native build failed"
check "native: the build script sees the host's name" \
  assert_eq "$HOST" "$("$T/native/$BIN")" "native uname -n"

for rt in $(runtimes); do
  for mode in identity canonical; do
    want=$HOST
    [ "$mode" = canonical ] && want=build
    tgt=$T/$rt-$mode
    if cargo_build_runner "$P" "$tgt" --runtime "$rt" --paths "$mode" -v; then
      check "$rt, $mode paths: the build script sees '$want'" \
        assert_eq "$want" "$("$tgt/$BIN")" "uname -n in the container"
      check "$rt, $mode paths: ... in a container" ran_in_container "$tgt" ohr-hostname-probe "$rt"
    else
      not_ok "$rt, $mode paths: build"
      tail -15 "$T/cargo.out" | sed 's/^/# /'
    fi
  done
done

# Rootless: the same through a user namespace the user owns.
[ "$(id -u)" -eq 0 ] || { finish; exit; }
ensure_test_user
SYSROOT=$(rustc --print sysroot)
mkdir -p "$T/bin" "$T/toolchain"
cp "$OHR" "$(dirname "$OHR")/ohr-init" "$T/bin/"
chown -R "$TEST_USER" "$T/u"
for rt in $(runtimes); do
  XDG=$T/u/xdg-$rt
  install -d -m 700 -o "$TEST_USER" "$XDG"
  cat >"$T/u/build-$rt.sh" <<SH
set -e
export PATH=$T/toolchain/bin:/usr/bin:/bin HOME=$T/u/home CARGO_HOME=$T/u/cargo-home
export RUSTC_BOOTSTRAP=1 CARGO_NET_OFFLINE=true
export XDG_RUNTIME_DIR=$XDG XDG_CACHE_HOME=$T/u/cache
unset OCI_HOST_RUNNER_STATE_DIR OCI_HOST_RUNNER_CACHE_DIR OCI_HOST_RUNNER_STORE_DIR
cd $P
for mode in identity canonical; do
  cargo build --offline -Zhost-config -Ztarget-applies-to-host --target-dir $T/u/t-$rt-\$mode \
    --config "host.runner=[\"$T/bin/oci-host-runner\",\"--runtime\",\"$rt\",\"--paths\",\"\$mode\",\"-v\"]"
  $T/u/t-$rt-\$mode/$BIN >$T/u/$rt-\$mode.txt
done
SH
  if as_test_user "$SYSROOT" "$T/u/build-$rt.sh"; then
    check "$rt rootless, identity paths: the build script sees '$HOST'" \
      assert_eq "$HOST" "$(cat "$T/u/$rt-identity.txt")" "uname -n in the container"
    check "$rt rootless, canonical paths: the build script sees 'build'" \
      assert_eq build "$(cat "$T/u/$rt-canonical.txt")" "uname -n in the container"
    check "$rt rootless: ... in a rootless container" \
      assert_file_has "$(ls "$T"/u/t-$rt-identity/debug/build/ohr-hostname-probe-*/stderr | sed -n 1p)" "runtime $rt .*rootless"
  else
    not_ok "$rt rootless: build"
    tail -15 "$T/cargo.out" | sed 's/^/# /'
  fi
done
finish
