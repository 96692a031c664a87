#!/usr/bin/env bash
# Reproducibility attestations: build scripts run for real through the
# runner under runc and crun with --attest, which writes their run records,
# directive streams, policy bytes and statements; then signatures, bundles,
# and re-runs that reproduce or say why not.  Records in a state a real run
# does not leave (a failed script) are real records edited here.
. "$(dirname "$0")/../lib/libtest.sh"

A=${OHR_ATTEST:-$(dirname "$OHR")/oci-host-runner-attest}
[ -x "$A" ] || fatal "no attest helper at $A (make all)"
command -v runc >/dev/null || fatal "runc is not installed (make deps)"
command -v crun >/dev/null || fatal "crun is not installed (make deps)"
PY=/usr/bin/python3

export OCI_HOST_RUNNER_STATE_DIR=$T/state OCI_HOST_RUNNER_CACHE_DIR=$T/cache
unset OCI_HOST_RUNNER_ATTEST_DIR OCI_HOST_RUNNER_ATTEST_KEY
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
ATT=$T/attest
mkdir -p "$ATT"
# What Cargo sets besides what fake_cargo_context does.
export TARGET=x86_64-unknown-linux-gnu HOST=x86_64-unknown-linux-gnu
export PROFILE=debug OPT_LEVEL=0 DEBUG=true CARGO_FEATURE_STD=1
RUSTC=$(rustc --print sysroot)/bin/rustc
export RUSTC

# run CMD...: exit code in $rc, stdout in $T/out, stderr in $T/err
run() { rc=0; "$@" >"$T/out" 2>"$T/err" || rc=$?; }
# the policy file the runs are given: the record keeps its exact bytes
POLICY_TEXT='{"version": 1, "defaults": {"paths": "identity"}}'
POLICY=$T/policy.json
printf '%s' "$POLICY_TEXT" >"$POLICY"

# run records in $ATT, one a line, sorted
records() { (cd "$ATT" && LC_ALL=C ls -1 -- *.run.json 2>/dev/null) || true; }

# attested_run NAME RUNTIME: run $SCRIPT of the current fake Cargo context
# (as package NAME) through the runner under RUNTIME with --attest "$ATT";
# the runner writes the run record, the directive stream, the policy bytes
# and the statement.  $RECORD is the new record, $ID its id (the container
# id), $T/NAME.stdout what Cargo would have read.
attested_run() {
  local before new
  export CARGO_PKG_NAME=$1
  before=$(records)
  # the runner starts the helper the test calls for the statement
  (cd "$CARGO_MANIFEST_DIR" && OCI_HOST_RUNNER_ATTEST=$A "$OHR" --runtime "$2" \
    --paths identity --network none --policy "$POLICY" \
    --env OHR_PASSED=by-env --attest "$ATT" "$SCRIPT" --arg) \
    >"$T/$1.stdout" 2>"$T/$1.stderr" || {
    sed 's/^/#   /' "$T/$1.stderr" >&2
    return 1
  }
  new=$(LC_ALL=C comm -13 <(echo "$before") <(records))
  if [ -z "$new" ] || [ "$(echo "$new" | wc -l)" -ne 1 ]; then
    echo "# the runner wrote no single new run record: '$new'" >&2
    return 1
  fi
  RECORD=$ATT/$new
  ID=${new%.run.json}
}

# ---- a deterministic build script

cat >"$T/good.sh" <<'EOF'
#!/bin/sh
mkdir -p "$OUT_DIR/sub"
printf 'pub const ANSWER: u32 = 42;\n' >"$OUT_DIR/gen.rs"
printf 'nested\n' >"$OUT_DIR/sub/x.txt"
# a variable the runner passes only when asked (--env): the re-run must too
printf '%s\n' "$OHR_PASSED" >"$OUT_DIR/passed.txt"
printf '\000\001\002' >"$OUT_DIR/bin.dat"
echo "cargo:rustc-cfg=has_answer"
echo "cargo:rustc-link-search=native=$OUT_DIR"
echo "cargo:rerun-if-changed=build.rs"
EOF
fake_cargo_context "$T/good" "$T/good.sh"
printf 'fn main() {}\n' >"$CARGO_MANIFEST_DIR/build.rs"
GOOD_OUT=$OUT_DIR

