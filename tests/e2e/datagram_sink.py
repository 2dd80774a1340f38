#!/usr/bin/python3
"""systemd's two datagram sockets for end-to-end tests, where systemd and journald do not run.

Binds a unix datagram socket and appends every datagram it receives to OUT as one JSON object
per line, with the sender's pid as "_PID" (from SCM_CREDENTIALS, as journald records it):
- --format notify: the sd_notify(3) protocol, newline-separated KEY=VALUE assignments
  ({"READY": "1", "STATUS": "watching 1 stacks"}).
- --format journal: journald's native protocol (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/):
  "KEY=VALUE\\n", or "KEY\\n" + 64-bit little-endian length + value + "\\n" for a value that
  may hold newlines. A datagram that breaks the protocol is recorded as {"_INVALID": "..."}.

Usage: datagram_sink.py --socket PATH --out FILE --format notify|journal [--ready FILE]
Exit status 3, without binding, when PATH is a socket something already listens on (a running
journald); a stale socket file is replaced. The socket file is removed on SIGTERM.
"""

import argparse
import errno
import json
import os
import signal
import socket
import struct
import sys


def parse_notify(data):
    fields = {}
    for line in data.decode("utf-8", "replace").split("\n"):
        if line:
            key, _, value = line.partition("=")
            fields[key] = value
    return fields


def parse_journal(data):
    fields = {}
    while data:
        newline = data.find(b"\n")
        if newline < 0:
            raise ValueError("an entry without its newline")
        line = data[:newline]
        data = data[newline + 1:]
        if b"=" in line:
            key, _, value = line.partition(b"=")
        else:
            if len(data) < 8:
                raise ValueError("a binary field without its length")
            (length,) = struct.unpack("<Q", data[:8])
            data = data[8:]
            if len(data) < length + 1 or data[length:length + 1] != b"\n":
                raise ValueError("a binary field shorter than its length")
            key, value = line, data[:length]
            data = data[length + 1:]
        fields[key.decode()] = value.decode("utf-8", "replace")
    return fields


def held(path):
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(path)
        return True
    except OSError as e:
        if e.errno == errno.ECONNREFUSED:
            os.unlink(path)
        return False
    finally:
        probe.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--format", choices=["notify", "journal"], required=True)
    parser.add_argument("--ready")
    args = parser.parse_args()

    if held(args.socket):
        print(f"{args.socket}: something listens there already", file=sys.stderr)
        return 3
    os.makedirs(os.path.dirname(args.socket), exist_ok=True)
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sink.bind(args.socket)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)

    def stop(*_):
        os.unlink(args.socket)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("ready\n")
    parse = parse_journal if args.format == "journal" else parse_notify
    credentials = struct.calcsize("3i")
    with open(args.out, "a") as out:
        while True:
            data, ancillary, _, _ = sink.recvmsg(1 << 20, socket.CMSG_SPACE(credentials))
            try:
                fields = parse(data)
            except ValueError as e:
                fields = {"_INVALID": str(e)}
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    fields["_PID"] = str(struct.unpack("3i", payload[:credentials])[0])
            out.write(json.dumps(fields) + "\n")
            out.flush()


if __name__ == "__main__":
    sys.exit(main())
