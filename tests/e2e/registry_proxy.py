#!/usr/bin/python3
"""A misbehaving registry for end-to-end tests: an HTTP proxy in front of a real registry.

It forwards every request to the upstream registry and, as the test tells it to:
- records each request (method, kind, repository, the status it answered), so a test can count
  tags/list, manifest HEAD and GET, blob and token requests;
- answers the next N requests that match a regular expression with a given status, headers and
  body (429 with Retry-After, 503, a tag list that is not JSON, ...), then passes through again;
- or, for such requests, misbehaves at the connection level: holds the connection open without
  ever answering ("hang"), forwards the answer but closes the connection part way through its
  body ("cut"), or forwards it after a delay ("delay", e.g. a slow blob);
- acts as a Bearer token realm: /v2/ requests without a token it issued get 401 with
  `WWW-Authenticate: Bearer realm="http://HOST:PORT/token",...`, and /token issues tokens
  (or answers malformed JSON, in that mode).

Usage: registry_proxy.py --upstream HOST:PORT --port-file FILE [--listen 127.0.0.1]
It binds a free port and writes it to FILE once it accepts connections.

Control endpoints (JSON; tests/e2e/proxy.sh wraps them):
  GET    /_proxy/requests  the requests since the last reset, also those still being served:
                           [{"method","path","kind","repo","status","injected","fault",
                             "done"}, ...]
  POST   /_proxy/reset     forgets the recorded requests
  POST   /_proxy/rules     adds a rule: {"match": REGEX on "METHOD /path?query",
                           "count": N (default 1; -1 = until cleared), "status": 429,
                           "headers": {...}, "body": "...", "retry_after": "SECONDS or text",
                           "retry_after_in": SECONDS (sent as an HTTP-date that far ahead),
                           "action": "answer" (default) | "hang" | "cut" | "forward",
                           "delay": SECONDS to wait before answering or forwarding,
                           "cut_after": BYTES of the body sent before "cut" closes the
                           connection (default: half of it),
                           "replace": true removes every other rule in the same step,
                           "drop_headers": [NAME, ...] left out of a forwarded answer}
                           "hang" answers nothing and keeps the connection until the client
                           gives up (or "hang_seconds", default 3600); "forward" passes the
                           request through (useful with "delay").
  DELETE /_proxy/rules     removes every rule
  POST   /_proxy/auth      {"bearer": true|false, "expires_in": SECONDS,
                           "token_answer": "ok" | "malformed" | "wrong_shape"}
  POST   /_proxy/revoke    forgets every token issued, so clients must fetch new ones

Kinds: base (/v2/), tags, manifest_head, manifest_get, manifest (other methods), blob (any
method), upload, token, other. A request recorded with status 0 got no answer (hang, or the
client went away); "fault" names the connection-level misbehaviour applied, if any. Only the
Python standard library is used.
"""

import argparse
import email.utils
import http.client
import http.server
import json
import os
import re
import secrets
import select
import socket
import sys
import threading
import time
import urllib.parse

# Hop-by-hop headers (RFC 9110 7.6.1) and those this proxy sets itself.
HOP_HEADERS = {
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length", "date", "server",
}
CHUNK = 64 * 1024
REPO_PATH = re.compile(r"^/v2/(?P<repo>.+?)/(?P<rest>tags/list|manifests/[^/]+|blobs/uploads(/.*)?|blobs/[^/]+)$")


def classify(method, path):
    """(kind, repository or None) of a request path."""
    bare = urllib.parse.urlsplit(path).path
    if bare == "/token":
        return "token", None
    if bare in ("/v2", "/v2/"):
        return "base", None
    m = REPO_PATH.match(bare)
    if not m:
        return "other", None
    rest = m.group("rest")
    if rest == "tags/list":
        kind = "tags"
    elif rest.startswith("manifests/"):
        kind = {"HEAD": "manifest_head", "GET": "manifest_get"}.get(method, "manifest")
    elif rest.startswith("blobs/uploads"):
        kind = "upload"
    else:
        kind = "blob"
    return kind, m.group("repo")


