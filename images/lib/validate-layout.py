#!/usr/bin/python3
"""Validate an OCI image layout: oci-layout, index.json, and each manifest
and config it references against the official OCI image-spec JSON schemas
(Debian: golang-github-opencontainers-image-spec-dev), and every blob's
digest and size.  Prints "valid" or the first errors and exits 1.
Usage: validate-layout.py LAYOUT [SCHEMA_DIR]"""
import hashlib
import json
import os
import pathlib
import sys
import urllib.parse

import jsonschema

DEFAULT = "/usr/share/gocode/src/github.com/opencontainers/image-spec/schema"
errors = []


def validator(schema_dir, name):
    path = schema_dir / name
    schema = json.load(open(path))

    # The schemas' ids and $refs are URLs (https://opencontainers.org/...);
    # each names a file of the schema directory by its last component.
    def local(uri):
        return json.load(open(schema_dir / os.path.basename(urllib.parse.urlparse(uri).path)))

    resolver = jsonschema.RefResolver(base_uri=path.as_uri(), referrer=schema,
                                      handlers={"https": local, "http": local})
    return jsonschema.Draft4Validator(schema, resolver=resolver)


def check(v, what, doc):
    for e in sorted(v.iter_errors(doc), key=lambda e: list(e.path))[:5]:
        errors.append("%s: %s: %s" % (what, "/".join(map(str, e.path)) or "(top)", e.message))


def blob(layout, desc, what):
    d = desc.get("digest", "")
    algo, _, hexd = d.partition(":")
    p = layout / "blobs" / algo / hexd
    try:
        data = p.read_bytes()
    except OSError as e:
        errors.append("%s: blob %s: %s" % (what, d, e.strerror))
        return None
    if algo != "sha256" or hashlib.sha256(data).hexdigest() != hexd:
        errors.append("%s: blob %s does not match its digest" % (what, d))
    if len(data) != desc.get("size"):
        errors.append("%s: blob %s is %d bytes, descriptor says %s" % (what, d, len(data), desc.get("size")))
    return data


def main():
    layout = pathlib.Path(sys.argv[1])
    sd = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else DEFAULT)
    check(validator(sd, "image-layout-schema.json"), "oci-layout", json.load(open(layout / "oci-layout")))
    index = json.load(open(layout / "index.json"))
    check(validator(sd, "image-index-schema.json"), "index.json", index)
    vm = validator(sd, "image-manifest-schema.json")
    vc = validator(sd, "config-schema.json")
    for i, desc in enumerate(index.get("manifests", [])):
        what = "manifest %d" % i
        data = blob(layout, desc, what)
        if data is None:
            continue
        manifest = json.loads(data)
        check(vm, what, manifest)
        cdata = blob(layout, manifest.get("config", {}), what + " config")
        if cdata is not None:
            config = json.loads(cdata)
            check(vc, what + " config", config)
            if len(config.get("rootfs", {}).get("diff_ids", [])) != len(manifest.get("layers", [])):
                errors.append("%s: config has %d diff_ids for %d layers"
                              % (what, len(config["rootfs"]["diff_ids"]), len(manifest["layers"])))
        for j, layer in enumerate(manifest.get("layers", [])):
            blob(layout, layer, "%s layer %d" % (what, j))
    for e in errors[:10]:
        print("invalid: " + e)
    if errors:
        sys.exit(1)
    print("valid")


main()
