#!/usr/bin/env python3
"""A bounded load loop for the blue-green scenarios: GET http://127.0.0.1:PORT/PATH, one request
after another, each on a new connection (as a browser or `ab` without keep-alive would), until
STOP_FILE exists or MAX_SECONDS have passed. Writes one line per request to OUT:

    START_MS END_MS STATUS BODY

STATUS is 0 when the request failed below HTTP (refused, reset, timed out); BODY is then the
error's name. Loopback only.
"""
import http.client
import os
import sys
import time


def main():
    if len(sys.argv) != 6:
        sys.exit("usage: load_loop.py PORT PATH OUT STOP_FILE MAX_SECONDS")
    port, path, out, stop, max_seconds = sys.argv[1:]
    deadline = time.time() + float(max_seconds)
    with open(out, "a", buffering=1) as f:
        while not os.path.exists(stop) and time.time() < deadline:
            start = time.time()
            try:
                c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
                c.request("GET", path, headers={"Connection": "close"})
                r = c.getresponse()
                body = r.read().decode("utf-8", "replace").strip().replace("\n", " ")
                status = r.status
                c.close()
            except Exception as e:  # noqa: BLE001: every failure is counted
                status, body = 0, type(e).__name__
            end = time.time()
            f.write(f"{int(start * 1000)} {int(end * 1000)} {status} {body}\n")


if __name__ == "__main__":
    main()
