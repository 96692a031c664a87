#!/usr/bin/env bash
# OCI hooks (src/run/hooks.c, hooks/): the real runtimes run the hooks the
# runner selects, each at its stage and in the right place, and the shipped
# ohr-outdir-digest hook records the digest of OUT_DIR.
#
# Until the runner passes hooks itself, the bundle comes from the real
# runner (--keep-bundle) and build/tests/hooks-spec (tests/tools/) puts the
# selected hooks and annotations into its config.json with the runner's
# own generator; then runc and crun run that bundle by hand, as the runner
# would: fd 3 is ohr-init's report pipe and fd 4 the script's stderr.
. "$(dirname "$0")/../lib/libtest.sh"

# the hooks-spec of the build under test, beside $OHR
HOOKS_SPEC=${OHR_HOOKS_SPEC:-$(dirname "$OHR")/tests/hooks-spec}
[ -x "$HOOKS_SPEC" ] || fatal "$HOOKS_SPEC missing (make all)"
[ "$(id -u)" -eq 0 ] || fatal "runs the runtimes by hand as root"
SCHEMA=/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema
[ -f "$SCHEMA/config-schema.json" ] || fatal "OCI runtime-spec schema not installed (make deps)"

export OCI_HOST_RUNNER_STATE_DIR=$T/state OCI_HOST_RUNNER_CACHE_DIR=$T/cache
# The build script logs when it ran, and leaves a small tree in OUT_DIR for
# the digest: nested files, a name with a space, a symlink inside OUT_DIR.
cat >"$T/script.sh" <<'EOF'
#!/bin/sh
echo "script $(date +%s%N)" >>"$OUT_DIR/stages.log"
mkdir -p "$OUT_DIR/gen/sub"
printf 'pub const X: u32 = 1;\n' >"$OUT_DIR/gen/x.rs"
printf 'two words\n' >"$OUT_DIR/gen/sub/a file.txt"
ln -sfn x.rs "$OUT_DIR/gen/link.rs"
EOF
fake_cargo_context "$T/ctx" "$T/script.sh"
BUILD_DIR=$(dirname "$(dirname "$OUT_DIR")")
PACKAGE="pkg 0.1.0"

# One hook program for every stage: it saves the state it gets on stdin
# and logs "<stage> <ns> <hostname> <mount ns> <uts ns>".  It lives in the build
# directory, which the container sees read-only at the same path (identity
# paths), because a startContainer hook runs inside the container; it logs
# into OUT_DIR, the one place the container may write.
STAGE_HOOK=$BUILD_DIR/hooks/stage-hook
mkdir -p "$(dirname "$STAGE_HOOK")"
cat >"$STAGE_HOOK" <<'EOF'
#!/bin/sh
cat >"$2.$1.json"
echo "$1 $(date +%s%N) $(cat /proc/sys/kernel/hostname) $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/uts)" >>"$2"
EOF
chmod 755 "$STAGE_HOOK"
LOG=$OUT_DIR/stages.log
mkdir -p "$T/stage-hooks"
i=0
for s in prestart createRuntime createContainer startContainer poststart poststop; do
  i=$((i + 1))
  cat >"$T/stage-hooks/$i-$s.json" <<EOF
{
  "version": "1.0.0",
  "hook": { "path": "$STAGE_HOOK", "args": ["stage-hook", "$s", "$LOG"] },
  "when": { "always": true },
  "stages": ["$s"]
}
EOF
done
# conditions: on the build script's path, and on an annotation
cat >"$T/stage-hooks/7-commands.json" <<EOF
{ "version": "1.0.0",
  "hook": { "path": "$STAGE_HOOK", "args": ["stage-hook", "commands-match", "$LOG"] },
  "when": { "commands": ["/build-script-build\$"] }, "stages": ["poststop"] }
EOF
cat >"$T/stage-hooks/8-other-command.json" <<EOF
{ "version": "1.0.0",
  "hook": { "path": "$STAGE_HOOK", "args": ["stage-hook", "commands-nomatch", "$LOG"] },
  "when": { "commands": ["/build-script-main\$"] }, "stages": ["poststop"] }
EOF
cat >"$T/stage-hooks/9-annotation.json" <<EOF
{ "version": "1.0.0",
  "hook": { "path": "$STAGE_HOOK", "args": ["stage-hook", "annotation-nomatch", "$LOG"] },
  "when": { "annotations": { "^org\\\\.example\\\\.absent\$": "." } }, "stages": ["poststop"] }
EOF