before_s=$(date -u +%s)
attested_run good runc || fatal "the runner failed on the good script"
after_s=$(date -u +%s)
GOOD_RECORD=$RECORD GOOD_ID=$ID
STMT=$ATT/good-0.1.0-$GOOD_ID.intoto.json
check "--attest: the runner wrote the run record, the statement, no envelope without a key" \
  bash -c "[ -f '$GOOD_RECORD' ] && [ -f '$STMT' ] && ! ls '$ATT'/*.dsse.json 2>/dev/null"
check "run record: canonical JSON, named by its id, with this run's inputs" \
  "$PY" - "$GOOD_RECORD" "$POLICY_TEXT" "$SCRIPT" "$GOOD_OUT" "$CARGO_MANIFEST_DIR" <<'PY'
import json, os, shutil, sys
path, policy, script, out_dir, manifest_dir = sys.argv[1:6]
raw = open(path).read()
r = json.loads(raw)
d = os.path.dirname(path)
errors = []
def need(c, what):
    if not c: errors.append(what)
need(raw == json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n", "canonical: sorted keys, compact")
need(os.path.basename(path) == r["id"] + ".run.json" and r["id"].startswith("ohr-"), "id %r" % r["id"])
need(r["version"] == 1 and r["exit_status"] == 0, "version/exit_status")
need(r["package"] == {"name": "good", "version": "0.1.0"}, "package %r" % r["package"])
need(r["script"] == script and r["args"] == ["--arg"], "script/args")
need(r["out_dir"] == out_dir and r["manifest_dir"] == manifest_dir and r["cwd"] == manifest_dir, "paths")
need(r["runtime"] == {"name": "runc", "path": os.path.realpath(shutil.which("runc"))}, "runtime %r" % r["runtime"])
need(r["image"] == {"ref": "host", "digest": None}, "image %r" % r["image"])
need(r["paths"] == "identity" and r["network"] == "none", "paths/network")
need("OHR_PASSED=by-env" in r["env"] and "CARGO_FEATURE_STD=1" in r["env"], "env %r" % r["env"])
need(r["features"] == ["std"] and r["profile"] == "debug" and r["target"] == "x86_64-unknown-linux-gnu", "cargo variables")
need(r["directives"] == r["id"] + ".directives" and os.path.isfile(os.path.join(d, r["directives"])), "directives file")
need(r["policy_digest"] is None and r["policy"] == r["id"] + ".policy.json", "policy name")
need(r["policy"] and open(os.path.join(d, r["policy"])).read() == policy, "the policy bytes the runner parsed")
need(r["rustc"] and os.path.isabs(r["rustc"]) and r["toolchains"], "toolchain")
for x in errors:
    print("# " + x)
sys.exit(1 if errors else 0)
PY
check "--attest: the recorded directive stream is what the script printed" \
  cmp "$T/good.stdout" "$ATT/$GOOD_ID.directives"

# record again from the runner's record: the statement the runner made
mv "$STMT" "$T/runner-statement.json" || true
run "$A" record "$GOOD_RECORD"
check "record: exit 0, prints the statement path" \
  bash -c "[ $rc -eq 0 ] && [ \"\$(cat '$T/out')\" = '$STMT' ] && [ -f '$STMT' ]"
check "record: no envelope without a key" bash -c "! ls '$ATT'/*.dsse.json 2>/dev/null"
check "record: the runner's own statement is the one record makes from its record" \
  cmp "$T/runner-statement.json" "$STMT"

check "statement: in-toto v1, SLSA provenance v1, subjects and dependencies" \
  "$PY" - "$STMT" "$POLICY_TEXT" "$GOOD_ID" <<'PY'
import hashlib, json, sys
raw = open(sys.argv[1]).read()
s = json.loads(raw)
errors = []
def need(c, what):
    if not c: errors.append(what)
need(raw == json.dumps(s, sort_keys=True, separators=(",", ":")) + "\n", "canonical: sorted keys, compact")
need(s["_type"] == "https://in-toto.io/Statement/v1", "_type")
need(s["predicateType"] == "https://slsa.dev/provenance/v1", "predicateType")
names = [x["name"] for x in s["subject"]]
need(names == ["directives", "out/bin.dat", "out/gen.rs", "out/passed.txt", "out/sub/x.txt"], "subjects %r" % names)
need(all(len(x["digest"]["sha256"]) == 64 for x in s["subject"]), "sha256 digests")
b = s["predicate"]["buildDefinition"]
need(b["buildType"] == "https://oci-host-runner.dev/build-script/v1", "buildType")
e = b["externalParameters"]
need(e["package"] == {"name": "good", "version": "0.1.0"}, "package %r" % e["package"])
need(e["features"] == ["std"] and e["profile"] == "debug" and e["args"] == ["--arg"], "features/profile/args %r" % e)
need(e["target"] == "x86_64-unknown-linux-gnu", "target")
i = b["internalParameters"]
need(i["runtime"]["name"] == "runc" and i["runtime"]["version"].startswith("runc version"), "runtime %r" % i["runtime"])
need(i["paths"] == "identity" and i["network"] == "none" and i["runnerVersion"], "paths/network/version")
need(i["policyDigest"] == "sha256:" + hashlib.sha256(sys.argv[2].encode()).hexdigest(), "policyDigest of the policy file")
deps = {d["name"]: d for d in b["resolvedDependencies"]}
need(set(deps) == {"image", "build-script", "source", "toolchain"}, "dependencies %r" % sorted(deps))
need(deps["image"]["uri"] == "host", "image uri")
need(deps["toolchain"]["annotations"]["rustc"].startswith("rustc "), "rustc release")
r = s["predicate"]["runDetails"]
need(r["builder"]["id"].startswith("https://oci-host-runner.dev/runner/"), "builder id")
need(r["metadata"]["invocationId"] == sys.argv[3], "invocationId %r" % r["metadata"]["invocationId"])
for x in errors:
    print("# " + x)
sys.exit(1 if errors else 0)
PY

# The same inputs again: only runDetails.metadata differs.
attested_run good runc || fatal "second run failed"
check "two runs of the same inputs differ only in runDetails.metadata" \
  "$PY" - "$STMT" "$ATT/good-0.1.0-$ID.intoto.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a != b
for s in (a, b):
    del s["predicate"]["runDetails"]["metadata"]
sys.exit(0 if a == b else 1)
PY
rm -f "$ATT"/*"$ID"*

# ---- keys and signatures

run "$A" keygen --out "$T/keys/one"
check "keygen: makes nothing when the directory is missing" bash -c "[ $rc -eq 125 ]"
mkdir -p "$T/keys"
run "$A" keygen --out "$T/keys/one"
check "keygen: exit 0, PREFIX.key 0600 and PREFIX.pub" \
  bash -c "[ $rc -eq 0 ] && [ \$(stat -c %a '$T/keys/one.key') = 600 ] && [ -f '$T/keys/one.pub' ]"
check "keygen: PKCS#8 PEM, never printed" \
  bash -c "grep -q 'BEGIN PRIVATE KEY' '$T/keys/one.key' && ! grep -q PRIVATE '$T/out' && openssl pkey -in '$T/keys/one.key' -noout -text | grep -qi ed25519"
run "$A" keygen --out "$T/keys/one"
check "keygen: refuses to overwrite (exit 121)" \
  bash -c "[ $rc -eq 121 ] && grep -q 'exists' '$T/err'"
"$A" keygen --out "$T/keys/two" >/dev/null

run "$A" record "$GOOD_RECORD" --key "$T/keys/one.key"
ENV=$ATT/good-0.1.0-$GOOD_ID.dsse.json
check "record --key: statement and DSSE envelope" \
  bash -c "[ $rc -eq 0 ] && [ \"\$(sed -n 2p '$T/out')\" = '$ENV' ] && [ -f '$ENV' ]"
check "envelope: payload is the statement, ed25519 signature" \
  "$PY" - "$ENV" "$STMT" <<'PY'
import base64, json, sys
e = json.load(open(sys.argv[1]))
assert e["payloadType"] == "application/vnd.in-toto+json"
assert base64.b64decode(e["payload"]) + b"\n" == open(sys.argv[2], "rb").read()
assert len(e["signatures"]) == 1 and len(base64.b64decode(e["signatures"][0]["sig"])) == 64
assert len(e["signatures"][0]["keyid"]) == 64
PY
rm -f "$ENV"
OCI_HOST_RUNNER_ATTEST_KEY=$T/keys/one.key "$A" record "$GOOD_RECORD" >/dev/null
check "record: OCI_HOST_RUNNER_ATTEST_KEY signs too" test -f "$ENV"

run "$A" attest-verify "$ENV" --key "$T/keys/one.pub"
check "attest-verify: good signature and subjects, exit 0, OK" \
  bash -c "[ $rc -eq 0 ] && grep -q '^OK' '$T/out'"
run "$A" attest-verify "$ENV" --key "$T/keys/two.pub"
check "attest-verify: another key fails (exit 1)" \
  bash -c "[ $rc -eq 1 ] && grep -q 'signature verification failed' '$T/err'"
"$PY" - "$ENV" "$T/tampered.dsse.json" <<'PY'
import base64, json, sys
e = json.load(open(sys.argv[1]))
p = bytearray(base64.b64decode(e["payload"]))
p[p.index(b"ANSWER") if b"ANSWER" in p else 10] ^= 1
e["payload"] = base64.b64encode(bytes(p)).decode()
json.dump(e, open(sys.argv[2], "w"))
PY
cp "$T/tampered.dsse.json" "$ATT/tampered.dsse.json"
run "$A" attest-verify "$ATT/tampered.dsse.json" --key "$T/keys/one.pub"
check "attest-verify: a flipped payload byte fails (exit 1)" \
  bash -c "[ $rc -eq 1 ] && grep -q 'signature verification failed' '$T/err'"
rm -f "$ATT/tampered.dsse.json"
run "$A" attest-verify "$ENV"
check "attest-verify: an envelope needs --key (exit 121)" bash -c "[ $rc -eq 121 ]"

# ---- re-run: the same outputs

run "$A" verify "$STMT"
check "verify: the deterministic script reproduces (exit 0)" \
  bash -c "[ $rc -eq 0 ] && grep -q '^reproducible' '$T/out'"
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$T/out" "$T/err" >&2
run "$A" verify "$ENV" --runner "$OHR"
check "verify: takes the envelope and --runner" \
  bash -c "[ $rc -eq 0 ] && grep -q '^reproducible' '$T/out'"
check "verify: leaves no temporary tree" bash -c "[ -z \"\$(ls -A '$TMPDIR')\" ]"
check "verify: leaves no container or bundle" \
  assert_eq 0 "$(leftovers "$OCI_HOST_RUNNER_STATE_DIR")" "leftovers"

check "the first run saw the --env variable" grep -qx by-env "$GOOD_OUT/passed.txt"

# ---- tampered outputs

printf 'pub const ANSWER: u32 = 43;\n' >"$GOOD_OUT/gen.rs"
touch "$GOOD_OUT/planted"
run "$A" attest-verify "$ENV" --key "$T/keys/one.pub"
check "attest-verify: a tampered OUT_DIR file fails (exit 1) naming it" \
  bash -c "[ $rc -eq 1 ] && grep -q '^changed: out/gen.rs' '$T/out' && grep -q '^extra: out/planted' '$T/out'"
run "$A" attest-verify "$STMT"
check "attest-verify: an unsigned statement is checked too" \
  bash -c "[ $rc -eq 1 ] && grep -q '^changed: out/gen.rs' '$T/out'"
rm -f "$GOOD_OUT/planted"
printf 'pub const ANSWER: u32 = 42;\n' >"$GOOD_OUT/gen.rs"

# ---- re-runs that do not reproduce, and why

# not_reproducible NAME SCRIPT-BODY HINT: the first run under crun, its
# statement written by the runner; the re-run (verify) under crun too
not_reproducible() {
  local name=$1 hint=$3
  printf '#!/bin/sh\n%s\n' "$2" >"$T/$name.sh"
  fake_cargo_context "$T/$name" "$T/$name.sh"
  attested_run "$name" crun || { not_ok "$name: first run"; return; }
  run "$A" verify "$ATT/$name-0.1.0-$ID.intoto.json"
  if [ "$rc" -eq 1 ] && grep -q "hint: $hint" "$T/out"; then
    ok "verify: $name is not reproducible, hint '$hint'"
  else
    not_ok "verify: $name is not reproducible, hint '$hint' (exit $rc)"
    sed 's/^/#   /' "$T/out" "$T/err" >&2
  fi
}

not_reproducible stamp 'date +%s%N >"$OUT_DIR/stamp.txt"; echo cargo:rustc-cfg=x' timestamp
STAMP_RECORD=$RECORD STAMP_ID=$ID
grep -qE '^  line 1, recorded: [0-9]{19}$' "$T/out" && grep -qE '^  line 1, now: +[0-9]{19}$' "$T/out" &&
  ok "verify: shows the first differing line, recorded and now" ||
  not_ok "verify: shows the first differing line, recorded and now"
not_reproducible outpath 'echo "pub const DIR: &str = \"$OUT_DIR\";" >"$OUT_DIR/dir.rs"' "absolute path"
not_reproducible shuffled 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo cargo:rustc-cfg=f$i; done | shuf' "random order"
check "verify: random order is found in the directive stream" grep -q '^changed: directives' "$T/out"
check "verify: no temporary tree left after failures" bash -c "[ -z \"\$(ls -A '$TMPDIR')\" ]"
check "crun: the record and the statement name crun and its version" \
  "$PY" - "$STAMP_RECORD" "$ATT/stamp-0.1.0-$STAMP_ID.intoto.json" <<'PY'
import json, os, shutil, sys
r = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
assert r["runtime"] == {"name": "crun", "path": os.path.realpath(shutil.which("crun"))}, r["runtime"]
rt = s["predicate"]["buildDefinition"]["internalParameters"]["runtime"]
assert rt["name"] == "crun" and rt["version"].startswith("crun version"), rt
assert s["predicate"]["runDetails"]["metadata"]["invocationId"] == r["id"]
PY

# started and finished are the run's, read from the clock around it
# (seconds resolution; no bound on how long it took)
check "run record: started <= finished, both within the run's wall-clock span" \
  "$PY" -c '
import calendar, json, sys, time
r = json.load(open(sys.argv[1]))
t = lambda s: calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S"))
a, b = t(r["started"]), t(r["finished"])
ok = int(sys.argv[2]) <= a <= b <= int(sys.argv[3])
print("# started %s finished %s" % (r["started"], r["finished"]), file=sys.stderr)
sys.exit(0 if ok else 1)' "$GOOD_RECORD" "$before_s" "$after_s"

# A script that fails: the runner attests nothing (its exit status is the
# script's own); a failed run's record is made below by editing a real one.
printf '#!/bin/sh\necho cargo:rustc-cfg=x\nexit 3\n' >"$T/fails.sh"
fake_cargo_context "$T/fails" "$T/fails.sh"
run env -C "$CARGO_MANIFEST_DIR" CARGO_PKG_NAME=fails "$OHR" --runtime runc --policy "$POLICY" --attest "$T/attest-fails" "$SCRIPT"
check "--attest: a failing script keeps its exit status, no run record or statement" \
  bash -c "[ $rc -eq 3 ] && ! ls '$T/attest-fails'/*.run.json '$T/attest-fails'/*.intoto.json 2>/dev/null"
check "--attest: ... and no directive stream left on its own" \
  assert_eq "" "$(ls -A "$T/attest-fails" 2>/dev/null)" "files in the attest dir"

# ---- bundles

"$A" record "$STAMP_RECORD" --key "$T/keys/one.key" >/dev/null
run "$A" bundle "$ATT"
BUNDLE=$ATT/bundle.intoto.jsonl
check "bundle: exit 0, default output DIR/bundle.intoto.jsonl" \
  bash -c "[ $rc -eq 0 ] && [ -f '$BUNDLE' ] && grep -q '$BUNDLE' '$T/out'"
check "bundle: one JSON per line, sorted by package, envelopes when signed" \
  "$PY" - "$BUNDLE" <<'PY'
import base64, json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "ends with a newline"
docs = [json.loads(l) for l in lines[:-1]]
def statement(d):
    return json.loads(base64.b64decode(d["payload"])) if "payloadType" in d else d
pkgs = [statement(d)["predicate"]["buildDefinition"]["externalParameters"]["package"]["name"] for d in docs]
assert pkgs == ["good", "outpath", "shuffled", "stamp"], pkgs
signed = ["payloadType" in d for d in docs]
assert signed == [True, False, False, True], signed
for l, d in zip(lines, docs):
    assert l == json.dumps(d, sort_keys=True, separators=(",", ":")), "canonical"
PY
cp "$BUNDLE" "$T/bundle.1"
run "$A" bundle "$ATT" --out "$T/bundle.2"
check "bundle: deterministic, --out" cmp -s "$T/bundle.1" "$T/bundle.2"

# ---- through the runner, under a real cargo build: --attest and a key
# from the environment; the runner's own commands reach the helper
EXATT=$T/cargo-att
"$OHR" attest keygen --out "$T/cargo-key" >/dev/null
cargo_env
if (cd "$TOP/examples" && OCI_HOST_RUNNER_ATTEST_KEY=$T/cargo-key.key cargo build --offline \
  -p codegen -p links-consumer -Zhost-config -Ztarget-applies-to-host --target-dir "$T/cargo-t" \
  --config "host.runner=[\"$OHR\",\"--attest\",\"$EXATT\"]") >"$T/cargo.out" 2>&1; then
  ok "cargo build with --attest"
else
  not_ok "cargo build with --attest"; tail -5 "$T/cargo.out" | sed 's/^/# /'
fi
check "one signed statement per build script (codegen, links-provider, links-consumer)" \
  assert_eq 3 "$(ls "$EXATT"/*.dsse.json 2>/dev/null | wc -l)" "envelopes"
vfail=0
for f in "$EXATT"/*.dsse.json; do
  "$OHR" attest verify "$f" --key "$T/cargo-key.pub" >/dev/null 2>&1 || vfail=$((vfail + 1))
done
check "oci-host-runner attest verify: every statement checks out" assert_eq 0 "$vfail" "failures"
check "the recorded directive streams are what the scripts printed (canonical paths)" \
  bash -c "grep -q '^cargo:include=/cargo/target/debug/build/links-provider-[0-9a-f]*/out/include$' $EXATT/*.directives && ! grep -q '$T/cargo-t' $EXATT/*.directives"
st=$(ls "$EXATT"/codegen-*.intoto.json | head -1)
run "$OHR" verify "$st"
check "oci-host-runner verify re-runs codegen's build script: reproducible" assert_eq 0 "$rc" "exit code"
run "$OHR" attest bundle "$EXATT" --out "$T/cargo-bundle.jsonl"
check "oci-host-runner attest bundle: 3 lines" assert_eq 3 "$(wc -l <"$T/cargo-bundle.jsonl")" "lines"

# ---- command line

run "$A" --help
check "--help lists the commands" bash -c "[ $rc -eq 0 ] && grep -q 'attest-verify' '$T/out'"
for c in record keygen attest-verify bundle verify; do
  run "$A" "$c" --help
  check "$c --help" bash -c "[ $rc -eq 0 ] && grep -q 'Usage: oci-host-runner-attest $c' '$T/out'"
done
run "$A" frobnicate
check "unknown command: exit 121, one line" \
  bash -c "[ $rc -eq 121 ] && [ \$(wc -l <'$T/err') -eq 1 ] && grep -q '^oci-host-runner-attest: ' '$T/err'"
run "$A" record
check "record without RUN.json: exit 121" assert_eq 121 "$rc" "exit code"
run "$A" record "$GOOD_RECORD" --runner /x
check "an option the command does not take: exit 121" assert_eq 121 "$rc" "exit code"
run "$A" record "$T/nonexistent.run.json"
check "record of a missing record: exit 125" assert_eq 125 "$rc" "exit code"
# a failed run leaves no record (above): this one is the good run's, edited
sed 's/"exit_status":0/"exit_status":1/' "$GOOD_RECORD" >"$ATT/ohr-failed.run.json"
sed -i "s/\"id\":\"$GOOD_ID\"/\"id\":\"ohr-failed\"/" "$ATT/ohr-failed.run.json"
run "$A" record "$ATT/ohr-failed.run.json"
check "record of a failed script: exit 125, says so" \
  bash -c "[ $rc -eq 125 ] && grep -q 'the build script failed' '$T/err'"

finish
