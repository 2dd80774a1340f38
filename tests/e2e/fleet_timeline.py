#!/usr/bin/python3
"""Checks one release's rollout across a fleet from both sides (e2e 92-fleet-wave).

The agents' side: each host's deployment of the release (`agentctl --json show ID`, saved as
DIR/HOST.json). Its events record when the host began its turn ("holds a fleet slot", written
after etcd showed the slot held) and when it ended ("turn over: ...", written before etcd is
told), so each host's [begin, end] lies inside the time it really held a slot. Checked: every
host succeeded, applied and gated inside its turn, never more than --max-updating turns overlap,
and no host outside the canary wave began before --after canaries had ended theirs.

etcd's side: its revision history of the stack's keys from the wave's start (`etcdctl watch
--rev R --prefix KEYS/ -w json`, one response per line). Checked: every host's done mark was
written in the same revision (one transaction) that deleted its slot, and no host outside the
canary wave joined the queue before --after done marks existed.

Prints one line of what it measured; exits 1 with the first violation."""

import argparse
import base64
import datetime
import json
import pathlib
import sys


def fail(message):
    print(f"fleet_timeline: {message}", file=sys.stderr)
    sys.exit(1)


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def turn_of(host, deployment):
    """The [begin, end] of the host's turn, from its deployment's events."""
    if deployment.get("status") != "succeeded":
        fail(f"{host}: deployment {deployment.get('id')} is {deployment.get('status')}")
    begin = end = None
    for event in deployment["events"]:
        at = parse_time(event["at"])
        if event["phase"] == "fleet" and event["message"].startswith("holds a fleet slot"):
            begin = at
        if event["phase"] == "fleet" and event["message"].startswith("turn over: the release is done"):
            end = at
    if begin is None or end is None:
        fail(f"{host}: deployment {deployment['id']} has no fleet turn in its events")
    for event in deployment["events"]:
        at = parse_time(event["at"])
        if event["phase"] in ("apply", "gate", "promote") and not begin <= at <= end:
            fail(f"{host}: {event['phase']} at {event['at']} outside its turn")
    return begin, end


def most_at_once(turns):
    """The most turns that overlap at one moment; at equal times an end comes first (it was
    recorded before the slot was freed, a begin after the slot was held)."""
    edges = sorted([(end, 0) for _, end in turns] + [(begin, 1) for begin, _ in turns])
    now = most = 0
    for _, kind in edges:
        now += 1 if kind == 1 else -1
        most = max(most, now)
    return most


def check_history(lines, keys, hosts, canaries, after):
    slot_deleted = {}  # host -> revision
    done_written = {}  # host -> revision
    joined = {}  # host -> first revision its slot key was written
    for line in lines:
        if not line.strip():
            continue
        for event in json.loads(line).get("Events") or []:
            kv = event["kv"]
            key = base64.b64decode(kv["key"]).decode()
            revision = int(kv["mod_revision"])
            deleted = event.get("type") == 1
            if key.startswith(keys + "/slots/"):
                host = key.rsplit("/", 1)[1]
                if deleted:
                    slot_deleted[host] = revision
                else:
                    joined.setdefault(host, revision)
            elif key.startswith(keys + "/done/") and not deleted:
                done_written[key.rsplit("/", 1)[1]] = revision
    for host in hosts:
        if host not in done_written:
            fail(f"etcd: no done mark of {host}")
        if slot_deleted.get(host) != done_written[host]:
            fail(f"etcd: {host}'s done mark (revision {done_written[host]}) and its slot's "
                 f"deletion (revision {slot_deleted.get(host)}) are not one transaction")
    wave_done = sorted(done_written[h] for h in canaries)[after - 1]
    for host in hosts:
        if host not in canaries and joined.get(host, 0) <= wave_done:
            fail(f"etcd: {host} joined the queue at revision {joined.get(host)}, before the "
                 f"canary wave was done (revision {wave_done})")
    return wave_done


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", required=True, type=pathlib.Path)
    parser.add_argument("--history", required=True, type=pathlib.Path)
    parser.add_argument("--keys", required=True, help="/agentd/GROUP/STACK")
    parser.add_argument("--max-updating", required=True, type=int)
    parser.add_argument("--canary", required=True, help="the canary hosts, comma-separated")
    parser.add_argument("--after", required=True, type=int)
    args = parser.parse_args()

    turns = {}
    for path in sorted(args.deployments.glob("*.json")):
        turns[path.stem] = turn_of(path.stem, json.loads(path.read_text()))
    if not turns:
        fail(f"no deployments in {args.deployments}")
    canaries = set(args.canary.split(","))
    if len(canaries & turns.keys()) < args.after:
        fail(f"fewer than {args.after} canary hosts")
    most = most_at_once(list(turns.values()))
    if most > args.max_updating:
        fail(f"{most} hosts were in their turn at once (max_updating {args.max_updating})")
    wave_end = sorted(turns[h][1] for h in canaries)[args.after - 1]
    for host, (begin, _) in turns.items():
        if host not in canaries and begin <= wave_end:
            fail(f"{host} began its turn at {begin} before the canary wave ended ({wave_end})")
    wave_done = check_history(args.history.read_text().splitlines(), args.keys, turns.keys(),
                              canaries, args.after)
    first = min(begin for begin, _ in turns.values())
    last = max(end for _, end in turns.values())
    print(f"hosts={len(turns)} most_at_once={most} "
          f"rollout_seconds={(last - first).total_seconds():.3f} "
          f"own_seconds={sum((e - b).total_seconds() for b, e in turns.values()):.3f} "
          f"canary_wave_done_revision={wave_done}")


if __name__ == "__main__":
    main()
