#!/usr/bin/env python3
"""A registry token service for the end-to-end tests, like ghcr.io's or Docker Hub's.

The CNCF distribution registry with `auth: token: {realm, service, issuer, rootcertbundle}`
answers an unauthenticated request with
    401  WWW-Authenticate: Bearer realm="REALM",service="SERVICE",scope="repository:NAME:pull"
and the client asks REALM for a token:
    GET REALM?service=SERVICE&scope=repository:NAME:pull   (Authorization: Basic, or none)
This server answers that with a JWT signed by --key (ES256 for an ECDSA P-256 key, RS256 for
RSA); the header carries the signing certificate (--cert) in `x5c`, which the registry checks
against its rootcertbundle.

- Credentials (Basic user:password, the --users file has one "user:password" a line) are
  checked when given: wrong ones get 401 and no token.
- Authenticated users get the actions they ask for (pull, push) on any repository.
- Anonymous requests get pull on repositories under a --public prefix, and a token without
  access for anything else (as Docker Hub does), which the registry then refuses.
- Every issued token is counted: GET /stats answers {"issued": N, "refused": N,
  "by_account": {"user": N, "": N anonymous}, "scopes": {...}} so that a test can check that a
  client reuses its tokens.

It listens on 127.0.0.1 with HTTPS (--tls-cert/--tls-key) and/or plain HTTP (--http), on free
ports, and writes {"https": PORT, "http": PORT} to --state-file once it accepts connections.
Only the standard library and the `openssl` command are used (signing via subprocess argv).
Secrets are never logged.
"""

import argparse
import base64
import binascii
import hmac
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def der_to_raw_ecdsa(der, size=32):
    """The JWS form (RFC 7518 3.4) of a DER ECDSA signature."""
    def read(pos, tag):
        if der[pos] != tag:
            raise ValueError("unexpected DER tag")
        length = der[pos + 1]
        pos += 2
        if length & 0x80:  # long form; never needed for P-256, handled for safety
            count = length & 0x7F
            length = int.from_bytes(der[pos:pos + count], "big")
            pos += count
        return der[pos:pos + length], pos + length

    body, _ = read(0, 0x30)
    der = body
    r, pos = read(0, 0x02)
    s, _ = read(pos, 0x02)
    return int.from_bytes(r, "big").to_bytes(size, "big") + int.from_bytes(s, "big").to_bytes(size, "big")


