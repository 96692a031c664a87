#!/usr/bin/env bash
# test-cache-http: the remote result-cache client (src/cache/http.c)
# against a real nginx with WebDAV PUT on loopback (tests/lib/nginx-cache.sh),
# driven by build/tests/cache-http: put, get and has in both namespaces,
# not found, a CAS blob whose bytes do not match its name refused on read,
# credentials from the URL or a netrc file and never printed, and every way
# a server fails (503, killed, slow) reported as "unavailable" (exit 2)
# within the client's bound, and, with a state directory, skipped at once
# by the later runs of the same build ("down once per build").
. "$(dirname "$0")/../lib/libtest.sh"
. "$TOP/tests/lib/nginx-cache.sh"

CH=${CACHE_HTTP:-$(dirname "$OHR")/tests/cache-http}
[ -x "$CH" ] || fatal "no $CH: run make"
# A hang guard, not a timing: the client's own bound is far below it.
GUARD=60

start_nginx_cache cache
U=$NGINX_URL

# ch NAME ARGS...: run the client; its stdout in $T/NAME.out, stderr in
# $T/NAME.err, exit status in $RC
ch() {
  local name=$1
  shift
  RC=0
  timeout "$GUARD" "$CH" "$@" >"$T/$name.out" 2>"$T/$name.err" || RC=$?
}

blob() { # file contents -> prints its sha256
  printf '%s' "$2" >"$1"
  sha256sum "$1" | cut -c1-64
}

B1=$(blob "$T/b1" "the bytes of a blob")
A1=$(blob "$T/a1" "an action result")
K1=$(sha256sum <<<"an action" | cut -c1-64) # AC names are action digests

put_get_has() {
  ch put-cas "$U" put cas "$B1" "$T/b1" && assert_eq 0 "$RC" "put cas" &&
    assert_file_has "$T/put-cas.out" '^stored$' &&
    ch put-ac "$U" put ac "$K1" "$T/a1" && assert_eq 0 "$RC" "put ac" &&
    [ -f "$NGINX_STORE/cas/$B1" ] && [ -f "$NGINX_STORE/ac/$K1" ] &&
    ch has-cas "$U" has cas "$B1" && assert_eq 0 "$RC" "has cas" &&
    assert_file_has "$T/has-cas.out" '^there$' &&
    ch has-ac "$U" has ac "$K1" && assert_eq 0 "$RC" "has ac" &&
    ch get-cas "$U" get cas "$B1" "$T/got-b1" && assert_eq 0 "$RC" "get cas" &&
    cmp "$T/b1" "$T/got-b1" &&
    ch get-ac "$U" get ac "$K1" "$T/got-a1" && assert_eq 0 "$RC" "get ac" &&
    cmp "$T/a1" "$T/got-a1"
}
check "put, has, get in ac and cas: the bytes come back" put_get_has

prefixed() {
  # a base with a path (bazel-remote's instance name, a shared server's
  # folder), given with a final slash
  ch pfx-put "$U/team-a/" put cas "$B1" "$T/b1" && assert_eq 0 "$RC" "put" &&
    [ -f "$NGINX_STORE/team-a/cas/$B1" ] &&
    ch pfx-get "$U/team-a" get cas "$B1" "$T/pfx-got" && assert_eq 0 "$RC" "get" &&
    cmp "$T/b1" "$T/pfx-got"
}
check "a URL with a path prefix: BASE/cas/HEX" prefixed

empty_blob() {
  local e
  e=$(blob "$T/empty" "")
  ch e-put "$U" put cas "$e" "$T/empty" && assert_eq 0 "$RC" "put" &&
    ch e-get "$U" get cas "$e" "$T/e-got" && assert_eq 0 "$RC" "get" &&
    assert_file_has "$T/e-get.out" '^found 0 bytes$'
}
check "the empty blob is stored and read back" empty_blob

not_found() {
  local missing
  missing=$(sha256sum <<<"never stored" | cut -c1-64)
  ch nf-ac "$U" get ac "$missing" "$T/nf" && assert_eq 1 "$RC" "get ac" &&
    assert_file_has "$T/nf-ac.out" '^not found$' && [ ! -e "$T/nf" ] &&
    ch nf-cas "$U" get cas "$missing" - && assert_eq 1 "$RC" "get cas" &&
    ch nf-has "$U" has cas "$missing" && assert_eq 1 "$RC" "has cas" &&
    assert_file_has "$T/nf-has.out" '^not found$'
}
check "not found: exit 1, distinct from unavailable, nothing written" not_found

