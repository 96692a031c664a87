#!/usr/bin/env bash
# The examples, built by real cargo with every build script in a container
# (runc and crun), produce the same binaries' output as a native build;
# directives (rustc-cfg, rustc-env, rustc-link-lib/-search, warning,
# links metadata) take effect.
. "$(dirname "$0")/../lib/libtest.sh"

export OCI_HOST_RUNNER_STATE_DIR=$T/state OCI_HOST_RUNNER_CACHE_DIR=$T/cache
EX=$TOP/examples
BINS="codegen cffi links-consumer cfgprobe"
outputs() { local b; for b in $BINS; do "$1/debug/$b"; done; }

cargo_build_native "$EX" "$T/native" || fatal "native build of the examples failed"
outputs "$T/native" >"$T/native.txt"
check "native examples print their lines" assert_eq 4 "$(wc -l <"$T/native.txt")" "lines"

for rt in $(runtimes); do
  tgt=$T/target-$rt
  if cargo_build_runner "$EX" "$tgt" --image host --runtime "$rt" -v; then
    ok "$rt: cargo build of the examples through the runner"
  else
    not_ok "$rt: cargo build of the examples through the runner"
    sed 's/^/# /' "$T/cargo.out" | tail -20
    continue
  fi
  for pkg in codegen cffi links-provider links-consumer cfgprobe; do
    check "$rt: $pkg's build script ran in the container" ran_in_container "$tgt" "$pkg" "$rt"
  done
  outputs "$tgt" >"$T/$rt.txt"
  check "$rt: binaries print the same as a native build" diff -u "$T/native.txt" "$T/$rt.txt"
  check "$rt: cargo::warning reaches Cargo" assert_file_has "$T/cargo.out" "warning: cfgprobe@0.1.0: cfgprobe: mode a"
  check "$rt: rustc-cfg and rustc-env took effect" assert_file_has "$T/$rt.txt" "cfgprobe: fast=true mode=a built_by=build.rs"
  check "$rt: rustc-link-lib/-search linked the C library" assert_file_has "$T/$rt.txt" "ohr_add\(40,2\)=42 msg=hello from C"
  check "$rt: DEP_ metadata reached the dependent (both syntaxes)" assert_file_has "$T/$rt.txt" "links: provider version=1.2.3 header="
  # rerun-if-env-changed + --env: the variable reaches the script only
  # because it is passed explicitly.
  cargo_env
  (cd "$EX" && OHR_EXAMPLE_MODE=b cargo build --offline -Zhost-config -Ztarget-applies-to-host \
    --target-dir "$tgt" --config "host.runner=[\"$OHR\",\"--runtime\",\"$rt\",\"--env\",\"OHR_EXAMPLE_MODE\"]") >"$T/cargo.out" 2>&1
  check "$rt: rerun-if-env-changed reruns the script with the passed variable" \
    assert_eq "cfgprobe: fast=true mode=b built_by=build.rs" "$("$tgt/debug/cfgprobe")" "cfgprobe output"
  # (a fresh target dir: Cargo does not rerun a script when only the
  # runner's arguments change)
  (cd "$EX" && OHR_EXAMPLE_MODE=b cargo build --offline -p cfgprobe -Zhost-config -Ztarget-applies-to-host \
    --target-dir "$T/neg-$rt" --config "host.runner=[\"$OHR\",\"--runtime\",\"$rt\"]") >"$T/cargo.out" 2>&1
  check "$rt: a variable not passed with --env does not reach the script" \
    assert_eq "cfgprobe: fast=true mode=a built_by=build.rs" "$("$T/neg-$rt/debug/cfgprobe")" "cfgprobe output"
done

# The config-file form from examples/cargo-config.toml works as documented.
mkdir -p "$T/proj"
cp -r "$EX"/. "$T/proj/"
rm -rf "$T/proj/target"
mkdir -p "$T/proj/.cargo"
sed "s|\"oci-host-runner\"|\"$OHR\"|" "$EX/cargo-config.toml" >"$T/proj/.cargo/config.toml"
cargo_env
(cd "$T/proj" && OCI_HOST_RUNNER_VERBOSE=1 cargo build --offline) >"$T/cargo.out" 2>&1 \
  && ok "cargo-config.toml: the documented config file works" \
  || { not_ok "cargo-config.toml: the documented config file works"; tail -5 "$T/cargo.out" | sed 's/^/# /'; }
check "cargo-config.toml: build scripts ran in a container" ran_in_container "$T/proj/target" codegen ""
check "no container or bundle left behind" assert_eq 0 "$(leftovers "$T/state")" "leftovers"
finish
