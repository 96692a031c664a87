#!/usr/bin/env bash
# `verify` of a build script that compiles C with the cc crate, built by
# real cargo with --paths canonical and --attest under runc and crun.  Its
# directives name OUT_DIR (cargo:rustc-link-search=native=...): the
# recorded stream has the container's OUT_DIR, Cargo read the host's, and
# the re-run must be compared in the recorded form, whatever its own
# temporary OUT_DIR is.  Then differences that are real must still be
# found: a tampered statement, and the same script made nondeterministic
# by a variable (a directive and an OUT_DIR file that change).
. "$(dirname "$0")/../lib/libtest.sh"

A=${OHR_ATTEST:-$(dirname "$OHR")/oci-host-runner-attest}
[ -x "$A" ] || fatal "no attest helper at $A (make all)"
command -v runc >/dev/null || fatal "runc is not installed (make deps)"
command -v crun >/dev/null || fatal "crun is not installed (make deps)"
ls -d /usr/share/cargo/registry/cc-[0-9]* >/dev/null 2>&1 ||
  fatal "crate cc missing from /usr/share/cargo/registry (make deps: librust-cc-dev)"
PY=/usr/bin/python3

export OCI_HOST_RUNNER_STATE_DIR=$T/state OCI_HOST_RUNNER_CACHE_DIR=$T/cache
unset OCI_HOST_RUNNER_ATTEST_DIR OCI_HOST_RUNNER_ATTEST_KEY OHR_NONDET
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"

# run CMD...: exit code in $rc, stdout in $T/out, stderr in $T/err
run() { rc=0; "$@" >"$T/out" 2>"$T/err" || rc=$?; }
show() { sed 's/^/#   /' "$T/out" "$T/err" >&2; }

# The crate: tests/corpus/ccdep (cc compiles csrc/mix.c into libohrmix.a in
# OUT_DIR and prints its link-search), crates from Debian's registry, and
# a switch in its build script: with OHR_NONDET set it also prints the
# time of the build in a directive and writes it to OUT_DIR/built.txt,
# after cc's own directives.
C=$T/crate
mkdir -p "$C/.cargo"
cp -r "$TOP/tests/corpus/ccdep/." "$C/"
cp "$TOP/tests/corpus/.cargo/config.toml" "$C/.cargo/"
cat >"$C/build.rs" <<'EOF'
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo:rerun-if-changed=csrc/mix.c");
    println!("cargo:rerun-if-env-changed=OHR_NONDET");
    cc::Build::new().file("csrc/mix.c").compile("ohrmix");
    if std::env::var_os("OHR_NONDET").is_some() {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        println!("cargo:rustc-env=OHR_BUILT={t}");
        let out = std::env::var("OUT_DIR").unwrap();
        std::fs::write(format!("{out}/built.txt"), format!("{t}\n")).unwrap();
    }
}
EOF

# statements of ohr-ccdep in DIR, one a line
statements() { (cd "$1" && LC_ALL=C ls -1 -- ohr-ccdep-0.1.0-*.intoto.json 2>/dev/null) || true; }
# record_field STATEMENT KEY: a field of the statement's run record
record_field() {
  "$PY" - "$1" "$2" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1]))
i = s["predicate"]["runDetails"]["metadata"]["invocationId"]
r = json.load(open(os.path.join(os.path.dirname(sys.argv[1]), i + ".run.json")))
print(r[sys.argv[2]])
PY
}

# tamper STATEMENT COPY SUBJECT...: COPY is STATEMENT with the digests of
# the SUBJECTs changed
tamper() {
  "$PY" - "$@" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for x in s["subject"]:
    if x["name"] in sys.argv[3:]:
        d = x["digest"]["sha256"]
        x["digest"]["sha256"] = ("1" if d[0] == "0" else "0") + d[1:]
json.dump(s, open(sys.argv[2], "w"), sort_keys=True, separators=(",", ":"))
PY
  chmod 644 "$2"
}

