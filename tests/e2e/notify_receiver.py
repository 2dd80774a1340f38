#!/usr/bin/env python3
"""A notification receiver for the end-to-end tests: a webhook endpoint like Slack's, Discord's
or ntfy's, run by the test.

Every POST is appended to --log as one JSON line {"path", "headers" (names lower-cased),
"body"} once its body is read; the answer is --status (default 200). With --hang, a request is
logged and then never answered (the connection stays open until the client gives up), as a
receiver that hangs.

It listens on 127.0.0.1, on --port or a free one, and writes the port to --port-file once it
accepts connections. Only the standard library.
"""

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--hang", action="store_true")
    args = parser.parse_args()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8", "replace")
            record = {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
            with lock, open(args.log, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
            if args.hang:
                time.sleep(3600)
                return
            self.send_response(args.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, fmt, *values):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