class Issuer:
    def __init__(self, args):
        self.issuer = args.issuer
        self.service = args.service
        self.key = args.key
        # `openssl req -newkey` writes PKCS#8 "PRIVATE KEY" for both kinds: ask openssl.
        text = subprocess.run(["openssl", "pkey", "-in", args.key, "-noout", "-text"],
                              capture_output=True, check=True, text=True).stdout
        self.alg = "ES256" if "prime256v1" in text or "P-256" in text else "RS256"
        self.expires_in = args.expires_in
        self.public = args.public or []
        self.users = {}
        if args.users:
            with open(args.users, encoding="utf-8") as f:
                for line in f:
                    line = line.rstrip("\r\n")
                    if ":" in line:
                        user, password = line.split(":", 1)
                        self.users[user] = password
        with open(args.cert, encoding="ascii") as f:
            pem = f.read()
        body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
        # x5c holds standard (not URL-safe) base64 of the DER certificate.
        self.x5c = "".join(body.split())
        self.lock = threading.Lock()
        self.stats = {"issued": 0, "refused": 0, "by_account": {}, "scopes": {}}

    def check(self, authorization):
        """(ok, account) for an Authorization header value, or None when absent."""
        if authorization is None:
            return True, ""
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False, None
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False, None
        user, sep, password = decoded.partition(":")
        expected = self.users.get(user)
        if not sep or expected is None:
            return False, user
        return hmac.compare_digest(expected.encode(), password.encode()), user

    def grant(self, account, scopes):
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) != 3 or parts[0] != "repository":
                continue
            name, actions = parts[1], [a for a in parts[2].split(",") if a in ("pull", "push")]
            if account == "":
                public = any(name.startswith(prefix) for prefix in self.public)
                actions = [a for a in actions if a == "pull"] if public else []
            access.append({"type": "repository", "name": name, "actions": actions})
        return access

    def sign(self, claims):
        header = {"typ": "JWT", "alg": self.alg, "x5c": [self.x5c]}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        result = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key],
                                input=signing_input.encode(), capture_output=True, check=True)
        # RS256 is RSASSA-PKCS1-v1_5 over SHA-256: exactly what `openssl dgst -sign` writes.
        # ES256 is r || s, 32 bytes each, where openssl writes DER SEQUENCE { INTEGER r, s }.
        signature = result.stdout if self.alg == "RS256" else der_to_raw_ecdsa(result.stdout)
        return signing_input + "." + b64url(signature)

    def token(self, account, scopes):
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": account,
            "aud": self.service,
            "exp": now + self.expires_in,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": self.grant(account, scopes),
        }
        token = self.sign(claims)
        with self.lock:
            self.stats["issued"] += 1
            by_account = self.stats["by_account"]
            by_account[account] = by_account.get(account, 0) + 1
            for scope in scopes:
                self.stats["scopes"][scope] = self.stats["scopes"].get(scope, 0) + 1
        return {
            "token": token,
            "access_token": token,
            "expires_in": self.expires_in,
            "issued_at": datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


class TLSServer(ThreadingHTTPServer):
    """HTTPS with the handshake in each connection's thread, so that a client that connects
    and stalls never blocks the accepting loop."""

    def __init__(self, address, handler, context):
        super().__init__(address, handler)
        self.context = context

    def finish_request(self, request, client_address):
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            sys.stderr.write("token_issuer: TLS handshake with %s failed: %s\n" %
                             (client_address[0], e))
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()


def make_handler(issuer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # the path has no secret; headers are not logged
            sys.stderr.write("token_issuer: %s %s\n" % (self.address_string(), fmt % args))

        def answer(self, status, document, extra_headers=()):
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra_headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/stats":
                with issuer.lock:
                    self.answer(200, issuer.stats)
                return
            if url.path != "/token":
                self.answer(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
                return
            query = parse_qs(url.query)
            if query.get("service", [""])[0] != issuer.service:
                self.answer(400, {"errors": [{"code": "UNSUPPORTED",
                                              "message": "unknown service"}]})
                return
            ok, account = issuer.check(self.headers.get("Authorization"))
            if not ok:
                with issuer.lock:
                    issuer.stats["refused"] += 1
                self.answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                              "message": "invalid username or password"}]},
                            [("WWW-Authenticate", 'Basic realm="agentd-test-issuer"')])
                return
            try:
                document = issuer.token(account, query.get("scope", []))
            except subprocess.CalledProcessError as e:
                self.answer(500, {"errors": [{"code": "SIGNING",
                                              "message": e.stderr.decode(errors="replace")}]})
                return
            self.answer(200, document)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", required=True, help="the token's iss")
    parser.add_argument("--service", required=True, help="the token's aud; the registry's service")
    parser.add_argument("--key", required=True,
                        help="ECDSA P-256 or RSA private key (PEM) that signs tokens")
    parser.add_argument("--cert", required=True, help="its certificate (PEM), sent in x5c")
    parser.add_argument("--users", help='file of "user:password" lines')
    parser.add_argument("--public", action="append", help="repository prefix open to anonymous pull")
    parser.add_argument("--expires-in", type=int, default=300, help="token lifetime in seconds")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="and this key")
    parser.add_argument("--http", action="store_true", help="also serve plain HTTP")
    parser.add_argument("--state-file", required=True, help='where {"https":P,"http":P} goes')
    args = parser.parse_args()
    if not args.tls_cert and not args.http:
        parser.error("give --tls-cert/--tls-key, --http, or both")

    issuer = Issuer(args)
    handler = make_handler(issuer)
    servers = {}
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        servers["https"] = TLSServer(("127.0.0.1", 0), handler, context)
    if args.http:
        servers["http"] = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for server in servers.values():
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()

    # Written last and renamed into place: once it exists, both ports accept connections.
    state = {name: server.server_address[1] for name, server in servers.items()}
    state["pid"] = os.getpid()
    with open(args.state_file + ".tmp", "w", encoding="utf-8") as f:
        json.dump(state, f)
    os.replace(args.state_file + ".tmp", args.state_file)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for server in servers.values():
        server.shutdown()


if __name__ == "__main__":
    main()