for rt in runc crun; do
  att=$T/att-$rt tgt=$T/target-$rt
  if cargo_build_runner "$C" "$tgt" --runtime "$rt" --paths canonical \
    --env OHR_NONDET --attest "$att"; then
    ok "$rt: cargo builds the cc crate with canonical paths and --attest"
  else
    not_ok "$rt: cargo builds the cc crate with canonical paths and --attest"
    tail -15 "$T/cargo.out" | sed 's/^/# /'
    continue
  fi
  st=$att/$(statements "$att")
  [ -f "$st" ] || { not_ok "$rt: one statement for ohr-ccdep"; continue; }
  host_out=$(record_field "$st" out_dir)
  stream=$att/$(record_field "$st" directives)
  check "$rt: Cargo read the link-search of the host OUT_DIR" \
    assert_file_has "$(dirname "$host_out")/output" "^cargo:rustc-link-search=native=$host_out\$"
  rec=$(sed -n 's/^cargo:rustc-link-search=native=//p' "$stream")
  check "$rt: the recorded stream has it in container form (not under the host's $T)" \
    bash -c "[ -n '$rec' ] && [ '${rec#"$T"}' = '$rec' ] && [ '$rec' != '$host_out' ]"
  check "$rt: the statement covers the C library in OUT_DIR" \
    assert_file_has "$st" '"name":"out/libohrmix.a"'

  # the same build script, re-run: reproducible, link-search and all
  run "$OHR" verify "$st" --keep
  if [ "$rc" -eq 0 ] && grep '^reproducible: ' "$T/out" >/dev/null; then
    ok "$rt: verify says reproducible"
  else
    not_ok "$rt: verify says reproducible (exit $rc)"
    show
  fi
  kept=$(sed -n 's/^kept: //p' "$T/out")
  check "$rt: the re-run's own stream has the same directives as the recorded one" \
    bash -c "[ -d '$kept' ] && diff <(grep '^cargo:' '$stream') <(cat '$kept'/attest/*.directives | grep '^cargo:')"
  rm -rf "$kept"

  # a tampered statement: the C library's and the directives' digests
  tampered=$att/tampered-$(basename "$st")
  tamper "$st" "$tampered" directives out/libohrmix.a
  run "$OHR" verify "$tampered"
  if [ "$rc" -eq 1 ] && grep '^changed: directives$' "$T/out" >/dev/null &&
    grep '^changed: out/libohrmix.a$' "$T/out" >/dev/null &&
    grep '^not reproducible: 2 differences' "$T/out" >/dev/null; then
    ok "$rt: a tampered statement: not reproducible, naming the directives and the library"
  else
    not_ok "$rt: a tampered statement: not reproducible, naming the directives and the library (exit $rc)"
    show
  fi
  rm -f "$tampered"

  # the script made nondeterministic by a variable: cargo re-runs it
  before=$(statements "$att")
  if OHR_NONDET=1 cargo_build_runner "$C" "$tgt" --runtime "$rt" --paths canonical \
    --env OHR_NONDET --attest "$att"; then
    ok "$rt: cargo re-runs the build script with OHR_NONDET set"
  else
    not_ok "$rt: cargo re-runs the build script with OHR_NONDET set"
    tail -15 "$T/cargo.out" | sed 's/^/# /'
    continue
  fi
  new=$(LC_ALL=C comm -13 <(echo "$before") <(statements "$att"))
  [ -n "$new" ] && [ -f "$att/$new" ] || { not_ok "$rt: a new statement"; continue; }
  run "$OHR" verify "$att/$new"
  if [ "$rc" -eq 1 ] && grep '^not reproducible: 2 differences' "$T/out" >/dev/null &&
    grep -A1 '^changed: directives$' "$T/out" | grep -E '^  line [0-9]+, recorded: cargo:rustc-env=OHR_BUILT=[0-9]+$' >/dev/null &&
    grep '^changed: out/built.txt$' "$T/out" >/dev/null; then
    ok "$rt: nondeterministic: the changed directive (not the link-search) and out/built.txt"
  else
    not_ok "$rt: nondeterministic: the changed directive (not the link-search) and out/built.txt (exit $rc)"
    show
  fi
  check "$rt: ... with the timestamp hint" \
    assert_file_has "$T/out" '^  hint: timestamp'

  # a re-run that fails (its record edited: a C compiler that is not
  # there): the exit status, and no directive stream to compare
  "$PY" - "$att/$(record_field "$att/$new" id).run.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["env"] = [e for e in r["env"] if not e.startswith("CC=")] + ["CC=/nonexistent/cc"]
json.dump(r, open(sys.argv[1], "w"), sort_keys=True, separators=(",", ":"))
PY
  run "$OHR" verify "$att/$new"
  if [ "$rc" -eq 1 ] && grep -E '^exit status: recorded 0, now [1-9][0-9]*$' "$T/out" >/dev/null &&
    grep -A1 '^missing: directives$' "$T/out" | grep 'no directive stream of a run that failed' >/dev/null; then
    ok "$rt: a re-run that fails: its exit status, and no directive stream"
  else
    not_ok "$rt: a re-run that fails: its exit status, and no directive stream (exit $rc)"
    show
  fi
