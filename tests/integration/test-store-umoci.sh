#!/usr/bin/env bash
# test-store-umoci: the store's merged rootfs equals what umoci unpacks from
# the same OCI layout: umoci builds a three-layer image (files, modes,
# symlinks, hardlinks, then deletions that become whiteouts, a symlink
# replaced by a directory and the other replacements), the store imports
# its layers through tests/tools/store-import, and the two trees must have
# the same paths, types, modes, owners, symlink targets and content.
# shellcheck source=../lib/libtest.sh
. "$(dirname "$0")/../lib/libtest.sh"

STORE_IMPORT=${STORE_IMPORT:-$(dirname "$OHR")/tests/store-import}
[ -x "$STORE_IMPORT" ] || fatal "no $STORE_IMPORT: run 'make all'"
command -v umoci >/dev/null || fatal "umoci is missing: run 'make deps'"
[ "$(id -u)" = 0 ] || fatal "needs root (umoci unpack keeps owners and modes)"

L=$T/layout
B=$T/bundle
umoci init --layout "$L"
umoci new --image "$L:t"

# layer 1: a small tree with every kind of entry the store keeps
umoci unpack --image "$L:t" "$B" >/dev/null
R=$B/rootfs
mkdir -p "$R/etc/sub" "$R/usr/bin" "$R/usr/lib/x" "$R/var/empty" "$R/tmp" \
  "$R/opt/app/data" "$R/link-to-dir-target"
echo host >"$R/etc/hostname"
echo secret >"$R/etc/shadow" && chmod 0640 "$R/etc/shadow"
printf '#!/bin/sh\necho hi\n' >"$R/usr/bin/tool" && chmod 0755 "$R/usr/bin/tool"
echo su >"$R/usr/bin/su" && chmod 4755 "$R/usr/bin/su"
echo wall >"$R/usr/bin/wall" && chmod 2755 "$R/usr/bin/wall"
ln "$R/usr/bin/tool" "$R/usr/bin/tool-hardlink"
ln -s tool "$R/usr/bin/tool-symlink"
ln -s /usr/bin/tool "$R/usr/bin/abs-symlink"
ln -s ../nowhere "$R/usr/bin/dangling"
ln -s ../../etc/hostname "$R/usr/lib/x/up"
: >"$R/usr/lib/empty"
echo "ünïcode" >"$R/opt/app/naïve name.txt"
chmod 0700 "$R/var/empty"
chmod 1777 "$R/tmp"
for i in 1 2 3; do echo "data $i" >"$R/opt/app/data/f$i"; done
ln -s link-to-dir-target "$R/a"        # becomes a directory in layer 2
echo target >"$R/link-to-dir-target/t"
mkdir "$R/dir-to-link" && echo x >"$R/dir-to-link/x"
echo file >"$R/file-to-dir"
ln -s etc "$R/link-to-file"
ln -s usr/lib "$R/lib"                 # layer 4 writes through these
ln -s /usr/lib "$R/abslib"
chown 1000:1000 "$R/opt/app/data/f2"
umoci repack --image "$L:t" "$B" >/dev/null
rm -rf "$B"

# layer 2: deletions (whiteouts) and replacements
umoci unpack --image "$L:t" "$B" >/dev/null
R=$B/rootfs
rm "$R/etc/shadow"
rm -rf "$R/opt/app/data"
rm "$R/a" && mkdir "$R/a" && echo inner >"$R/a/inner"   # symlink -> dir
rm -rf "$R/dir-to-link" && ln -s etc "$R/dir-to-link"   # dir -> symlink
rm "$R/file-to-dir" && mkdir "$R/file-to-dir" && echo g >"$R/file-to-dir/g"
rm "$R/link-to-file" && echo now-a-file >"$R/link-to-file"
chmod 0750 "$R/opt/app"
echo changed >"$R/etc/hostname"
umoci repack --image "$L:t" "$B" >/dev/null
rm -rf "$B"

# layer 3: a deleted directory comes back with other content
umoci unpack --image "$L:t" "$B" >/dev/null
R=$B/rootfs
mkdir -p "$R/opt/app/data" && echo new >"$R/opt/app/data/new"
rm "$R/usr/bin/tool-symlink"
umoci repack --image "$L:t" "$B" >/dev/null
rm -rf "$B"

# layer 4, hand-made (umoci only repacks what it unpacked): entries below
# directories the tar only implies, where lower layers have symlinks;
# umoci writes through them, inside the root, and so must the store
cat >"$T/raw.py" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for name, data in [("lib/through", b"through\n"),
                       ("lib/newdir/deep", b"deep\n"),
                       ("lib/.wh.empty", b""),
                       ("abslib/x/abs-through", b"abs\n")]:
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode = len(data), 0o644
        t.addfile(ti, io.BytesIO(data))
EOF
python3 "$T/raw.py" "$T/raw.tar"
umoci raw add-layer --image "$L:t" "$T/raw.tar"

