#!/usr/bin/python3
"""Validate a generated config.json against the official OCI runtime-spec
JSON schema (Debian: golang-github-opencontainers-specs-dev) and print the
first error.  Usage: validate-spec.py CONFIG.json [SCHEMA_DIR]"""
import json
import pathlib
import sys

import jsonschema

DEFAULT = "/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema"


def main():
    config = json.load(open(sys.argv[1]))
    schema_dir = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else DEFAULT)
    schema_path = schema_dir / "config-schema.json"
    schema = json.load(open(schema_path))
    resolver = jsonschema.RefResolver(base_uri=schema_path.as_uri(), referrer=schema)
    validator = jsonschema.Draft4Validator(schema, resolver=resolver)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.path))
    for e in errors[:5]:
        print("invalid: %s: %s" % ("/".join(map(str, e.path)), e.message))
    if errors:
        sys.exit(1)
    print("valid")


main()