done

# ---- rootless: the same build and re-run by an unprivileged user (the
# toolchain under /root bound where the user reaches it, as test-rootless)
if [ "$(id -u)" -eq 0 ]; then
  ensure_test_user
  SYSROOT=$(rustc --print sysroot)
  mkdir -p "$T/bin" "$T/toolchain" "$T/u/crate"
  cp "$OHR" "$(dirname "$OHR")/ohr-init" "$A" "$T/bin/"
  cp -r "$C/." "$T/u/crate/"
  chown -R "$TEST_USER" "$T/u"
  for rt in runc crun; do
    U=$T/u
    install -d -m 700 -o "$TEST_USER" "$U/xdg-$rt" "$U/tmp-$rt"
    # as_test_user SYSROOT SCRIPT runs SCRIPT as the user
    user_env="export PATH=$T/toolchain/bin:/usr/bin:/bin HOME=$U/home CARGO_HOME=$U/cargo-home
export RUSTC_BOOTSTRAP=1 CARGO_NET_OFFLINE=true TMPDIR=$U/tmp-$rt
export XDG_RUNTIME_DIR=$U/xdg-$rt XDG_CACHE_HOME=$U/cache
unset OCI_HOST_RUNNER_STATE_DIR OCI_HOST_RUNNER_CACHE_DIR OCI_HOST_RUNNER_STORE_DIR
unset OCI_HOST_RUNNER_ATTEST_DIR OCI_HOST_RUNNER_ATTEST_KEY OHR_NONDET"
    cat >"$U/build-$rt.sh" <<SH
set -e
$user_env
cd $U/crate
cargo build --offline -Zhost-config -Ztarget-applies-to-host --target-dir $U/target-$rt \
  --config 'host.runner=["$T/bin/oci-host-runner","--runtime","$rt","--paths","canonical","--attest","$U/att-$rt"]'
SH
    if as_test_user "$SYSROOT" "$U/build-$rt.sh"; then
      ok "$rt rootless: cargo builds the cc crate with canonical paths and --attest"
    else
      not_ok "$rt rootless: cargo builds the cc crate with canonical paths and --attest"
      tail -15 "$T/cargo.out" | sed 's/^/# /'
      continue
    fi
    st=$U/att-$rt/$(statements "$U/att-$rt")
    tampered=$U/att-$rt/tampered-$(basename "$st")
    tamper "$st" "$tampered" out/libohrmix.a
    # verify: reproducible (exit 0), then the tampered statement (exit 1)
    cat >"$U/verify-$rt.sh" <<SH
$user_env
rc=0; $T/bin/oci-host-runner verify $st >$U/verify-$rt.out 2>&1 || rc=\$?
echo "exit \$rc" >>$U/verify-$rt.out
rc=0; $T/bin/oci-host-runner verify $tampered >$U/tampered-$rt.out 2>&1 || rc=\$?
echo "exit \$rc" >>$U/tampered-$rt.out
SH
    as_test_user "$SYSROOT" "$U/verify-$rt.sh" || true
    if grep '^reproducible: ' "$U/verify-$rt.out" >/dev/null && grep -x 'exit 0' "$U/verify-$rt.out" >/dev/null; then
      ok "$rt rootless: verify says reproducible"
    else
      not_ok "$rt rootless: verify says reproducible"
      sed 's/^/#   /' "$U/verify-$rt.out" "$T/cargo.out" >&2
    fi
    if grep -x 'changed: out/libohrmix.a' "$U/tampered-$rt.out" >/dev/null &&
      grep '^not reproducible: 1 differences' "$U/tampered-$rt.out" >/dev/null &&
      grep -x 'exit 1' "$U/tampered-$rt.out" >/dev/null; then
      ok "$rt rootless: a tampered statement: not reproducible, naming the library"
    else
      not_ok "$rt rootless: a tampered statement: not reproducible, naming the library"
      sed 's/^/#   /' "$U/tampered-$rt.out" >&2
    fi
    check "$rt rootless: verify leaves no temporary tree" \
      bash -c "[ -z \"\$(ls -A '$U/tmp-$rt')\" ]"
  done
else
  skip "rootless: needs root to create the test user"
fi

check "verify leaves no temporary tree" bash -c "[ -z \"\$(ls -A '$TMPDIR')\" ]"
check "verify leaves no container or bundle" \
  assert_eq 0 "$(leftovers "$OCI_HOST_RUNNER_STATE_DIR")" "leftovers"

finish