layers_have() { # pattern: some layer of the image lists a matching entry
  local blob
  for blob in "$L"/blobs/sha256/*; do
    # grep reads to the end: a -q match would leave tar a SIGPIPE, a failure under pipefail
    if file -b "$blob" | grep gzip >/dev/null && tar tzf "$blob" | grep -E -- "$1" >/dev/null; then
      return 0
    fi
  done
  return 1
}
check "umoci's layers carry whiteouts" layers_have '\.wh\.'

S=$T/store
check "store-import imports the layout" \
  bash -c "'$STORE_IMPORT' '$S' '$L' t >'$T/rootfs-path' 2>'$T/import.err'"
ROOTFS=$(cat "$T/rootfs-path")
sed 's/^/# /' "$T/import.err"
umoci unpack --image "$L:t" "$T/umoci" >/dev/null

# One line per path: type, mode, owner, link target or content sha256.
cat >"$T/tree.py" <<'EOF'
import hashlib, os, stat, sys
root = sys.argv[1]
rootless = len(sys.argv) > 2  # no owners
# setuid/setgid: the store strips them (as root too), umoci keeps them;
# compared without them, and checked apart
# empty mount points the store adds at the top of every checkout (so that
# runtimes never write into it); the image itself does not have them
ADDED = {"dev", "proc", "sys", "tmp", "cargo"}
for dirpath, dirnames, filenames in os.walk(root):
    for name in sorted(dirnames + filenames):
        p = os.path.join(dirpath, name)
        if dirpath == root and name in ADDED and os.path.isdir(p) \
                and not os.listdir(p) and not os.path.islink(p):
            continue
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        if stat.S_ISLNK(st.st_mode):
            what = "-> " + os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                what = hashlib.sha256(f.read()).hexdigest()
        else:
            what = ""
        kind = stat.filemode(st.st_mode)[0]
        mode = stat.S_IMODE(st.st_mode) & ~0o6000
        owner = f"{st.st_uid}:{st.st_gid}"
        if rootless:
            owner = "-"
        print(f"{rel}\t{kind}\t{mode:04o}\t{owner}\t{what}")
EOF
python3 "$T/tree.py" "$ROOTFS" | sort >"$T/store.tree"
python3 "$T/tree.py" "$T/umoci/rootfs" | sort >"$T/umoci.tree"
same_trees() {
  if diff -u "$T/umoci.tree" "$T/store.tree" >"$T/tree.diff"; then return 0; fi
  sed 's/^/# /' "$T/tree.diff" | head -40
  return 1
}
check "store rootfs equals umoci's unpack ($(wc -l <"$T/store.tree") paths)" same_trees
setid_files() { find "$1" -perm /6000 | wc -l; }
check "umoci keeps the layer's setuid/setgid bits (2 files)" test "$(setid_files "$T/umoci/rootfs")" -eq 2
check "the store strips them as root too" test "$(setid_files "$ROOTFS")" -eq 0
check "... and says so" grep -q '2 setuid/setgid stripped' "$T/import.err"
root_mode() { stat -c %a "$1"; }
check "root directory mode equals umoci's" \
  test "$(root_mode "$ROOTFS")" = "$(root_mode "$T/umoci/rootfs")"

# the cases the comparison must have covered, in the store's tree
covered() {
  grep -qP '^a\td\t' "$T/store.tree" && grep -qP '^a/inner\t-' "$T/store.tree" &&
    grep -qP '^dir-to-link\tl\t.*-> etc$' "$T/store.tree" &&
    grep -qP '^file-to-dir/g\t' "$T/store.tree" &&
    grep -qP '^opt/app/data/new\t' "$T/store.tree" &&
    grep -qP '^usr/lib/through\t' "$T/store.tree" &&
    grep -qP '^usr/lib/x/abs-through\t' "$T/store.tree" &&
    grep -qP '^lib\tl\t' "$T/store.tree" &&
    ! grep -qP '^usr/lib/empty\t' "$T/store.tree" &&
    ! grep -qP '^opt/app/data/f1\t' "$T/store.tree" &&
    ! grep -qP '^etc/shadow\t' "$T/store.tree" &&
    ! grep -q '\.wh\.' "$T/store.tree"
}
check "whiteouts and replacements applied" covered

# rootless: an unprivileged user's store (bare-user repo, user checkout)
# against umoci's rootless unpack, owners aside and setuid/setgid stripped
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
mkdir -m 0777 "$T/rootless"
chmod -R a+rX "$L" # umoci writes index.json 0600
check "rootless store-import as uid 65534" \
  bash -c "$(declare -f as_nobody); as_nobody '$STORE_IMPORT' --rootless \
    '$T/rootless/store' '$L' t >'$T/rootless-path' 2>'$T/rootless.err'"
sed 's/^/# /' "$T/rootless.err"
as_nobody umoci unpack --rootless --image "$L:t" "$T/rootless/umoci" >/dev/null
python3 "$T/tree.py" "$(cat "$T/rootless-path")" rootless | sort >"$T/store-rl.tree"
python3 "$T/tree.py" "$T/rootless/umoci/rootfs" rootless | sort >"$T/umoci-rl.tree"
same_rootless() {
  if diff -u "$T/umoci-rl.tree" "$T/store-rl.tree" >"$T/rl.diff"; then return 0; fi
  sed 's/^/# /' "$T/rl.diff" | head -40
  return 1
}
check "rootless store rootfs equals umoci's rootless unpack" same_rootless
check "rootless import stripped setuid/setgid" \
  grep -q '2 setuid/setgid stripped' "$T/rootless.err"

# a second import of the same layout reuses everything
check "re-import prints the same rootfs" \
  test "$("$STORE_IMPORT" "$S" "$L" t 2>/dev/null)" = "$ROOTFS"
finish