class State:
    """What the test controls and what the proxy saw; shared by the connection threads."""

    def __init__(self, upstream, listen, port):
        self.upstream = upstream
        self.origin = f"http://{listen}:{port}"
        self.lock = threading.Lock()
        self.requests = []
        self.rules = []
        self.bearer = False
        self.expires_in = 300
        self.token_answer = "ok"
        self.tokens = {}  # token -> (expiry, set of repositories it may pull)

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)

    def take_rule(self, line):
        """The first rule matching `line` with answers left (one is used up), or None."""
        with self.lock:
            for rule in self.rules:
                if rule["count"] != 0 and re.search(rule["match"], line):
                    if rule["count"] > 0:
                        rule["count"] -= 1
                    return dict(rule)
        return None

    def issue_token(self, scopes):
        repos = set()
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) >= 3 and parts[0] == "repository":
                repos.add(":".join(parts[1:-1]))
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = (time.time() + self.expires_in, repos)
        return token

    def authorized(self, header, repo):
        if not header or not header.startswith("Bearer "):
            return False
        with self.lock:
            entry = self.tokens.get(header[len("Bearer "):].strip())
        if entry is None or entry[0] < time.time():
            return False
        return repo is None or repo in entry[1]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "agentd-test-registry-proxy"
    state = None  # set in main()

    # -- plumbing -------------------------------------------------------------------------

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), format % args))

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def answer(self, status, body=b"", headers=None, content_type="application/json"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if content_type and not any(k.lower() == "content-type" for k in (headers or {})):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self.handle_any()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- dispatch -------------------------------------------------------------------------

    def handle_any(self):
        if self.path.startswith("/_proxy/"):
            return self.control()
        body = self.read_body()
        kind, repo = classify(self.command, self.path)
        entry = {"method": self.command, "path": self.path, "kind": kind, "repo": repo,
                 "status": 0, "injected": False, "fault": None, "done": False}
        self.state.record(entry)  # now: a hanging request is visible while it hangs
        try:
            status, injected, fault = self.serve(kind, repo, body)
            with self.state.lock:
                entry.update(status=status, injected=injected, fault=fault)
        finally:
            with self.state.lock:
                entry["done"] = True

    def serve(self, kind, repo, body):
        """Answers one registry or token request; returns (status, injected, fault)."""
        st = self.state
        if kind != "token" and self.path.startswith("/v2") and st.bearer and \
                not st.authorized(self.headers.get("Authorization"), repo):
            challenge = f'Bearer realm="{st.origin}/token",service="agentd-test-proxy"'
            if repo is not None:
                challenge += f',scope="repository:{repo}:pull"'
            self.answer(401, json.dumps({"errors": [{"code": "UNAUTHORIZED",
                                                     "message": "authentication required"}]}),
                        {"WWW-Authenticate": challenge})
            return 401, True, None
        rule = st.take_rule(f"{self.command} {self.path}")
        action = (rule or {}).get("action", "answer")
        if rule is not None and float(rule.get("delay", 0)) > 0:
            time.sleep(float(rule["delay"]))
        if action == "hang":
            self.hang(float(rule.get("hang_seconds", 3600)))
            return 0, True, "hang"
        drop = {name.lower() for name in (rule or {}).get("drop_headers", [])}
        if action == "cut":
            return self.forward(body, cut_after=rule.get("cut_after", -1), drop=drop), True, "cut"
        if action == "forward":
            return self.forward(body, drop=drop), True, "delay"
        if rule is not None:
            headers = dict(rule.get("headers") or {})
            if "retry_after" in rule:
                headers["Retry-After"] = str(rule["retry_after"])
            if "retry_after_in" in rule:
                headers["Retry-After"] = email.utils.formatdate(
                    time.time() + float(rule["retry_after_in"]), usegmt=True)
            status = int(rule.get("status", 200))
            self.answer(status, rule.get("body", ""), headers)
            return status, True, None
        if kind == "token":
            return self.token(), False, None
        return self.forward(body), False, None

    def hang(self, seconds):
        """Keeps the connection open without answering, until the client closes it."""
        self.close_connection = True
        deadline = time.time() + seconds
        while time.time() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0.5)
            if not readable:
                continue
            try:
                if not self.connection.recv(1, socket.MSG_PEEK):
                    return  # the client gave up
            except OSError:
                return
            time.sleep(0.5)  # more bytes from the client: ignored as well

    def token(self):
        st = self.state
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        token = st.issue_token(query.get("scope", []))
        if st.token_answer == "malformed":
            self.answer(200, '{"token": "' + token)  # cut short: not JSON
        elif st.token_answer == "wrong_shape":
            self.answer(200, json.dumps({"token": {"value": token}, "expires_in": "soon"}))
        else:
            self.answer(200, json.dumps({
                "token": token, "access_token": token, "expires_in": st.expires_in,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))
        return 200

    def forward(self, body, cut_after=None, drop=frozenset()):
        """Passes the request to the upstream registry and streams its answer back, without the
        headers named in drop (lower case); with cut_after (bytes, -1 = half), closes the
        connection after that much of the body."""
        st = self.state
        upstream = http.client.HTTPConnection(st.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in HOP_HEADERS and k.lower() != "authorization"}
        headers["Host"] = st.upstream
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
        except OSError as e:
            self.answer(502, json.dumps({"errors": [{"code": "UNKNOWN",
                                                     "message": f"upstream: {e}"}]}))
            upstream.close()
            return 502
        try:
            length = response.getheader("Content-Length")
            data = None
            if length is None and self.command != "HEAD":
                data = response.read()  # chunked upstream: send it with a length
                length = str(len(data))
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() in HOP_HEADERS or name.lower() in drop:
                    continue
                if name.lower() in ("location", "link"):
                    value = value.replace(f"http://{st.upstream}", st.origin)
                self.send_header(name, value)
            self.send_header("Content-Length", length or "0")
            self.end_headers()
            if self.command != "HEAD":
                if cut_after is not None:
                    total = int(length or 0)
                    limit = total // 2 if int(cut_after) < 0 else min(int(cut_after), total - 1)
                    data = data if data is not None else response.read(total)
                    self.wfile.write(data[:max(limit, 0)])
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return response.status
                if data is not None:
                    self.wfile.write(data)
                else:
                    while chunk := response.read(CHUNK):
                        self.wfile.write(chunk)
            return response.status
        finally:
            upstream.close()

    # -- control --------------------------------------------------------------------------

    def control(self):
        what = f"{self.command} {urllib.parse.urlsplit(self.path).path[len('/_proxy/'):]}"
        raw = self.read_body()
        try:
            args = json.loads(raw) if raw.strip() else {}
            status, reply = self.apply_control(what, args)
        except (ValueError, re.error) as e:
            status, reply = 400, {"error": f"{what}: {e}"}
        self.answer(status, json.dumps(reply))

    def apply_control(self, what, args):
        """(status, JSON reply) of one control request."""
        st = self.state
        with st.lock:
            if what == "GET requests":
                return 200, [dict(entry) for entry in st.requests]
            if what == "POST reset":
                st.requests.clear()
            elif what == "POST rules":
                if "match" not in args:
                    raise ValueError('a rule needs "match"')
                re.compile(args["match"])
                if args.pop("replace", False):
                    st.rules.clear()  # one step: no request sees neither rule
                st.rules.append({"count": 1, **args})
            elif what == "DELETE rules":
                st.rules.clear()
            elif what == "POST auth":
                st.bearer = bool(args.get("bearer", st.bearer))
                st.expires_in = int(args.get("expires_in", st.expires_in))
                st.token_answer = args.get("token_answer", st.token_answer)
            elif what == "POST revoke":
                st.tokens.clear()
            else:
                return 404, {"error": f"no control {what}"}
        return 200, {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the real registry")
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()

    server = http.server.ThreadingHTTPServer((args.listen, 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    Handler.state = State(args.upstream, args.listen, port)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.rename(tmp, args.port_file)  # whole or absent, for the waiting test
    sys.stderr.write(f"registry proxy on {args.listen}:{port} -> {args.upstream}\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
