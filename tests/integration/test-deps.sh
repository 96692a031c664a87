#!/usr/bin/env bash
# test-deps: `make deps` (tools/install-deps) installs a package only when
# something the project uses of it is missing, not when dpkg lacks that
# exact package name; as a user without root, with everything present, it
# does not ask for root.  Fakes stand in for dpkg-query, apt-get and
# pkg-config only to force the cases a real machine here cannot show (a
# package installed under another name, a module missing).
. "$(dirname "$0")/../lib/libtest.sh"

R=$T/repo
mkdir -p "$R/tools" "$R/tests/corpus" "$T/bin"
cp "$TOP/tools/install-deps" "$TOP/tools/packages.txt" "$R/tools/"
cp "$TOP/tests/corpus/packages.txt" "$R/tests/corpus/"
chmod -R a+rX "$T"
deps() { # ENV...: run the copy, output in $T/deps.out, status in $rc
  rc=0
  env "$@" "$R/tools/install-deps" >"$T/deps.out" 2>&1 || rc=$?
}

# apt-get must not run in any case below: it records that it was called
cat >"$T/bin/apt-get" <<EOS
#!/bin/sh
echo "apt-get \$*" >>"$T/apt.calls"
exit 1
EOS
# dpkg says libcurl4-openssl-dev is not installed (another flavour is)
cat >"$T/bin/dpkg-query" <<'EOS'
#!/bin/sh
for a in "$@"; do [ "$a" = libcurl4-openssl-dev ] && { echo "dpkg-query: no packages found matching $a" >&2; exit 1; }; done
exec /usr/bin/dpkg-query "$@"
EOS
chmod 755 "$T/bin/"*
[ "$(dpkg-query -W -f='${db:Status-Status}' libcurl4-openssl-dev 2>/dev/null)" = installed ] ||
  [ "$(dpkg-query -W -f='${db:Status-Status}' libcurl4-gnutls-dev 2>/dev/null)" = installed ] ||
  fatal "precondition: a libcurl development package is installed (make deps)"
pkg-config --exists libcurl || fatal "precondition: pkg-config knows libcurl"

deps PATH="$T/bin:$PATH"
check "a package missing by name but present by what is used: nothing to install, exit 0" \
  assert_eq "0 no-apt" "$rc $([ -e "$T/apt.calls" ] && echo apt || echo no-apt)" "exit status, apt-get"
check "... and it says ok" assert_file_has "$T/deps.out" "^install-deps: ok"

# a pkg-config module really missing: named with the package that gives it
cat >"$T/bin/pkg-config" <<'EOS'
#!/bin/sh
for a in "$@"; do [ "$a" = yajl ] && exit 1; done
exec /usr/bin/pkg-config "$@"
EOS
chmod 755 "$T/bin/pkg-config"
deps PATH="$T/bin:$PATH" OHR_DEPS_DRY_RUN=1
check "a missing pkg-config module is missing, with its package (dry run: exit 1, no apt-get)" \
  assert_eq "1 no-apt" "$rc $([ -e "$T/apt.calls" ] && echo apt || echo no-apt)" "exit status, apt-get"
check "... named as libyajl-dev (for pkg-config:yajl), nothing else" \
  assert_file_has "$T/deps.out" "^install-deps: missing: libyajl-dev \(for pkg-config:yajl\)$"

# a user without root, everything present: not asked for root (a cargo of
# the test's first on its PATH, whatever toolchain this machine has)
ensure_test_user
chown -R "$TEST_USER" "$T/repo"
rm -f "$T/bin/pkg-config"
printf '#!/bin/sh\necho "cargo 0.0.0-ohr-test"\n' >"$T/bin/cargo"
chmod 755 "$T/bin/cargo"
rc=0
runuser -u "$TEST_USER" -- env HOME="$T/home" PATH="$T/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
  "$R/tools/install-deps" >"$T/user.out" 2>&1 || rc=$?
sed 's/^/# user: /' "$T/user.out"
check "as a user without root with everything present it asks for nothing" \
  assert_file_lacks "$T/user.out" "missing:|not root"
check "... it says ok, exit 0" \
  assert_eq "0 1" "$rc $(grep -c '^install-deps: ok (cargo 0.0.0-ohr-test)$' "$T/user.out")" "exit status, message"

# tools/packages.txt: every check names a known kind, every package exists
bad=$(sed 's/#.*//' "$TOP/tools/packages.txt" | awk 'NF { for (i = 2; i <= NF; i++) if ($i !~ /^(pkg-config|cmd|py|path):./) print $1 ": " $i }')
check "tools/packages.txt: every check is pkg-config:, cmd:, py: or path:" assert_eq "" "$bad" "bad checks"
check "this machine has everything tools/packages.txt checks (make deps ran)" \
  env OHR_DEPS_DRY_RUN=1 "$TOP/tools/install-deps"
finish
