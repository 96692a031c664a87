#!/usr/bin/env bash
# The programs Cargo hands a build script (RUSTC, RUSTDOC, CARGO,
# RUSTC_WRAPPER, RUSTC_WORKSPACE_WRAPPER, RUSTC_LINKER), for each way
# people install Rust:
#   1. rustup proxies (~/.cargo/bin on PATH),
#   2. a RUSTUP_TOOLCHAIN=nightly override through the proxies,
#   3. a toolchain's bin/ on PATH without rustup (tarballs, CI images):
#      Cargo passes RUSTC=rustc and RUSTDOC=rustdoc, bare names; also
#      with identity paths, and rootless,
#   4. Debian's /usr/bin/cargo (cargo 0.66, rustc 1.63),
#   5. RUSTC_WRAPPER=sccache: apt's /usr/bin/sccache with rustup; and a
#      wrapper, sccache as the workspace wrapper and a linker installed
#      outside the image's directories, beside a credentials.toml (as
#      `cargo install` puts them in ~/.cargo/bin).
# A small workspace depending on num-traits and libc (Debian's registry,
# offline) and on toolprobe, a crate of ours whose build script runs each
# of those variables the way build scripts do (`$RUSTC -V`, a probe
# compiled through `$RUSTC_WRAPPER $RUSTC`, like anyhow and autocfg) and
# reports the result as directives, is built natively and through the
# runner: the build must succeed, every build script's `cargo:` directives
# must be the same set as natively, and the runner's -v lines in the
# scripts' stderr must show that it ran them.
#
# Each build runs in a private mount namespace where the tools the case
# must not see cannot be run (exec fails with ENOENT, as when they are not
# installed): this machine has Debian's rustc, cargo and sccache in
# /usr/bin, which the `host` image shows to every container, and which
# would hide a bare RUSTC=rustc that the runner left for the container's
# PATH (the script would run Debian's rustc 1.63 instead of Cargo's).
. "$(dirname "$0")/../lib/libtest.sh"

[ "$(id -u)" -eq 0 ] || fatal "test-toolchains needs root (private mount namespaces, the rootless user)"
for c in num-traits libc autocfg; do
  ls -d /usr/share/cargo/registry/$c-[0-9]* >/dev/null 2>&1 ||
    fatal "crate $c missing from /usr/share/cargo/registry (make deps: librust-$c-dev)"
done
SCCACHE=$(command -v sccache) || fatal "sccache missing (make deps)"
RUSTUP=$(command -v rustup) || fatal "rustup missing: cases 1, 2 and 5 use its proxies"
STABLE=$("$RUSTUP" run stable rustc --print sysroot) || fatal "no stable toolchain in rustup"

# ---- the machine each build runs in

