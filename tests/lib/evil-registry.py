#!/usr/bin/python3
"""evil-registry.py: a registry that misbehaves on purpose, for tests.

Serves the image of an OCI layout (--layout: index.json tags, blobs/sha256)
over the distribution API, on two listeners: the main one on 127.0.0.1 and
a second one on --second-host (another loopback address, so another host
for libcurl) that only serves blobs, as a redirect target.  --port-file
receives "MAIN SECOND".

The first component of the repository name picks the misbehaviour:

  good/...        behaves
  tamper/...      blobs with one byte changed; a manifest by digest with
                  one byte added
  baddigest/...   manifests with a wrong Docker-Content-Digest header
  bigmanifest/... a manifest one byte over 4 MiB
  flaky/...       503 for the first two requests of each path
  busy/...        503 always
  ratelimit/...   429 with "Retry-After: 1" for the first request of a path
  cut/...         the first blob request of a path is cut after half the
                  bytes; later ones honour "Range: bytes=N-" (206)
  norange/...     cut the same way, then ignores Range (200, whole blob)
  redirect/...    wants Basic --user/--password (401 otherwise); blobs are
                  a 307 to the second listener
  slow/...        blobs take half a second; the log says how many blob
                  requests were in flight ("inflight")

Every request is appended to --log as a JSON line: which listener, method,
path, the Range header, and whether an Authorization header came (never its
value).
"""
import argparse
import base64
import hashlib
import json
import os
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MANIFEST_MAX_SIZE = 4 << 20
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
PATH_RE = re.compile(r"^/v2/(.+)/(manifests|blobs)/([^/]+)$")


class State:
    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.counts = {}
        self.inflight = 0
        self.second_port = 0
        with open(os.path.join(opts.layout, "index.json")) as f:
            index = json.load(f)
        self.tags = {}
        for m in index["manifests"]:
            tag = m.get("annotations", {}).get("org.opencontainers.image.ref.name")
            if tag:
                self.tags[tag] = m["digest"]

    def count(self, key):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]

    def blob(self, digest):
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            return None
        path = os.path.join(self.opts.layout, "blobs", "sha256", digest[7:])
        if not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def log(self, entry):
        with self.lock, open(self.opts.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None
    listener = "main"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message, headers=()):
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self.send(status, body, [("Content-Type", "application/json")] + list(headers))

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        want = base64.b64encode(("%s:%s" % (self.state.opts.user,
                                            self.state.opts.password)).encode()).decode()
        return auth == "Basic " + want

    def cut(self, data):
        """Promise all the bytes, send half, hang up."""
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self.wfile.write(data[:len(data) // 2])
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def send_blob(self, data, honour_range=True):
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if honour_range and m and int(m.group(1)) < len(data):
            start = int(m.group(1))
            return self.send(206, data[start:], [
                ("Content-Type", "application/octet-stream"),
                ("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))])
        self.send(200, data, [("Content-Type", "application/octet-stream")])

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        st = self.state
        st.log({"listener": self.listener, "method": self.command, "path": self.path,
                "range": self.headers.get("Range"),
                "auth": "Authorization" in self.headers})
        if self.path in ("/v2/", "/v2"):
            return self.send(200, b"{}", [("Content-Type", "application/json")])
        m = PATH_RE.match(self.path)
        if not m:
            return self.error(404, "NOT_FOUND", "no such path")
        repo, kind, ref = m.groups()
        mode = repo.split("/")[0]
        if self.listener == "second":
            data = st.blob(ref) if kind == "blobs" else None
            if data is None:
                return self.error(404, "BLOB_UNKNOWN", "blob unknown")
            return self.send_blob(data)
        n = st.count(self.path)
        if mode == "busy" or (mode == "flaky" and n <= 2):
            return self.error(503, "UNAVAILABLE", "try again later")
        if mode == "ratelimit" and n == 1:
            return self.error(429, "TOOMANYREQUESTS", "slow down",
                              [("Retry-After", "1")])
        if mode == "redirect" and not self.authorized():
            return self.error(401, "UNAUTHORIZED", "authentication required",
                              [("WWW-Authenticate", 'Basic realm="evil"')])
        if kind == "manifests":
            return self.manifest(mode, ref)
        return self.blob(mode, ref, n)

    def manifest(self, mode, ref):
        st = self.state
        digest = st.tags.get(ref, ref)
        data = st.blob(digest)
        if data is None:
            return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        header_digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if mode == "tamper" and ref.startswith("sha256:"):
            data += b" "
        if mode == "baddigest":
            header_digest = "sha256:" + "0" * 64
        if mode == "bigmanifest":
            data = data + b" " * (MANIFEST_MAX_SIZE + 1 - len(data))
        self.send(200, data, [("Content-Type", OCI_MANIFEST),
                              ("Docker-Content-Digest", header_digest)])

    def blob(self, mode, ref, n):
        st = self.state
        data = st.blob(ref)
        if data is None:
            return self.error(404, "BLOB_UNKNOWN", "blob unknown")
        if mode == "tamper":
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        if mode in ("cut", "norange") and n == 1:
            return self.cut(data)
        if mode == "slow":
            return self.slow(data)
        if mode == "redirect":
            host = st.opts.second_host
            return self.send(307, b"", [("Location", "http://%s:%d%s" % (
                host, st.second_port, self.path))])
        self.send_blob(data, honour_range=(mode != "norange"))


    def slow(self, data):
        st = self.state
        with st.lock:
            st.inflight += 1
            now = st.inflight
        st.log({"listener": self.listener, "path": self.path, "inflight": now})
        time.sleep(0.5)
        with st.lock:
            st.inflight -= 1
        self.send_blob(data)


def serve(host, handler_cls):
    server = ThreadingHTTPServer((host, 0), handler_cls)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--layout", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--user", default="evil")
    p.add_argument("--password", default="evil")
    p.add_argument("--second-host", default="127.0.0.2")
    opts = p.parse_args()
    state = State(opts)
    main_cls = type("Main", (Handler,), {"state": state, "listener": "main"})
    second_cls = type("Second", (Handler,), {"state": state, "listener": "second"})
    main_server = serve("127.0.0.1", main_cls)
    second_server = serve(opts.second_host, second_cls)
    state.second_port = second_server.server_address[1]
    tmp = opts.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (main_server.server_address[1], state.second_port))
    os.rename(tmp, opts.port_file)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