# bundle RUNTIME: a fresh bundle from the real runner; prints its path.
bundle() {
  rm -rf "$OCI_HOST_RUNNER_STATE_DIR"
  (cd "$CARGO_MANIFEST_DIR" &&
    "$OHR" --runtime "$1" --paths identity --keep-bundle "$SCRIPT") 2>"$T/runner.err" ||
    { sed 's/^/# /' "$T/runner.err" >&2; return 1; }
  sed -n 's/^oci-host-runner: bundle kept at //p' "$T/runner.err"
}

# The binds the runner makes in the runtime's mount namespace as root (the
# rootfs and package root, for the container's unprivileged root), as
# "mount --bind SRC DST; " commands (src/cli/run.c --keep-bundle).
stage_binds() {
  sed -n "s/^oci-host-runner: bundle binds \(.*\) at \(.*\)$/mount --bind '\1' '\2'; /p" "$T/runner.err" | tr -d '\n'
}

# run_runtime RUNTIME BUNDLE ID: run it by hand as the runner would.  As
# root that includes lending OUT_DIR to the container's root (the mapped
# id of the spec: the hooks in the container's namespaces run as it) and
# giving it back after.
run_runtime() {
  local rt=$1 b=$2 id=$3 root=$T/root-$1 binds map rc=0
  binds=$(stage_binds)
  map=$(python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))["linux"].get("uidMappings"); print(m[0]["hostID"] if m else "")' "$b/config.json")
  # the log exists before the hooks run, so that it is lent too: the
  # hooks of the container's stages append to it as the mapped root
  [ -z "$map" ] || { : >>"$LOG" && chown -R "$map:$map" "$OUT_DIR"; }
  run_runtime_lent "$rt" "$b" "$id" "$root" "$binds" || rc=$?
  [ -z "$map" ] || chown -R 0:0 "$OUT_DIR"
  return $rc
}
run_runtime_lent() {
  local rt=$1 b=$2 id=$3 root=$4 binds=$5
  if [ "$rt" = runc ]; then
    at_exit "runc --root '$root' delete --force '$id' >/dev/null 2>&1"
    # shellcheck disable=SC2016 # expanded by the inner sh
    unshare -m --propagation slave sh -c "$binds"'
      exec runc --root "$1" run --bundle "$2" --preserve-fds 2 "$3" 3>/dev/null 4>&2' \
      sh "$root" "$b" "$id"
  else
    # crun refuses hybrid cgroups: a private mount namespace without the
    # v2 "unified" tree, as the runner does
    at_exit "crun --root '$root' delete --force '$id' >/dev/null 2>&1"
    # shellcheck disable=SC2016 # expanded by the inner sh
    unshare -m --propagation private sh -c "$binds"'
      if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
      exec crun --root "$1" run --bundle "$2" --preserve-fds 2 "$3" 3>/dev/null 4>&2' \
      sh "$root" "$b" "$id"
  fi
}

# field STAGE N: field N of the stage's log line
field() { awk -v s="$1" -v n="$2" '$1 == s { print $n }' "$LOG"; }
# line STAGE: the stage's line number in the log.  Every stage appends one
# line when it runs, so a stage that finished before another started has
# the lower number: order without comparing clocks.
line() { awk -v s="$1" '$1 == s { print NR }' "$LOG"; }

check_order() { # log: every stage once, in order, in the right place
  local errors=0 s
  for s in prestart createRuntime createContainer startContainer poststart script poststop commands-match; do
    [ "$(grep -c "^$s " "$LOG")" -eq 1 ] || { echo "# $s ran $(grep -c "^$s " "$LOG") times" >&2; errors=1; }
  done
  for s in commands-nomatch annotation-nomatch; do
    ! grep -q "^$s " "$LOG" || { echo "# $s ran: its condition does not hold" >&2; errors=1; }
  done
  [ $errors -eq 0 ] || { sed 's/^/#   /' "$LOG" >&2; return 1; }
  lt() { # a b: stage a ran (and logged) before stage b
    [ "$(line "$1")" -lt "$(line "$2")" ] && return 0
    echo "# $1 did not run before $2" >&2
    errors=1
  }
  # the runtime-spec order; poststart is fired concurrently with the
  # container's start by both runtimes, so only create < poststart < stop
  lt prestart createContainer
  lt createRuntime createContainer
  lt createContainer startContainer
  lt startContainer script
  lt script poststop
  lt createContainer poststart
  lt poststart poststop
  # where: startContainer inside the container (its UTS namespace, and
  # the host name the spec gives it; with identity paths that is the
  # host's own name, so the namespace tells, not the name), its mount
  # namespace shared with createContainer; the others in the runtime's
  [ "$(field startContainer 5)" != "$(field createRuntime 5)" ] &&
    [ "$(field startContainer 3)" = "$(cat /proc/sys/kernel/hostname)" ] ||
    { echo "# startContainer ran outside the container (or under another host name)" >&2; errors=1; }
  [ "$(field createContainer 4)" = "$(field startContainer 4)" ] ||
    { echo "# createContainer ran outside the container's mount namespace" >&2; errors=1; }
  local s2
  for s2 in prestart poststart poststop; do
    [ "$(field "$s2" 4)" = "$(field createRuntime 4)" ] ||
      { echo "# $s2 ran in another mount namespace than createRuntime" >&2; errors=1; }
  done
  [ "$(field createRuntime 4)" != "$(field startContainer 4)" ] ||
    { echo "# createRuntime ran in the container's mount namespace" >&2; errors=1; }
  [ $errors -eq 0 ] || { sed 's/^/#   /' "$LOG" >&2; return 1; }
}

