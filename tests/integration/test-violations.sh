#!/usr/bin/env bash
# Build scripts that misbehave, built by real cargo through the runner on
# each runtime: writes to the source, network, secrets, exit codes, signals.
. "$(dirname "$0")/../lib/libtest.sh"

export OCI_HOST_RUNNER_STATE_DIR=$T/state OCI_HOST_RUNNER_CACHE_DIR=$T/cache
cp -r "$TOP/tests/fixtures/crates" "$T/crates"
CR=$T/crates
sum_tree() { (cd "$1" && find . -path ./target -prune -o -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum); }

# A TCP listener on the host's loopback that counts connections.
/usr/bin/python3 - "$T/port" "$T/conns" <<'PY' &
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
s.settimeout(600)
n = 0
while True:
    try:
        c, _ = s.accept()
    except Exception:
        break
    n += 1
    open(sys.argv[2], "w").write(str(n))
    c.close()
PY
at_exit "kill $! 2>/dev/null"
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
PORT=$(cat "$T/port")
# The listener really accepts connections from the host (else the test
# below proves nothing).
/usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 2).close()"
sleep 0.2
check "the host can reach the test listener" assert_eq 1 "$(cat "$T/conns" 2>/dev/null)" "connections"

# Fake secrets in a fake home.
H=$T/home
mkdir -p "$H/.cargo" "$H/.ssh" "$H/.docker"
echo 'token = "secret-marker-cargo"' >"$H/.cargo/credentials.toml"
echo 'secret-marker-ssh' >"$H/.ssh/id_rsa"
echo '{"auths":{"x":{"auth":"secret-marker-docker"}}}' >"$H/.docker/config.json"

# What Cargo says natively of a build script that aborts: "(signal: 6,
# SIGABRT: process abort signal)"; through the runner it must say the same.
cargo_build_native "$CR/abort" "$T/target-native" || true
NATIVE_ABORT=$(grep -o 'signal: 6, SIGABRT[^)]*' "$T/cargo.out" | head -1)
[ -n "$NATIVE_ABORT" ] || fatal "precondition: natively, Cargo reports the abort's signal"

for rt in $(runtimes); do
  tgt=$T/target-$rt
  before=$(sum_tree "$CR/write-source")
  if cargo_build_runner "$CR/write-source" "$tgt" --runtime "$rt"; then
    not_ok "$rt: a build script writing into its source fails the build"
  else
    ok "$rt: a build script writing into its source fails the build"
  fi
  check "$rt: the error names the files and the rule that would allow it" \
    assert_file_has "$T/cargo.out" "wrote escaped.txt, src/generated.rs; build scripts may write only to OUT_DIR \(allow with: \{\"package\":\"ohr-fixture-write-source\",\"source\":\"path\",\"source-writes\":\"overlay\"\}\)"
  check "$rt: exit status 124 (refused by policy)" assert_file_has "$T/cargo.out" "exit status: 124"
  check "$rt: the source tree is unchanged" assert_eq "$before" "$(sum_tree "$CR/write-source")" "source checksum"
  rm -f "$CR/write-source/src/generated.rs" "$CR/write-source/escaped.txt"

  # The user's policy allows it: the writes go to the overlay, never to
  # the source, and are reported.
  cat >"$T/policy.json" <<'JSON'
{ "version": 1,
  "packages": [ { "package": "ohr-fixture-write-source", "source": "path", "source-writes": "overlay" } ] }
