#!/usr/bin/python3
"""A TCP proxy that gives loopback the round-trip time of a distant server (issue 15).

Every byte takes half the round trip (RTT/2) to cross the proxy in each direction, and a new
connection costs one round trip before its first byte is passed on (the TCP handshake), so a
request on a new connection answers after 2 RTT and one on a kept-alive connection after 1 RTT,
as over a real network with that RTT. Bandwidth is not limited. For benchmarks only: it listens
on 127.0.0.1 and forwards to a loopback service.

Usage: delay_proxy.py --upstream HOST:PORT --rtt-ms N --port-file FILE [--stats FILE]
It binds a free port, writes it to FILE once it accepts connections, and runs until killed.
--stats: a JSON file, rewritten as traffic passes, with the connections accepted so far and the
bytes sent each way ({"connections": N, "bytes_up": N, "bytes_down": N}; up: to the server).
"""

import argparse
import asyncio
import json
import os
import time


async def pipe(reader, writer, half_rtt, count, sendable_at=0.0):
    """Copies reader to writer, each chunk delivered half_rtt after it was sent: after it
    arrived, or after sendable_at when it arrived before then (before the handshake ended)."""
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, chunk = await queue.get()
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if chunk is None:
                break
            writer.write(chunk)
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    sender = asyncio.ensure_future(deliver())
    try:
        while True:
            chunk = await reader.read(65536)
            count(len(chunk))
            sent = max(time.monotonic(), sendable_at)
            await queue.put((sent + half_rtt, chunk or None))
            if not chunk:
                break
        await sender
    except (ConnectionError, OSError):
        sender.cancel()


class Proxy:
    def __init__(self, upstream, rtt, stats):
        host, _, port = upstream.rpartition(":")
        self.host, self.port, self.rtt = host, int(port), rtt
        self.stats_path = stats
        self.stats = {"connections": 0, "bytes_up": 0, "bytes_down": 0}

    def count(self, key, n):
        self.stats[key] += n
        if self.stats_path:
            tmp = self.stats_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.stats, f)
            os.rename(tmp, self.stats_path)

    async def handle(self, client_reader, client_writer):
        self.count("connections", 1)
        # The client may send at once; a real client could only after the handshake's round
        # trip.
        handshake_done = time.monotonic() + self.rtt
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pipe(client_reader, up_writer, self.rtt / 2,
                 lambda n: self.count("bytes_up", n), handshake_done),
            pipe(up_reader, client_writer, self.rtt / 2, lambda n: self.count("bytes_down", n)),
            return_exceptions=True)
        for writer in (up_writer, client_writer):
            writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--rtt-ms", type=float, required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--stats")
    args = parser.parse_args()
    proxy = Proxy(args.upstream, args.rtt_ms / 1000.0, args.stats)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.rename(tmp, args.port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
