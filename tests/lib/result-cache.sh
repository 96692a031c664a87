# result-cache.sh: helpers for the result cache's tests (sourced after
# libtest.sh): checkouts of tests/fixtures/cache, the -v line of a
# package's script, and a snapshot of every OUT_DIR.

FIX=$TOP/tests/fixtures/cache

# A checkout of the fixture at DIR.
checkout() {
  mkdir -p "$1"
  cp -r "$FIX/." "$1/"
}

# cargo build in checkout DIR (its own target/), runner options after it;
# the paths of the checkout are remapped so that the program's bytes do
# not depend on where the checkout lives.
build_remapped() { # dir runner-args...
  local dir=$1
  shift
  RUSTFLAGS="--remap-path-prefix=$dir=/ws" cargo_build_runner "$dir" "$dir/target" "$@"
}

# ---- a registry crate's script (tests/fixtures/cache-registry)

# reg_checkout DIR: a checkout of the fixture's workspace at DIR whose
# crates come from one directory source outside every checkout,
# $T/registry: Debian's crunchy and the fixture's flagprobe.
reg_checkout() {
  local fix=$TOP/tests/fixtures/cache-registry
  if [ ! -d "$T/registry" ]; then
    mkdir -p "$T/registry"
    cp -r /usr/share/cargo/registry/crunchy-0.2.2 "$fix/registry/flagprobe-0.1.0" "$T/registry/"
  fi
  mkdir -p "$1/.cargo"
  cp -r "$fix/ws/." "$1/"
  printf '[source.crates-io]\nreplace-with = "fixture"\n\n[source.fixture]\ndirectory = "%s"\n' \
    "$T/registry" >"$1/.cargo/config.toml"
}

# What the script of package PKG got from the cache in checkout DIR: hit,
# miss or off (its -v line).
cache_line() { # dir pkg
  cat "$1"/target/debug/build/"$2"-*/stderr 2>/dev/null | sed -n 's/^oci-host-runner: result-cache: //p'
}

expect_cache() { # dir pkg regex
  local line
  line=$(cache_line "$1" "$2")
  if [[ "$line" =~ $3 ]]; then return 0; fi
  echo "# $2 in $1: expected /$3/, got '$line'" >&2
  return 1
}

# Every OUT_DIR entry by package: type, mode, link target, sha256.
out_snapshot() { # target_dir
  local d n
  for d in "$1"/debug/build/*/out; do
    n=$(basename "$(dirname "$d")")
    (cd "$d" && find . -mindepth 1 -printf '%P %y %m %l\n' | sort | while read -r p y m l; do
      h=-
      [ "$y" = f ] && h=$(sha256sum <"$p" | cut -d' ' -f1)
      echo "${n%-*} $p $y $m $l $h"
    done)
  done | sort
}

# ---- rootless: builds of checkouts A and B by an unprivileged user

# rootless_prepare: the user, the toolchain's sysroot (SYSROOT, bound for
# the user by as_test_user), the binaries copied under $T/bin (the clone
# may be 0700) and out_snapshot for the user's scripts.
rootless_prepare() {
  ensure_test_user
  SYSROOT=$(rustc --print sysroot)
  mkdir -p "$T/bin" "$T/toolchain" "$T/u"
  cp "$OHR" "$(dirname "$OHR")/ohr-init" "$(dirname "$OHR")/oci-host-runner-store" \
    "$T/bin/"
  declare -f out_snapshot >"$T/u/snap.sh"
}

# rootless_script RT CACHE_HOME RUNNER_ARGS...: write $T/u/build-RT.sh,
# which builds $T/u/RT-a then $T/u/RT-checkout-b (made here) with the
# runner and RUNNER_ARGS, XDG_CACHE_HOME=CACHE_HOME (\$c in it names the
# checkout), and leaves for each checkout C: $T/u/RT-C.cache (the -v
# lines), .runtime (gen's runtime line) and .snap (out_snapshot).
rootless_script() {
  local rt=$1 home=$2 a args="\\\"$T/bin/oci-host-runner\\\""
  shift 2
  for a in "$@"; do args+=",\\\"$a\\\""; done
  checkout "$T/u/$rt-a"
  checkout "$T/u/$rt-checkout-b"
  install -d -m 700 -o "$TEST_USER" "$T/u/xdg-$rt"
  cat >"$T/u/build-$rt.sh" <<SH
set -e
. $T/u/snap.sh
export PATH=$T/toolchain/bin:/usr/bin:/bin HOME=$T/u/home CARGO_HOME=$T/u/cargo-home
export RUSTC_BOOTSTRAP=1 CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never
export XDG_RUNTIME_DIR=$T/u/xdg-$rt
unset OCI_HOST_RUNNER_STATE_DIR OCI_HOST_RUNNER_CACHE_DIR OCI_HOST_RUNNER_STORE_DIR
for c in a checkout-b; do
  export XDG_CACHE_HOME=$home
  cd $T/u/$rt-\$c
  cargo build --offline -Zhost-config -Ztarget-applies-to-host --target-dir target \\
    --config "host.runner=[$args]"
  cat target/debug/build/*/stderr | sed -n 's/^oci-host-runner: result-cache: //p' >$T/u/$rt-\$c.cache
  grep -h 'oci-host-runner: runtime' target/debug/build/gen-*/stderr >$T/u/$rt-\$c.runtime || true
  out_snapshot target >$T/u/$rt-\$c.snap
done
SH
  chown -R "$TEST_USER" "$T/u"
}

# par_checkouts N SOURCE: N checkouts $T/par1..N (another path each) of one
# fake-Cargo package whose script prints a directive and writes OUT_DIR's
# mark and a 64 KiB blob from SOURCE (/dev/zero, or /dev/urandom to tell
# whose bytes a hit restored); the script is also at $T/par.sh
par_checkouts() {
  local i d
  printf '#!/bin/sh\necho "cargo:rustc-env=P=1"\nhead -c 65536 %s >"$OUT_DIR/blob"\necho done >"$OUT_DIR/mark"\n' "$2" >"$T/par.sh"
  for i in $(seq "$1"); do
    d=$T/par$i
    mkdir -p "$d/pkg" "$d/target/debug/build/pkg-0000/out" "$d/target/debug/build/pkg-1111"
    install -m 755 "$T/par.sh" "$d/target/debug/build/pkg-1111/build-script-build"
  done
}

# par_complete I...: each such checkout's OUT_DIR whole and its stdout
# (in $T/parI/out) holding the directive, printed or replayed
par_complete() {
  local i d
  for i in "$@"; do
    d=$T/par$i/target/debug/build/pkg-0000/out
    [ "$(cat "$d/mark")" = done ] && [ "$(stat -c %s "$d/blob")" = 65536 ] &&
      grep -x 'cargo:rustc-env=P=1' "$T/par$i/out" >/dev/null || { echo "# run $i incomplete" >&2; return 1; }
  done
}