JSON
  chmod 644 "$T/policy.json"
  if cargo_build_runner "$CR/write-source" "$tgt-overlay" --runtime "$rt" --policy "$T/policy.json" -v; then
    ok "$rt: with source-writes overlay the build succeeds"
  else
    not_ok "$rt: with source-writes overlay the build succeeds"; tail -5 "$T/cargo.out" | sed 's/^/# /'
  fi
  check "$rt: ... the writes are reported" assert_file_has "$(ls "$tgt"-overlay/debug/build/ohr-fixture-write-source-*/stderr | head -1)" "wrote escaped.txt, src/generated.rs into its source; the writes were kept apart"
  check "$rt: ... and the source is still unchanged" assert_eq "$before" "$(sum_tree "$CR/write-source")" "source checksum"

  : >"$T/conns.before"; cp "$T/conns" "$T/conns.before" 2>/dev/null || true
  if cargo_build_runner "$CR/tcp-connect" "$tgt" --runtime "$rt" --env "OHR_TEST_PORT=$PORT"; then
    not_ok "$rt: a TCP connection to the host's loopback fails the build"
  else
    ok "$rt: a TCP connection to the host's loopback fails the build"
  fi
  check "$rt: the connection was refused inside the network namespace" assert_file_has "$T/cargo.out" "tcp: blocked: 127.0.0.1:$PORT"
  check "$rt: the listener saw no connection" assert_eq "$(cat "$T/conns.before")" "$(cat "$T/conns")" "connections"

  cp "$T/conns" "$T/conns.before"
  if cargo_build_runner "$CR/tcp-connect" "$T/hostnet-$rt" --runtime "$rt" --network host --env "OHR_TEST_PORT=$PORT"; then
    ok "$rt: --network host reaches the listener (the probe works)"
  else
    not_ok "$rt: --network host reaches the listener (the probe works)"
  fi
  check "$rt: ... and the listener counted it" assert_eq "$(($(cat "$T/conns.before") + 1))" "$(cat "$T/conns")" "connections"

  cargo_env
  if (cd "$CR/read-secrets" && HOME=$H GITHUB_TOKEN=secret-marker-env SSH_AUTH_SOCK=/tmp/secret-marker-sock \
      CARGO_REGISTRY_TOKEN=secret-marker-registry cargo build --offline -Zhost-config -Ztarget-applies-to-host \
      --target-dir "$tgt" --config "host.runner=[\"$OHR\",\"--runtime\",\"$rt\",\"--paths\",\"identity\",\"--env\",\"OHR_TEST_HOSTHOME=$H\"]") >"$T/cargo.out" 2>&1; then
    ok "$rt: the secrets probe builds"
  else
    not_ok "$rt: the secrets probe builds"; sed 's/^/# /' "$T/cargo.out" | tail -5
  fi
  out=$(ls -d "$tgt"/debug/build/ohr-fixture-read-secrets-*/out | head -1)
  check "$rt: the probe ran and wrote its report" test -s "$out/report.txt"
  check "$rt: no file under \$HOME or the real home was readable" assert_file_lacks "$out/report.txt" "READ|secret-marker"
  check "$rt: the real home path was tried" assert_file_has "$out/report.txt" "$H/.ssh/id_rsa: No such file"
  check "$rt: no secret in the script's environment" assert_file_lacks "$out/env.txt" "secret-marker"
  check "$rt: HOME is the private tmpfs" assert_file_has "$out/env.txt" "^HOME=/tmp/home$"

  if cargo_build_runner "$CR/exit-code" "$tgt" --runtime "$rt"; then
    not_ok "$rt: exit(3) fails the build"
  else
    ok "$rt: exit(3) fails the build"
  fi
  check "$rt: Cargo reports exit status 3" assert_file_has "$T/cargo.out" "exit status: 3\)"
  check "$rt: the script's stderr reaches Cargo" assert_file_has "$T/cargo.out" "exit-code: exiting with status 3"

  if cargo_build_runner "$CR/jobserver" "$tgt" --runtime "$rt"; then
    ok "$rt: Cargo's jobserver reaches the script (token taken and returned)"
  else
    not_ok "$rt: Cargo's jobserver reaches the script (token taken and returned)"
    grep jobserver "$T/cargo.out" | head -3 | sed 's/^/# /'
  fi
  # the fd numbers docs/security.md names (JOBSERVER_FIRST_FD in src/cli/run.c)
  check "$rt: ... on fds 5 and 6, as the docs say" \
    assert_file_has "$(ls "$tgt"/debug/build/ohr-fixture-jobserver-*/out/jobserver.txt | head -1)" "^ok fds 5,6$"

  cargo_build_runner "$CR/abort" "$tgt" --runtime "$rt" || true
  check "$rt: abort(): Cargo reports the signal as it does natively ($NATIVE_ABORT)" \
    assert_file_has "$T/cargo.out" "\($(printf '%s' "$NATIVE_ABORT" | sed 's/[][\.*^$+?(){}|]/\\&/g')\)"
  check "$rt: ... not an exit status" assert_file_lacks "$T/cargo.out" "exit status: 134"
  check "$rt: and one line naming the signal" assert_file_has "$T/cargo.out" "killed by signal 6 \(SIGABRT\)"
done
check "no container or bundle left behind" assert_eq 0 "$(leftovers "$T/state")" "leftovers"
finish