printf '#!/nonexistent/hidden-by-test-toolchains\n' >"$T/hidden"
chmod 755 "$T/hidden"
# machine_cmd HIDE: the command prefix that runs a command in a private
# mount namespace where /usr/bin/TOOL, for each TOOL in HIDE, cannot run.
machine_cmd() {
  MACHINE=(unshare -m --propagation private bash -c '
    hidden=$1 hide=$2
    shift 2
    for t in $hide; do
      [ ! -e "/usr/bin/$t" ] || mount --bind "$hidden" "/usr/bin/$t" || exit 1
    done
    exec "$@"' machine "$T/hidden" "$1")
}

# ---- the workspace

WS=$T/ws
mkdir -p "$WS/src" "$WS/toolprobe/src" "$WS/.cargo"
cp "$TOP/tests/corpus/.cargo/config.toml" "$WS/.cargo/"
cat >"$WS/Cargo.toml" <<'EOF'
[package]
name = "tcws"
version = "0.1.0"
edition = "2018"

[dependencies]
num-traits = "0.2"
libc = "0.2"
toolprobe = { path = "toolprobe" }

# toolprobe a member, so that Cargo gives it RUSTC_WORKSPACE_WRAPPER
[workspace]
EOF
cat >"$WS/src/main.rs" <<'EOF'
fn main() {
    let x: f64 = num_traits::Float::sqrt(16.0f64);
    println!("{} {}", x, unsafe { libc::getpid() } > 0);
}
EOF
cat >"$WS/toolprobe/Cargo.toml" <<'EOF'
[package]
name = "toolprobe"
version = "0.1.0"
edition = "2018"
EOF
: >"$WS/toolprobe/src/lib.rs"
cat >"$WS/toolprobe/build.rs" <<'EOF'
// Runs each program Cargo hands a build script, as build scripts do, and
// reports the outcome as directives: natively and through the runner they
// must be the same.  What is not a directive goes to stderr.
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

// A run that fails is tried once more, natively and through the runner
// alike, and the first failure goes to stderr: sccache starts a server on
// first use, and on a loaded machine that start can time out (seen once in
// a whole test run, as the workspace wrapper), which is sccache's, not the
// runner's.  A tool that the runner breaks fails twice.
fn report(key: &str, cmd: Option<Command>) {
    let what = match cmd {
        None => "unset".to_string(),
        Some(mut c) => match c.output().and_then(|o| {
            if o.status.success() {
                return Ok(o);
            }
            eprintln!("toolprobe: {} failed once ({}): {}", key, o.status,
                      String::from_utf8_lossy(&o.stderr).lines().next().unwrap_or(""));
            c.output()
        }) {
            Ok(o) if o.status.success() => {
                let out = String::from_utf8_lossy(&o.stdout);
                format!("ok {}", out.lines().next().unwrap_or("").trim())
            }
            Ok(o) => format!("failed {}", o.status),
            Err(e) => format!("cannot run: {:?}", e.kind()),
        },
    };
    println!("cargo:rustc-env=TOOLPROBE_{}={}", key, what);
}

fn var(name: &str) -> Option<std::ffi::OsString> {
    env::var_os(name).filter(|v| !v.is_empty())
}

fn tool(name: &str, args: &[&str]) -> Option<Command> {
    let mut c = Command::new(var(name)?);
    c.args(args);
    Some(c)
}

fn main() {
    for v in &["RUSTC", "RUSTDOC", "CARGO", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "RUSTC_LINKER"] {
        eprintln!("toolprobe: {}={}", v, env::var(v).unwrap_or_default());
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let src = out.join("probe.rs");
    fs::write(&src, "pub fn f() -> u32 { 1 }\n").unwrap();
    report("RUSTC", tool("RUSTC", &["-V"]));
    report("RUSTDOC", tool("RUSTDOC", &["-V"]));
    report("CARGO", tool("CARGO", &["-V"]));
    // a wrapper gets rustc as its first argument (anyhow's, autocfg's probes)
    for w in &["RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER"] {
        let cmd = var(w).map(|v| {
            let mut c = Command::new(v);
            c.arg(env::var_os("RUSTC").unwrap())
                .args(&["--crate-type=lib", "--emit=metadata", "--crate-name", &w.to_lowercase()])
                .arg("--out-dir")
                .arg(&out)
                .arg(&src);
            c
        });
        report(w, cmd);
    }
    report("RUSTC_LINKER", tool("RUSTC_LINKER", &["--version"]));
    // what lies beside a wrapper (~/.cargo/credentials.toml) stays out
    if var("RUSTC_WRAPPER").is_some() {
        let readable = fs::read(Path::new("@CREDENTIALS@")).is_ok();
        eprintln!("toolprobe: credentials beside the wrapper: {}", if readable { "readable" } else { "unreadable" });
    }
}
EOF
HOMEDIR=$T/cargo-home # case 5b's CARGO_HOME, with credentials.toml
sed -i "s|@CREDENTIALS@|$HOMEDIR/credentials.toml|" "$WS/toolprobe/build.rs"

# Each build script's directives, one line per directive, keyed by package
# (hash suffix dropped), the target directory made neutral.
directives() { # target_dir
  local f pkg
  for f in "$1"/debug/build/*/output; do
    pkg=$(basename "$(dirname "$f")")
    { grep -E '^cargo:' "$f" || true; } | sed -E "s|$1|TARGET|g; s|^|${pkg%-*} |"
  done | sort
}

# A file with the stderr of package PKG's build-script run; its path.
script_stderr() { # target_dir pkg
  local f
  for f in "$1"/debug/build/"$2"-*/stderr; do [ ! -s "$f" ] || cat "$f"; done >"$1.$2.stderr"
  echo "$1.$2.stderr"
}

ran_all() { # target_dir runtime
  ran_in_container "$1" num-traits "$2" && ran_in_container "$1" libc "$2" &&
    ran_in_container "$1" toolprobe "$2"
}

# The case: what the build runs in and with.
HIDE="rustc rustdoc cargo sccache" # Debian's tools this case must not see
CASE_ENV=()                        # NAME=VALUE: the whole environment, with
BASE_ENV=(HOME="$HOME" RUSTC_BOOTSTRAP=1 CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never
  OCI_HOST_RUNNER_STATE_DIR="$T/state" OCI_HOST_RUNNER_CACHE_DIR="$T/cache")
CARGO_ARGS=()

# build TARGET_DIR [RUNNER_ARGS...]: cargo build of the workspace in the
# case's machine and environment; natively without runner arguments.
# The log is TARGET_DIR.log.
build() {
  local target=$1
  shift
  local cmd=(cargo build --offline --target-dir "$target" "${CARGO_ARGS[@]}")
  if [ $# -gt 0 ]; then
    local args="\"$OHR\"" a
    for a in "$@"; do args+=",\"$a\""; done
    cmd+=(-Zhost-config -Ztarget-applies-to-host --config "host.runner=[$args]")
  fi
  machine_cmd "$HIDE"
  (cd "$WS" && env -i "${BASE_ENV[@]}" "${CASE_ENV[@]}" "${MACHINE[@]}" "${cmd[@]}") >"$target.log" 2>&1
}

show_failure() { # log
  grep -E '^(error|warning: .*failed)|Caused by|panicked|oci-host-runner' "$1" | head -15 | sed 's/^/# /'
}

# compare NAME MODE...: the case natively, then through the runner on each
# runtime with each --paths MODE.  Leaves the native directives in
# $T/NAME-native.directives for the case's own checks.
compare() {
  local name=$1
  shift
  local nat=$T/$name-native
  if build "$nat"; then
    ok "$name: native build"
  else
    not_ok "$name: native build"
    show_failure "$nat.log"
    return 0
  fi
  directives "$nat" >"$nat.directives"
  # the comparison has something to compare
  local n_nt n_libc
  n_nt=$(grep -c '^num-traits cargo:rustc-cfg=' "$nat.directives" || true)
  n_libc=$(grep -c '^libc cargo:rustc-cfg=' "$nat.directives" || true)
  check "$name: natively num-traits prints its cfgs ($n_nt) and libc its ($n_libc)" \
    test "$n_nt" -gt 0 -a "$n_libc" -gt 0
  local rt mode out
  for rt in $(runtimes); do
    for mode in "$@"; do
      out=$T/$name-$rt-$mode
      # a failed build is compared too: what did run must match
      if build "$out" --runtime "$rt" --paths "$mode" -v; then
        ok "$name, $rt, $mode paths: the build succeeds through the runner"
      else
        not_ok "$name, $rt, $mode paths: the build succeeds through the runner"
        show_failure "$out.log"
      fi
      directives "$out" >"$out.directives"
      check "$name, $rt, $mode paths: num-traits', libc's and toolprobe's directives are the native set" \
        diff -u "$nat.directives" "$out.directives"
      check "$name, $rt, $mode paths: the runner ran those build scripts" ran_all "$out" "$rt"
    done
  done
}

# The native toolprobe saw NAME=VALUE, as Cargo passed it.
cargo_passed() { # case var value
  assert_file_has "$(script_stderr "$T/$1-native" toolprobe)" "^toolprobe: $2=$3\$"
}
# The native toolprobe ran the program named by VAR.
runs_natively() { # case var
  assert_file_has "$T/$1-native.directives" "^toolprobe cargo:rustc-env=TOOLPROBE_$2=ok"
}

# ---- 1. rustup proxies

CASE_ENV=(PATH="$CARGO_HOME/bin:/usr/bin:/bin" RUSTUP_HOME="$RUSTUP_HOME" CARGO_HOME="$CARGO_HOME")
compare proxies canonical
check "proxies: natively rustc, rustdoc and cargo run" \
  eval 'runs_natively proxies RUSTC && runs_natively proxies RUSTDOC && runs_natively proxies CARGO'

# ---- 2. RUSTUP_TOOLCHAIN=nightly through the proxies

if "$RUSTUP" run nightly rustc -V >/dev/null 2>&1; then
  CASE_ENV=(PATH="$CARGO_HOME/bin:/usr/bin:/bin" RUSTUP_HOME="$RUSTUP_HOME" CARGO_HOME="$CARGO_HOME"
    RUSTUP_TOOLCHAIN=nightly)
  compare nightly canonical
  check "nightly: the override reached the build scripts (toolprobe's rustc is a nightly)" \
    assert_file_has "$T/nightly-native.directives" "TOOLPROBE_RUSTC=ok rustc [0-9.]+-nightly"
else
  skip "nightly: no nightly toolchain in rustup (rustup toolchain install nightly)"
fi

# ---- 3. a toolchain's bin/ on PATH, no rustup

CASE_ENV=(PATH="$STABLE/bin:/usr/bin:/bin")
compare path-toolchain canonical identity
check "path-toolchain: Cargo passed RUSTC=rustc, a bare name" cargo_passed path-toolchain RUSTC rustc
check "path-toolchain: ... and RUSTDOC=rustdoc" cargo_passed path-toolchain RUSTDOC rustdoc
for rt in $(runtimes); do
  check "path-toolchain, $rt: inside, RUSTC names the mounted toolchain" \
    assert_file_has "$(script_stderr "$T/path-toolchain-$rt-canonical" toolprobe)" \
    "^toolprobe: RUSTC=/cargo/toolchain/bin/rustc\$"
  check "path-toolchain, $rt, identity paths: ... at its host path" \
    assert_file_has "$(script_stderr "$T/path-toolchain-$rt-identity" toolprobe)" \
    "^toolprobe: RUSTC=$STABLE/bin/rustc\$"
done

# ---- 4. Debian's /usr/bin/cargo

if [ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ]; then
  DEB_VERSION=$(/usr/bin/cargo --version)
  # A copy of the workspace without Cargo.lock: this cargo reads lock
  # files up to version 3.
  DWS=$T/debian-ws
  cp -r "$WS" "$DWS"
  rm -f "$DWS/Cargo.lock"
  # a runner that records that it was called, then runs ours
  cat >"$T/recording-runner" <<EOF
#!/bin/sh
echo "\$@" >>"$T/debian-runner-calls"
exec "$OHR" -v "\$@"
EOF
  chmod 755 "$T/recording-runner"
  deb_build() { # target_dir cargo-args...
    local target=$1
    shift
    (cd "$DWS" && env -i "${BASE_ENV[@]}" PATH=/usr/bin:/bin /usr/bin/cargo build --offline \
      --target-dir "$target" "$@") >"$target.log" 2>&1
  }
  if deb_build "$T/debian-native"; then ok "debian: $DEB_VERSION builds the workspace natively"; else
    not_ok "debian: $DEB_VERSION builds the workspace natively"
    show_failure "$T/debian-native.log"
  fi
  check "debian: ... with Debian's rustc, which Cargo passes as RUSTC=rustc" \
    assert_file_has "$(script_stderr "$T/debian-native" toolprobe)" "^toolprobe: RUSTC=rustc\$"
  deb_rc=0
  deb_build "$T/debian-runner" -Zhost-config -Ztarget-applies-to-host \
    --config "host.runner=[\"$T/recording-runner\"]" || deb_rc=$?
  # What this cargo does with host.runner: it accepts -Zhost-config and
  # -Ztarget-applies-to-host, and builds, but never calls the runner, so
  # its build scripts run outside any container.  host.runner for build
  # scripts came with cargo PR #16599 (2026).
  runner_ignored() { # build_status
    [ "$1" -eq 0 ] || { echo "# the build failed (exit $1)" >&2 && return 1; }
    [ ! -e "$T/debian-runner-calls" ] ||
      { echo "# the runner was called: $(head -1 "$T/debian-runner-calls")" >&2 && return 1; }
    ! grep -qs "oci-host-runner:" "$T"/debian-runner/debug/build/*/stderr ||
      { echo "# a build script ran through oci-host-runner" >&2 && return 1; }
  }
  check "debian: $DEB_VERSION never calls a host.runner (it builds, the runner is not called, no script ran in a container)" \
    runner_ignored "$deb_rc"
  skip "debian: $DEB_VERSION cannot run build scripts through oci-host-runner (no host.runner support before cargo PR #16599): nothing to compare"
else
  skip "debian: Debian's cargo and rustc are not installed (apt-get install cargo)"
fi

# ---- 5a. RUSTC_WRAPPER=sccache, apt's, with rustup

# a server of this test's own, on a port of its own, stopped at exit
SC_PORT=$((20000 + $$ % 20000))
SC_ENV=(SCCACHE_DIR="$T/sccache" SCCACHE_SERVER_PORT="$SC_PORT")
at_exit "env SCCACHE_SERVER_PORT=$SC_PORT '$SCCACHE' --stop-server >/dev/null 2>&1"
HIDE="rustc rustdoc cargo" # apt's sccache is the one used
CASE_ENV=(PATH="$CARGO_HOME/bin:/usr/bin:/bin" RUSTUP_HOME="$RUSTUP_HOME" CARGO_HOME="$CARGO_HOME"
  RUSTC_WRAPPER=sccache "${SC_ENV[@]}")
compare sccache canonical
check "sccache: Cargo passed RUSTC_WRAPPER=sccache" cargo_passed sccache RUSTC_WRAPPER sccache
check "sccache: natively the probe compiles through it" runs_natively sccache RUSTC_WRAPPER
for rt in $(runtimes); do
  check "sccache, $rt: -v says /usr/bin/sccache is left for the image's PATH" \
    assert_file_has "$(script_stderr "$T/sccache-$rt-canonical" toolprobe)" \
    "toolchain: RUSTC_WRAPPER='sccache' is '[^']*/sccache' on the host, in '/usr', which the image provides"
done

# ---- 5b. a wrapper, sccache as workspace wrapper and a linker, outside the
# image, beside ~/.cargo/credentials.toml

mkdir -p "$HOMEDIR/bin"
cp "$SCCACHE" "$HOMEDIR/bin/sccache"
printf '#!/bin/sh\nexec "$@"\n' >"$HOMEDIR/bin/ohr-test-wrap"
printf '#!/bin/sh\nexec cc "$@"\n' >"$HOMEDIR/bin/ohr-test-cc"
chmod 755 "$HOMEDIR/bin/ohr-test-wrap" "$HOMEDIR/bin/ohr-test-cc"
printf '[registry]\ntoken = "not-for-build-scripts"\n' >"$HOMEDIR/credentials.toml"
ln -s "$CARGO_HOME/bin/cargo" "$CARGO_HOME/bin/rustc" "$CARGO_HOME/bin/rustdoc" "$HOMEDIR/bin/"
HIDE="rustc rustdoc cargo sccache"
# Cargo runs RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER rustc: sccache goes
# last, it wraps compilers, not wrappers.
CASE_ENV=(PATH="$HOMEDIR/bin:/usr/bin:/bin" RUSTUP_HOME="$RUSTUP_HOME" CARGO_HOME="$HOMEDIR"
  RUSTC_WRAPPER=ohr-test-wrap RUSTC_WORKSPACE_WRAPPER=sccache "${SC_ENV[@]}")
CARGO_ARGS=(--config 'host.linker="ohr-test-cc"' --config "target.$(rustc -vV | sed -n 's/^host: //p').linker=\"ohr-test-cc\"")
compare installed-wrappers canonical identity
CARGO_ARGS=()
for v in RUSTC_WRAPPER:ohr-test-wrap RUSTC_WORKSPACE_WRAPPER:sccache RUSTC_LINKER:ohr-test-cc; do
  check "installed-wrappers: Cargo passed ${v%%:*}=${v#*:} and natively the probe runs it" \
    eval "cargo_passed installed-wrappers ${v%%:*} ${v#*:} && runs_natively installed-wrappers ${v%%:*}"
done
check "installed-wrappers: natively the wrapper's neighbour credentials.toml is readable" \
  assert_file_has "$(script_stderr "$T/installed-wrappers-native" toolprobe)" "credentials beside the wrapper: readable"
for rt in $(runtimes); do
  for mode in canonical identity; do
    check "installed-wrappers, $rt, $mode paths: only the wrapper is mounted, not credentials.toml beside it" \
      assert_file_has "$(script_stderr "$T/installed-wrappers-$rt-$mode" toolprobe)" \
      "credentials beside the wrapper: unreadable"
  done
done

# ---- 3, rootless: an unprivileged user with the toolchain on PATH

ensure_test_user
# The toolchain lives under /root (mode 700): bind it where the user can
# reach it, in the private mount namespace (as test-rootless does).
U=$T/u
mkdir -p "$U" "$T/toolchain" "$T/bin"
cp "$OHR" "$(dirname "$OHR")/ohr-init" "$T/bin/"
cp -r "$WS" "$U/ws"
rm -rf "$U/ws/target"
chown -R "$TEST_USER" "$U"
# rootless_build KIND [RUNTIME]: the user's cargo build, natively or
# through the runner, in a machine where only the bound toolchain is Rust.
rootless_build() {
  local kind=$1 rt=${2:-} runner=
  [ "$kind" = native ] ||
    runner="-Zhost-config -Ztarget-applies-to-host --config 'host.runner=[\"$T/bin/oci-host-runner\",\"--runtime\",\"$rt\",\"-v\"]'"
  cat >"$U/build-$kind.sh" <<SH
set -e
cd $U/ws
exec env -i HOME=$U/home CARGO_HOME=$U/cargo-home PATH=$T/toolchain/bin:/usr/bin:/bin \
  RUSTC_BOOTSTRAP=1 CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never \
  OCI_HOST_RUNNER_STATE_DIR=$U/state-$rt OCI_HOST_RUNNER_CACHE_DIR=$U/cache \
  cargo build --offline --target-dir $U/target-$kind $runner
SH
  chown "$TEST_USER" "$U/build-$kind.sh"
  machine_cmd "rustc rustdoc cargo sccache"
  "${MACHINE[@]}" bash -c "mount --bind '$STABLE' '$T/toolchain' &&
    su $TEST_USER -s /bin/bash -c 'bash $U/build-$kind.sh'" >"$T/rootless-$kind.log" 2>&1
}

if rootless_build native; then ok "rootless: the user's native build succeeds"; else
  not_ok "rootless: the user's native build succeeds"
  show_failure "$T/rootless-native.log"
fi
directives "$U/target-native" >"$T/rootless-native.directives"
check "rootless: Cargo passed RUSTC=rustc" \
  assert_file_has "$(script_stderr "$U/target-native" toolprobe)" "^toolprobe: RUSTC=rustc\$"
for rt in $(runtimes); do
  if rootless_build "$rt" "$rt"; then ok "rootless, $rt: the user's build succeeds through the runner"; else
    not_ok "rootless, $rt: the user's build succeeds through the runner"
    show_failure "$T/rootless-$rt.log"
  fi
  directives "$U/target-$rt" >"$T/rootless-$rt.directives"
  check "rootless, $rt: num-traits', libc's and toolprobe's directives are the native set" \
    diff -u "$T/rootless-native.directives" "$T/rootless-$rt.directives"
  check "rootless, $rt: the runner ran those build scripts, rootless" \
    eval "ran_all '$U/target-$rt' '$rt .*rootless'"
  check "rootless, $rt: no container or bundle left behind" assert_eq 0 "$(leftovers "$U/state-$rt")" "leftovers"
done

check "no container or bundle left behind" assert_eq 0 "$(leftovers "$T/state")" "leftovers"
finish
