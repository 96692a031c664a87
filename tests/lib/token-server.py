#!/usr/bin/python3
"""token-server.py: a minimal Docker registry token server for tests.

Implements the token endpoint of the distribution auth spec that a real
docker-registry configured with `auth: token:` trusts: GET
/token?service=S&scope=repository:NAME:ACTIONS[&scope=...] with HTTP Basic
credentials returns {"token", "access_token", "expires_in", "issued_at"},
a JWT signed RS256 with --key whose header carries --cert as "x5c" (the
registry's rootcertbundle holds the same certificate).

Requests without valid credentials get 401.  Each request is appended to
--log as one JSON line (path, query, whether Basic credentials came, user,
and the token issued) so tests can count requests and check that no token
ever reaches the client's output.

Usage: token-server.py --key K --cert C --issuer I --service S
                       --user U --password P --port-file F --log L
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_rs256(key_path, data):
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
    except ImportError:  # python3-cryptography missing: openssl does it
        return subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", key_path],
            input=data, capture_output=True, check=True).stdout
    with open(key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def cert_der_b64(cert_path):
    """The PEM body is the base64 of the DER certificate: what x5c holds."""
    lines = open(cert_path).read().splitlines()
    start = lines.index("-----BEGIN CERTIFICATE-----")
    end = lines.index("-----END CERTIFICATE-----")
    return "".join(lines[start + 1:end])


def parse_scopes(scopes):
    access = []
    for scope in scopes:
        for one in scope.split(" "):
            parts = one.split(":")
            if len(parts) >= 3 and parts[0] == "repository":
                access.append({"type": "repository",
                               "name": ":".join(parts[1:-1]),
                               "actions": parts[-1].split(",")})
    return access


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    opts = None
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        pass

    def log_json(self, entry):
        with self.lock, open(self.opts.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def reply(self, status, body, extra=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def basic_user(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return None, False
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return None, True
        ok = user == self.opts.user and password == self.opts.password
        return (user if ok else None), True

    def make_token(self, user, service, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256",
                  "x5c": [cert_der_b64(self.opts.cert)]}
        claims = {"iss": self.opts.issuer, "sub": user, "aud": service,
                  "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": b64url(os.urandom(12)), "access": access}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        sig = sign_rs256(self.opts.key, signing_input.encode())
        return signing_input + "." + b64url(sig)

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        user, sent_basic = self.basic_user()
        entry = {"path": url.path, "query": query, "basic": sent_basic,
                 "user": user, "token": None}
        if url.path != "/token":
            self.log_json(entry)
            return self.reply(404, {"errors": [{"message": "not found"}]})
        if user is None:
            self.log_json(entry)
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                                "message": "authentication required"}]},
                              [("WWW-Authenticate", 'Basic realm="token"')])
        service = query.get("service", [self.opts.service])[0]
        token = self.make_token(user, service, parse_scopes(query.get("scope", [])))
        entry["token"] = token
        self.log_json(entry)
        self.reply(200, {"token": token, "access_token": token,
                         "expires_in": 300,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                    time.gmtime())})


def main():
    p = argparse.ArgumentParser()
    for name in ("key", "cert", "issuer", "service", "user", "password",
                 "port-file", "log"):
        p.add_argument("--" + name, required=True)
    opts = p.parse_args()
    Handler.opts = opts
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = opts.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, opts.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