check_state() { # the hooks got the container state with the annotations
  /usr/bin/python3 - "$LOG.poststop.json" "$OUT_DIR" "$PACKAGE" "$1" <<'PY'
import json, sys
path, out_dir, package, bundle = sys.argv[1:5]
s = json.load(open(path))
a = s.get("annotations", {})
ok = (a.get("org.oci-host-runner.out-dir") == out_dir
      and a.get("org.oci-host-runner.package") == package
      and s.get("bundle") == bundle and s.get("status") == "stopped")
if not ok:
    print("# poststop state: %r" % s)
sys.exit(0 if ok else 1)
PY
}

# The digest of OUT_DIR as hooks/ohr-outdir-digest documents it, computed
# here independently.
expected_digest() {
  /usr/bin/python3 - "$OUT_DIR" <<'PY'
import hashlib, os, sys
root = sys.argv[1]
files, links = [], []
for d, dirs, names in os.walk(root):
    for n in dirs + names:
        p = os.path.join(d, n)
        rel = "./" + os.path.relpath(p, root)
        if os.path.islink(p):
            links.append("symlink %s -> %s\n" % (rel, os.readlink(p)))
        elif n in names and os.path.isfile(p):
            files.append((rel.encode(), "%s  %s\n" % (hashlib.sha256(open(p, "rb").read()).hexdigest(), rel)))
manifest = "".join(l for _, l in sorted(files)) + "".join(sorted(links, key=str.encode))
print("sha256:" + hashlib.sha256(manifest.encode()).hexdigest())
PY
}

ANN=(--annotation "org.oci-host-runner.out-dir=$OUT_DIR" --annotation "org.oci-host-runner.package=$PACKAGE")

for rt in $(runtimes); do
  # ---- every stage, in order, in the right place
  b=$(bundle "$rt") || { not_ok "$rt: the runner keeps a bundle"; continue; }
  rm -f "$LOG" "$LOG".*.json
  if "$HOOKS_SPEC" --hooks-dir "$T/stage-hooks" "${ANN[@]}" --script "$SCRIPT" "$b/config.json" >"$T/selected" 2>"$T/hs.err"; then
    check "$rt: hooks selected per stage and condition" assert_eq \
      "prestart createRuntime createContainer startContainer poststart poststop poststop" \
      "$(awk '{ print $1 }' "$T/selected" | xargs)" "selected stages"
  else
    not_ok "$rt: hooks-spec: $(cat "$T/hs.err")"
    continue
  fi
  check "$rt: config.json with hooks and annotations validates against the OCI schema" \
    /usr/bin/python3 "$TOP/tests/lib/validate-spec.py" "$b/config.json"
  if run_runtime "$rt" "$b" "hooks-$rt-$$" 2>"$T/rt.err"; then
    ok "$rt: the container with hooks at every stage runs"
  else
    not_ok "$rt: the container with hooks at every stage runs: $(tail -3 "$T/rt.err")"
  fi
  check "$rt: each hook ran once at its stage, in order, where the spec says" check_order
  check "$rt: hooks receive the state with the annotations on stdin" check_state "$b"

  # ---- the shipped digest hook, from hooks/ in place
  b=$(bundle "$rt") || { not_ok "$rt: the runner keeps a bundle"; continue; }
  rm -f "$LOG" "$LOG".*.json
  "$HOOKS_SPEC" --hooks-dir "$TOP/hooks" "${ANN[@]}" "$b/config.json" >"$T/selected"
  check "$rt: no digest log asked for: the digest hook is not injected" \
    assert_eq "" "$(cat "$T/selected")" "selected hooks"
  DLOG=$T/digests-$rt.log
  "$HOOKS_SPEC" --hooks-dir "$TOP/hooks" "${ANN[@]}" \
    --annotation "org.oci-host-runner.digest-log=$DLOG" "$b/config.json" >"$T/selected"
  check "$rt: digest log asked for: the hook is injected at poststop from hooks/" \
    assert_eq "poststop $TOP/hooks/ohr-outdir-digest" "$(cat "$T/selected")" "selected hooks"
  rm -f "$DLOG"
  run_runtime "$rt" "$b" "digest-$rt-$$" 2>"$T/rt.err" || echo "# $(tail -3 "$T/rt.err")" >&2
  want=$(expected_digest)
  check "$rt: ohr-outdir-digest appended '<package> <digest of OUT_DIR>'" \
    assert_eq "$PACKAGE $want" "$(cat "$DLOG" 2>/dev/null)" "digest log"