tampered_blob() {
  local t
  t=$(blob "$T/t" "honest bytes")
  ch t-put "$U" put cas "$t" "$T/t" && assert_eq 0 "$RC" "put" &&
    printf 'poisoned bytes' >"$NGINX_STORE/cas/$t" &&
    ch t-get "$U" get cas "$t" "$T/t-got" && assert_eq 3 "$RC" "get" &&
    assert_file_has "$T/t-get.err" "cas/${t:0:12}: the blob's bytes do not match its digest: refused" &&
    [ ! -e "$T/t-got" ]
}
check "a CAS blob whose bytes do not match its name is refused on read" tampered_blob

mismatched_put() {
  ch mp "$U" put cas "$B1" "$T/a1" && assert_eq 3 "$RC" "put" &&
    assert_file_has "$T/mp.err" "do not match the digest"
}
check "a CAS put whose bytes do not match the name is refused before sending" mismatched_put

bad_input() {
  ch bad-hex "$U" get cas "ABC" - && assert_eq 3 "$RC" "short hex" &&
    assert_file_has "$T/bad-hex.err" "'ABC' is not a sha256 in lowercase hex" &&
    ch bad-url "ftp://127.0.0.1/x" get cas "$B1" - && assert_eq 3 "$RC" "ftp" &&
    assert_file_has "$T/bad-url.err" "the scheme must be http or https" &&
    ch bad-q "$U/?x=1" get cas "$B1" - && assert_eq 3 "$RC" "query" &&
    assert_file_has "$T/bad-q.err" "no query or fragment"
}
check "bad names and URLs: one line saying what" bad_input

server_503() {
  ch f-get "$U/fail" get ac "$K1" - && assert_eq 2 "$RC" "get" &&
    assert_file_has "$T/f-get.err" "^cache-http: remote cache 'http://127.0.0.1:$NGINX_PORT/fail' unavailable: GET ac/${K1:0:12}: HTTP 503$" &&
    ch f-put "$U/fail" put cas "$B1" "$T/b1" && assert_eq 2 "$RC" "put" &&
    ch f-has "$U/fail" has cas "$B1" && assert_eq 2 "$RC" "has" &&
    ch f-retry --retries 1 "$U/fail" get ac "$K1" - && assert_eq 2 "$RC" "get, one retry" &&
    [ "$(grep -c "GET /fail/ac/$K1" "$T/cache/access.log")" -eq 3 ]
}
check "503 -> unavailable (exit 2) for get, put and has; --retries 1 asks twice" server_503

slow_server() {
  ch slow --connect-timeout-ms 1000 --timeout-ms 1500 "$U/slow" get ac "$K1" - &&
    assert_eq 2 "$RC" "get" &&
    assert_file_has "$T/slow.err" "unavailable: GET ac/${K1:0:12}: no answer within the bound \(connect 1000 ms, total 1500 ms\)$" &&
    ch slow-put --timeout-ms 1500 "$U/slow" put cas "$B1" "$T/b1" && assert_eq 2 "$RC" "put"
}
check "a server that does not answer -> unavailable within the client's bound" slow_server

credentials() {
  local pw=$NGINX_PASSWORD
  ch c-none "$U/auth" get cas "$B1" - && assert_eq 3 "$RC" "no credentials" &&
    assert_file_has "$T/c-none.err" "HTTP 401: check the credentials" &&
    ch c-url "http://cache:$pw@127.0.0.1:$NGINX_PORT/auth" get cas "$B1" "$T/c-got" &&
    assert_eq 0 "$RC" "userinfo" && cmp "$T/b1" "$T/c-got" &&
    ch c-bad "http://cache:wrong-$pw@127.0.0.1:$NGINX_PORT/auth" put cas "$B1" "$T/b1" &&
    assert_eq 3 "$RC" "wrong password" &&
    assert_file_has "$T/c-bad.err" "'http://\*\*\*@127.0.0.1:$NGINX_PORT/auth'" &&
    printf 'machine 127.0.0.1\nlogin cache\npassword %s\n' "$pw" >"$T/netrc" &&
    OCI_HOST_RUNNER_RESULT_CACHE_NETRC=$T/netrc ch c-netrc "$U/auth" get cas "$B1" - &&
    assert_eq 0 "$RC" "netrc" &&
    # the server's own error pages aside, nothing we print holds it
    ! grep -rF -- "$pw" "$T"/c-*.err "$T"/c-*.out
}
check "credentials from the URL's userinfo or the netrc variable, never printed" credentials

