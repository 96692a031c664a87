#!/usr/bin/env bash
# Limits by default (docs/policy.md "Limits"): a real build script, built
# by real cargo through the runner, root and rootless, on runc and crun,
# reads /proc/self/limits and fills /tmp, HOME and its source (the
# overlay's scratch layer) until the kernel refuses.  The policy makes
# each tmpfs 8M; the checks are made on what the script saw.
. "$(dirname "$0")/../lib/libtest.sh"

[ "$(id -u)" -eq 0 ] || fatal "test-limits needs root (it also runs as $TEST_USER)"
ensure_test_user
SYSROOT=$(rustc --print sysroot)
PIDS=300
TMPFS_MIB=8

mkdir -p "$T/bin" "$T/toolchain" "$T/crate/src"
chmod 755 "$T"
cp "$OHR" "$(dirname "$OHR")/ohr-init" "$T/bin/"
cat >"$T/crate/Cargo.toml" <<'EOF'
[package]
name = "ohr-limits"
version = "0.1.0"
edition = "2021"
build = "build.rs"
EOF
echo 'fn main() {}' >"$T/crate/src/main.rs"
# Each fill writes 1 MiB at a time, up to 64 MiB, and records how many
# bytes went in and the errno that stopped it ("ENOSPC" is 28); the file
# is removed again, so the source is left as it was.
cat >"$T/crate/build.rs" <<'EOF'
use std::io::Write;
use std::path::Path;

fn fill(path: &Path) -> String {
    let mut f = match std::fs::File::create(path) {
        Ok(f) => f,
        Err(e) => return format!("0 {}", e.raw_os_error().unwrap_or(-1)),
    };
    let buf = vec![7u8; 1 << 20];
    let mut n = 0usize;
    let r = loop {
        if n >= 64 << 20 {
            break format!("{n} cap");
        }
        match f.write(&buf) {
            Ok(k) if k > 0 => n += k,
            Ok(_) => break format!("{n} zero"),
            Err(e) => break format!("{n} {}", e.raw_os_error().unwrap_or(-1)),
        }
    };
    drop(f);
    let _ = std::fs::remove_file(path);
    r
}

fn main() {
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).to_path_buf();
    std::fs::copy("/proc/self/limits", out.join("limits.txt")).unwrap();
    std::fs::copy("/proc/self/cgroup", out.join("cgroup.txt")).unwrap();
    let home = std::env::var("HOME").unwrap();
    let src = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let mut r = String::new();
    for (name, dir) in [("tmp", "/tmp".to_string()), ("home", home), ("source", src)] {
        r += &format!("{name} {}\n", fill(&Path::new(&dir).join("ohr-limits-fill.bin")));
    }
    std::fs::write(out.join("fill.txt"), r).unwrap();
}
EOF
cat >"$T/policy.json" <<EOF
{ "version": 1,
  "defaults": { "tmpfs": "${TMPFS_MIB}M", "pids": $PIDS, "memory": "1G" },
  "packages": [ { "package": "ohr-limits", "source": "path", "source-writes": "overlay" } ] }
EOF
chmod 644 "$T/policy.json"
(cd "$T/crate" && CARGO_NET_OFFLINE=true cargo generate-lockfile --offline -q) ||
  fatal "cannot write the crate's Cargo.lock"
chmod -R a+rX "$T/crate" "$T/bin"
install -d -m 777 "$T/targets"
install -d -m 755 "$T/w-r"
install -d -m 755 -o "$TEST_USER" "$T/w-u"

# build WHO RT: cargo build as root (r) or as $TEST_USER (u); sets OUT.
build() {
  local who=$1 rt=$2 tgt=$T/targets/$1-$2
  cat >"$T/build-$who-$rt.sh" <<SH
set -e
export PATH=$T/toolchain/bin:/usr/bin:/bin HOME=$T/w-$who/home CARGO_HOME=$T/w-$who/cargo-home
export RUSTC_BOOTSTRAP=1 CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never
export OCI_HOST_RUNNER_STATE_DIR=$T/w-$who/state OCI_HOST_RUNNER_CACHE_DIR=$T/w-$who/cache
export OCI_HOST_RUNNER_POLICY=$T/policy.json
ulimit -Sn >$T/w-$who/nofile-soft; ulimit -Hn >$T/w-$who/nofile-hard
cd $T/crate
cargo build --offline -vv -Zhost-config -Ztarget-applies-to-host --target-dir $tgt \
  --config 'host.runner=["$T/bin/oci-host-runner","-v","--runtime","$rt"]'
SH
  chmod 755 "$T/build-$who-$rt.sh"
  local as="bash $T/build-$who-$rt.sh"
  [ "$who" = u ] && as="su $TEST_USER -s /bin/bash -c 'bash $T/build-$who-$rt.sh'"
  unshare -m --propagation private bash -c \
    "mount --bind '$SYSROOT' '$T/toolchain' && $as" >"$T/cargo-$who-$rt.out" 2>&1
  local rc=$?
  OUT=$(ls -d "$tgt"/debug/build/ohr-limits-*/out 2>/dev/null | head -1)
  return $rc
}