done

# ---- through the runner itself: the shipped hooks/ are a default hook
# directory, --annotation asks for the digest log, --hooks-dir adds more

# The runner's usage error, 121 (src/cli/exitcodes.h): not a status the script
# (it exits 0) or a failing runtime (125) would give; one line on stderr.
missing_hooks_dir_refused() { # rc dir
  assert_eq 121 "$1" "exit status" &&
    assert_eq "1 oci-host-runner: hooks directory '$2': No such file or directory" \
      "$(wc -l <"$T/r.err") $(cat "$T/r.err")" "message"
}
for rt in $(runtimes); do
  DLOG=$T/runner-digests-$rt.log
  rm -f "$DLOG" "$LOG"
  if (cd "$CARGO_MANIFEST_DIR" && "$OHR" --runtime "$rt" -v \
    --annotation "org.oci-host-runner.digest-log=$DLOG" "$SCRIPT") >"$T/r.out" 2>"$T/r.err"; then
    ok "$rt: the runner runs with the shipped hooks"
  else
    not_ok "$rt: the runner runs with the shipped hooks: $(tail -2 "$T/r.err")"
  fi
  check "$rt: -v names the selected hook" assert_file_has "$T/r.err" "hook poststop .*/hooks/ohr-outdir-digest"
  check "$rt: the runtime ran it after the script: the OUT_DIR digest is logged" \
    assert_eq "$PACKAGE $(expected_digest)" "$(cat "$DLOG" 2>/dev/null)" "digest log"
  rm -f "$DLOG" "$LOG"
  rc=0
  (cd "$CARGO_MANIFEST_DIR" && "$OHR" --runtime "$rt" --hooks-dir "$T/empty-hooks-$rt" "$SCRIPT") >/dev/null 2>"$T/r.err" || rc=$?
  check "$rt: --hooks-dir replaces the defaults (a missing dir is an error: exit 121, one line naming it)" \
    missing_hooks_dir_refused "$rc" "$T/empty-hooks-$rt"
  check "$rt: ... and the build script did not run" test ! -e "$LOG"
  mkdir -p "$T/empty-hooks-$rt"
  (cd "$CARGO_MANIFEST_DIR" && "$OHR" --runtime "$rt" --hooks-dir "$T/empty-hooks-$rt" \
    --annotation "org.oci-host-runner.digest-log=$DLOG" "$SCRIPT") >/dev/null 2>&1
  check "$rt: ... so with an empty one the digest hook does not run" test ! -e "$DLOG"
done

# ---- a bad hook file stops the selection with one line naming it
mkdir -p "$T/bad-hooks"
cp "$TOP/tests/fixtures/hooks/error-stage.json" "$T/bad-hooks/"
chmod 644 "$T/bad-hooks/error-stage.json"
b=$(bundle "$(runtimes | sed -n 1p)")
if "$HOOKS_SPEC" --hooks-dir "$T/bad-hooks" "$b/config.json" 2>"$T/bad.err"; then
  not_ok "a bad hook file is refused"
else
  check "a bad hook file is refused, one line naming the file and the field" \
    assert_eq "1 hooks-spec: hook '$T/bad-hooks/error-stage.json': stages[0]: unknown stage \"poststrat\": use one of prestart, createRuntime, createContainer, startContainer, poststart, poststop" \
    "$(wc -l <"$T/bad.err") $(cat "$T/bad.err")" "message"
fi
finish
