#!/usr/bin/python3
"""Write a small runnable OCI image layout for tests, from this host's
glibc: enough for dynamically linked Rust build scripts and /bin/sh.

  make-test-image.py DIR [BIG_MIB]

Images in the layout (org.opencontainers.image.ref.name):
  base  layer 1: glibc, libgcc_s, dash as /usr/bin/sh, merged-/usr links,
                 ld.so.cache, /usr/share/removeme
        layer 2: /etc/image-marker, and a whiteout deleting removeme
  multi an index: linux/arm64 (same layers, arm64 config) and linux/amd64
        (= base), for platform selection
  oldlibc  like base, but its libc.so.6 is a stub that defines only
        GLIBC_2.2.5 (built here with a version script): a deliberately old
        glibc for the runner's check
  big   base's two layers (shared) + BIG_MIB of random bytes (default 0:
        no big image), for interrupted pulls
The config sets Env PATH and OHR_IMAGE_VAR=from-image.
Deterministic except for the random layer.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

LIBDIR = "usr/lib/x86_64-linux-gnu"
LIBS = ["ld-linux-x86-64.so.2", "libc.so.6", "libgcc_s.so.1", "libm.so.6"]


def blob(root, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs/sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}


def tar_of(entries):
    """entries: (name, kind, payload, mode); kind: file|dir|link."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, kind, payload, mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.mode = mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            elif kind == "link":
                info.type = tarfile.SYMTYPE
                info.linkname = payload
                t.addfile(info)
            else:
                info.size = len(payload)
                t.addfile(info, io.BytesIO(payload))
    return raw.getvalue()


def layer(root, entries):
    tar = tar_of(entries)
    desc = blob(root, gzip.compress(tar, mtime=0))
    desc["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    return desc, "sha256:" + hashlib.sha256(tar).hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def ld_cache(libs):
    """ld.so.cache for a root holding libs, made by the host's ldconfig."""
    tmp = tempfile.mkdtemp()
    try:
        os.makedirs(os.path.join(tmp, LIBDIR))
        os.makedirs(os.path.join(tmp, "etc"))
        for name, data in libs.items():
            with open(os.path.join(tmp, LIBDIR, name), "wb") as f:
                f.write(data)
        with open(os.path.join(tmp, "etc/ld.so.conf"), "w") as f:
            f.write("/" + LIBDIR + "\n")
        subprocess.run(["ldconfig", "-r", tmp], check=True)
        return read(os.path.join(tmp, "etc/ld.so.cache"))
    finally:
        shutil.rmtree(tmp)


def base_layers(root):
    libs = {n: read(os.path.realpath("/" + LIBDIR + "/" + n)) for n in LIBS}
    entries = [
        ("usr", "dir", None, 0o755),
        ("usr/bin", "dir", None, 0o755),
        ("usr/lib", "dir", None, 0o755),
        (LIBDIR, "dir", None, 0o755),
        ("usr/lib64", "dir", None, 0o755),
        ("usr/share", "dir", None, 0o755),
        ("etc", "dir", None, 0o755),
        ("tmp", "dir", None, 0o1777),
        ("bin", "link", "usr/bin", 0o777),
        ("lib", "link", "usr/lib", 0o777),
        ("lib64", "link", "usr/lib64", 0o777),
        ("usr/lib64/ld-linux-x86-64.so.2", "link",
         "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0o777),
        ("usr/bin/sh", "file", read("/bin/dash"), 0o755),
        ("usr/share/removeme", "file", b"deleted by the upper layer\n", 0o644),
        ("etc/ld.so.cache", "file", ld_cache(libs), 0o644),
        ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n", 0o644),
        ("etc/group", "file", b"root:x:0:\n", 0o644),
    ]
    entries += [(LIBDIR + "/" + n, "file", data, 0o755) for n, data in libs.items()]
    top = [
        ("etc/image-marker", "file", b"ohr test image\n", 0o644),
        ("usr/share/.wh.removeme", "file", b"", 0o644),
    ]
    return [layer(root, entries), layer(root, top)]


def image(root, layers, tag, arch="amd64"):
    config = {
        "architecture": arch,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin:/bin", "OHR_IMAGE_VAR=from-image"]},
        "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]},
    }
    cdesc = blob(root, json.dumps(config, sort_keys=True).encode())
    cdesc["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": cdesc,
        "layers": [desc for desc, _ in layers],
    }
    mdesc = blob(root, json.dumps(manifest, sort_keys=True).encode())
    mdesc["mediaType"] = manifest["mediaType"]
    mdesc["annotations"] = {"org.opencontainers.image.ref.name": tag}
    mdesc["platform"] = {"os": "linux", "architecture": arch}
    return mdesc


def multi_arch(root, layers, amd64):
    """An index: arm64 first (so picking the first entry would be wrong),
    then the amd64 base image."""
    arm64 = image(root, layers, "multi-arm64", "arm64")
    entries = []
    for d in (arm64, amd64):
        e = dict(d)
        e.pop("annotations")
        entries.append(e)
    index = {"schemaVersion": 2,
             "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": entries}
    idesc = blob(root, json.dumps(index, sort_keys=True).encode())
    idesc["mediaType"] = index["mediaType"]
    idesc["annotations"] = {"org.opencontainers.image.ref.name": "multi"}
    return idesc


def old_libc_layer(root):
    """A layer replacing libc.so.6 with a stub whose newest version is
    GLIBC_2.2.5 (real enough for the ELF check, never executed)."""
    tmp = tempfile.mkdtemp()
    try:
        with open(tmp + "/stub.c", "w") as f:
            f.write("int ohr_old_libc_stub(void) { return 0; }\n")
        with open(tmp + "/v.map", "w") as f:
            f.write("GLIBC_2.2.5 { global: ohr_old_libc_stub; local: *; };\n")
        subprocess.run(["cc", "-shared", "-fPIC", "-nostdlib", "-o",
                        tmp + "/libc.so.6", tmp + "/stub.c",
                        "-Wl,--version-script=" + tmp + "/v.map",
                        "-Wl,-soname,libc.so.6"], check=True)
        stub = read(tmp + "/libc.so.6")
    finally:
        shutil.rmtree(tmp)
    return layer(root, [(LIBDIR + "/libc.so.6", "file", stub, 0o755)])


def main():
    root = sys.argv[1]
    big = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    os.makedirs(os.path.join(root, "blobs/sha256"), exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    layers = base_layers(root)
    manifests = [image(root, layers, "base")]
    manifests.append(multi_arch(root, layers, manifests[0]))
    manifests.append(image(root, layers + [old_libc_layer(root)], "oldlibc"))
    if big:
        noise = [("opt", "dir", None, 0o755),
                 ("opt/big.bin", "file", os.urandom(big << 20), 0o644)]
        manifests.append(image(root, layers + [layer(root, noise)], "big"))
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)


if __name__ == "__main__":  # test-store-limits imports blob() and image()
    main()