# requests nginx logged for a path prefix
served() { grep -c " $1" "$T/cache/access.log" || true; }

down_once_per_build() {
  local sd=$T/state n0
  n0=$(served /fail/)
  ch d1 --state-dir "$sd" --build-id build-1 "$U/fail" get ac "$K1" - &&
    assert_eq 2 "$RC" "first run" && assert_file_has "$T/d1.err" "HTTP 503$" &&
    ls "$sd"/result-cache/down-* >/dev/null &&
    ch d2 --state-dir "$sd" --build-id build-1 "$U/fail" has cas "$B1" &&
    assert_eq 2 "$RC" "second run, same build" &&
    assert_file_has "$T/d2.err" "unavailable: HEAD cas/${B1:0:12}: skipped, it was unavailable earlier in this build$" &&
    assert_eq $((n0 + 1)) "$(served /fail/)" "requests after the second run" &&
    ch d3 --state-dir "$sd" --build-id build-2 "$U/fail" get ac "$K1" - &&
    assert_eq 2 "$RC" "another build" && assert_file_has "$T/d3.err" "HTTP 503$" &&
    assert_eq $((n0 + 2)) "$(served /fail/)" "requests after another build" &&
    # the marker is per server: the healthy root serves the same build
    ch d4 --state-dir "$sd" --build-id build-1 "$U" get ac "$K1" "$T/d4" &&
    assert_eq 0 "$RC" "another URL, same build" &&
    # no secret in the marker's name or bytes
    ch d5 --state-dir "$sd" --build-id build-3 "http://cache:wrong-$NGINX_PASSWORD@127.0.0.1:$NGINX_PORT/fail" get ac "$K1" - &&
    assert_eq 2 "$RC" "with credentials" &&
    ! grep -rF -- "$NGINX_PASSWORD" "$sd" && ! ls "$sd"/result-cache | grep -F -- "$NGINX_PASSWORD"
}
check "down once per build: a later run of the same build skips the server, another build asks" down_once_per_build

slow_once_per_build() {
  local sd=$T/state-slow
  ch s1 --state-dir "$sd" --build-id build-1 --timeout-ms 1500 "$U/slow" get ac "$K1" - &&
    assert_eq 2 "$RC" "first run" && assert_file_has "$T/s1.err" "no answer within the bound" &&
    ch s2 --state-dir "$sd" --build-id build-1 --timeout-ms 1500 "$U/slow" put cas "$B1" "$T/b1" &&
    assert_eq 2 "$RC" "second run" && assert_file_has "$T/s2.err" "skipped, it was unavailable earlier in this build$"
}
check "a slow server costs its bound once per build, then is skipped" slow_once_per_build

# until the client has a connection to nginx open (a bound of 10 s)
wait_connected() {
  local i
  for ((i = 0; i < 100; i++)); do
    if ss -Htn state established "( dport = :$NGINX_PORT )" | grep . >/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "# the client never connected" >&2
  return 1
}

server_killed() {
  # mid-request: a request nginx holds (/slow/) when the server dies; the
  # client's own bound (30 s) is not what ends it
  local pid rc=0
  timeout "$GUARD" "$CH" --timeout-ms 30000 "$U/slow" get ac "$K1" - >"$T/k-mid.out" 2>"$T/k-mid.err" &
  pid=$!
  wait_connected || { kill "$pid"; return 1; }
  kill -KILL "$NGINX_PID" && { wait "$NGINX_PID" 2>/dev/null || true; } && NGINX_PID=
  wait "$pid" || rc=$?
  assert_eq 2 "$rc" "killed mid-request" &&
    assert_file_has "$T/k-mid.err" "unavailable: GET ac/${K1:0:12}: " &&
    assert_file_lacks "$T/k-mid.err" "no answer within the bound" &&
    # and then: nothing listens
    ch k-get "$U" get ac "$K1" - && assert_eq 2 "$RC" "get" &&
    assert_file_has "$T/k-get.err" "unavailable: GET ac/${K1:0:12}: cannot connect: Connection refused$" &&
    ch k-put "$U" put cas "$B1" "$T/b1" && assert_eq 2 "$RC" "put" &&
    ch k-has --retries 1 "$U" has cas "$B1" && assert_eq 2 "$RC" "has"
}
check "server killed, mid-request and before -> unavailable (exit 2), not an error" server_killed

finish