# /proc/self/limits: "Max core file size   0   0   bytes"
limit() { # name (as the kernel words it) -> "soft hard"
  sed -n "s/^$1  *\([^ ]*\)  *\([^ ]*\) .*/\1 \2/p" "$OUT/limits.txt"
}
min() { if [ "$1" = unlimited ] || { [ "$2" != unlimited ] && [ "$2" -lt "$1" ]; }; then echo "$2"; else echo "$1"; fi; }
filled() { # what -> "bytes errno"
  sed -n "s/^$1 //p" "$OUT/fill.txt"
}
# ENOSPC at the tmpfs size: between size - 1 MiB (the tmpfs's own
# blocks) and the size
full_at_size() { # what
  local got bytes errno
  got=$(filled "$1")
  bytes=${got% *} errno=${got#* }
  [ "$errno" = 28 ] && [ "$bytes" -le $((TMPFS_MIB << 20)) ] &&
    [ "$bytes" -ge $(((TMPFS_MIB - 1) << 20)) ] && return 0
  echo "# $1: wrote ${bytes:-?} bytes, then errno ${errno:-?} (want 28, ENOSPC, at ${TMPFS_MIB} MiB)" >&2
  return 1
}

for who in r u; do
  for rt in $(runtimes); do
    P="$([ $who = r ] && echo root || echo rootless) $rt"
    if build "$who" "$rt" && [ -n "$OUT" ] && [ -s "$OUT/fill.txt" ]; then
      ok "$P: the build script read its limits and filled its file systems"
    else
      not_ok "$P: the build script read its limits and filled its file systems"
      tail -15 "$T/cargo-$who-$rt.out" | sed 's/^/# /'
      continue
    fi
    check "$P: RLIMIT_CORE is 0 (soft and hard)" assert_eq "0 0" "$(limit "Max core file size")" "core limit"
    soft=$(cat "$T/w-$who/nofile-soft") hard=$(cat "$T/w-$who/nofile-hard")
    want_hard=$(min "$hard" 65536)
    check "$P: RLIMIT_NOFILE is Cargo's, capped at 65536" \
      assert_eq "$(min "$soft" "$want_hard") $want_hard" "$(limit "Max open files")" "nofile limit"
    if [ $who = u ]; then
      check "$P: RLIMIT_NPROC is the policy's pids ($PIDS)" assert_eq "$PIDS $PIDS" "$(limit "Max processes")" "nproc limit"
      check "$P: RLIMIT_DATA is the policy's memory (no memory cgroup rootless here)" \
        assert_eq "1073741824 1073741824" "$(limit "Max data size")" "data limit"
      check "$P: the runner names what bounds the script" \
        assert_file_has "$T/cargo-$who-$rt.out" "notice: no cgroup limits here \(rootless, cgroups [a-z0-9]*\): processes are limited to $PIDS by RLIMIT_NPROC"
    else
      # as root too the container's root is an unprivileged id in a user
      # namespace of its own, where RLIMIT_NPROC counts this container
      # alone: it applies beside the pids cgroup
      check "$P: RLIMIT_NPROC is the policy's pids as root too ($PIDS)" \
        assert_eq "$PIDS $PIDS" "$(limit "Max processes")" "nproc limit"
      check "$P: no notice: the cgroups apply" assert_file_lacks "$T/cargo-$who-$rt.out" "notice: no cgroup limits"
      # cgroup v1: under crun the runner makes the one memory cgroup
      # itself and crun none (src/runtime/memcg.h); runc makes its own
      mp=$(memcg_parent)
      if [ -n "$mp" ]; then
        memline=$(grep -E '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' "$OUT/cgroup.txt" || true)
        pidsline=$(grep -E '^[0-9]+:([^:]*,)?pids(,[^:]*)?:' "$OUT/cgroup.txt" || true)
        id=$(echo "$memline" | grep -oE 'ohr-[0-9]+-[0-9]+-[0-9a-f]{12}$' || true)
        check "$P: the script ran in a memory cgroup named after its run" test -n "$id"
        if [ "$rt" = crun ]; then
          check "$P: ... the runner's own, under the runner's memory cgroup" \
            assert_eq "$mp/$id" "/sys/fs/cgroup/memory${memline#*memory*:}" "memory cgroup"
          check "$P: ... and no other cgroup (crun made none)" assert_eq "" "$(echo "$pidsline" | grep -o 'ohr-.*' || true)" "pids cgroup"
          check "$P: the runner says how the limits apply" \
            assert_file_has "$T/cargo-$who-$rt.out" "limits: memory by the run's own cgroup $mp/$id, processes by RLIMIT_NPROC; the runtime makes no cgroups"
        else
          check "$P: ... and runc's pids cgroup" assert_file_has "$OUT/cgroup.txt" "pids:.*ohr-"
        fi
        check "$P: the run's memory cgroup is gone after it" test ! -e "$mp/$id"
      fi
    fi
    check "$P: /tmp is full at ${TMPFS_MIB}M (ENOSPC)" full_at_size tmp
    check "$P: HOME is full at ${TMPFS_MIB}M (ENOSPC)" full_at_size home
    if [ $who = r ]; then
      check "$P: the source overlay's scratch layer is full at ${TMPFS_MIB}M (ENOSPC)" full_at_size source
    else
      # rootless the scratch layer is in the user's own state directory
      # (docs/policy.md): bounded by that file system, not by the runner
      check "$P: the source overlay took the writes (unbounded rootless)" \
        assert_eq "67108864 cap" "$(filled source)" "source fill"
    fi
    check "$P: the source is unchanged" test ! -e "$T/crate/ohr-limits-fill.bin"
    check "$P: no container or bundle left behind" assert_eq 0 "$(leftovers "$T/w-$who/state")" "leftovers"
  done
done
check "the scratch tmpfs never appeared in the host's mount table" \
  assert_file_lacks /proc/self/mountinfo "/scratch "
finish
