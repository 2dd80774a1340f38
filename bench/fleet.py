#!/usr/bin/env python3
"""bench/run's section 8 (issue 14): a fleet of HOSTS agentd on this machine, coordinated by a
3-member etcd cluster (Debian's etcd, started here on loopback ports), rolls one release out at
max_updating N for each N given; then the fleet idles and its requests to etcd are counted
(standard library only).

Usage: fleet.py AGENTD AGENTCTL IMAGE DIR HOSTS N[,N...] IDLE_SECONDS

IMAGE (a registry reference with a tag) is what the stack's one service runs; each release
changes its environment only, so each recreates the container. The hosts start once and deploy
a first release all at once (max_updating = HOSTS, untimed); then, for each N, every host is
restarted with max_updating N (a group of its own) and a new release is committed and rolled out
(`agentctl sync` on every host at once). From each host's deployment events (the turn begins
with "holds a fleet slot", ends with "turn over", as tests/e2e/fleet_timeline.py reads them):
the rollout's time (first turn begun to last turn ended), the sum of the hosts' own turns, and
the most turns at once. Then, with every host up to date and polling every 5 s, /metrics of
each (api.listen) is read before and after IDLE_SECONDS: agentd_fleet_etcd_requests_total by
call against agentd_polls_total.

Prints {"fleet_rollout": {"samples": [...]}, "fleet_idle": {"samples": [...], "calls": {...}}}."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
sys.path.insert(0, HERE)

import fleet_timeline  # noqa: E402  (tests/e2e/fleet_timeline.py)
from bench import git_env, run_checked  # noqa: E402

STACK = "web"
POLL_INTERVAL_S = 5
DEADLINE_S = 900


def say(text):
    print(f"[fleet] {text}", file=sys.stderr, flush=True)


_last_port = 20000 + os.getpid() % 12000


def free_ports(n):
    """n loopback ports nothing listens on, below Linux's ephemeral range (32768-60999), so that
    no outgoing connection takes one before its server binds it; never one handed out before."""
    global _last_port
    ports = []
    while len(ports) < n:
        _last_port = 20000 + (_last_port - 20000 + 1) % 12000
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", _last_port))
            except OSError:
                continue
        ports.append(_last_port)
    return ports


class Etcd:
    def __init__(self, directory):
        ports = free_ports(6)
        client, peer = ports[:3], ports[3:]
        self.endpoints = [f"http://127.0.0.1:{p}" for p in client]
        peers = [f"http://127.0.0.1:{p}" for p in peer]
        cluster = ",".join(f"m{i}={url}" for i, url in enumerate(peers))
        self.processes = []
        for i in range(3):
            log = open(os.path.join(directory, f"etcd-{i}.log"), "w")
            self.processes.append(subprocess.Popen(
                ["etcd", "--name", f"m{i}", "--data-dir", os.path.join(directory, f"etcd-{i}"),
                 "--listen-client-urls", self.endpoints[i],
                 "--advertise-client-urls", self.endpoints[i],
                 "--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
                 "--initial-cluster", cluster, "--initial-cluster-state", "new"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log))
        deadline = time.time() + 60
        while subprocess.run(["etcdctl", "--endpoints", ",".join(self.endpoints),
                              "endpoint", "health"], env={**os.environ, "ETCDCTL_API": "3"},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
            if time.time() > deadline:
                sys.exit("fleet: etcd did not answer within 60 s")
            time.sleep(0.25)

    def stop(self):
        for p in self.processes:
            p.kill()
            p.wait()


class Repo:
    def __init__(self, directory, image):
        self.bare = os.path.join(directory, "deploy.git")
        self.work = os.path.join(directory, "work")
        self.image = image
        self.release = 0
        run_checked(["git", "init", "-q", "--bare", "-b", "main", self.bare])
        run_checked(["git", "clone", "-q", self.bare, self.work], env=git_env())
        os.makedirs(os.path.join(self.work, "stack"))

    def commit(self):
        """A new release: the same image, another environment. Returns its revision."""
        self.release += 1
        with open(os.path.join(self.work, "stack", "compose.yaml"), "w") as f:
            # No network: 20 projects' networks would use up the engine's address pools.
            f.write(f"services:\n  web:\n    image: {self.image}\n    restart: always\n"
                    f"    network_mode: none\n"
                    f"    environment:\n      RELEASE: \"{self.release}\"\n")
        run_checked(["git", "-C", self.work, "add", "-A"], env=git_env())
        run_checked(["git", "-C", self.work, "commit", "-q", "-m", f"release {self.release}"],
                    env=git_env())
        run_checked(["git", "-C", self.work, "push", "-q", "origin", "HEAD:main"], env=git_env())
        return run_checked(["git", "-C", self.work, "rev-parse", "HEAD"]).strip()


class Host:
    def __init__(self, name, directory, agentd, agentctl, port):
        self.name = name
        self.directory = directory
        self.agentd = agentd
        self.agentctl = agentctl
        self.port = port
        self.socket = os.path.join(directory, f"{name}.sock")
        self.config = os.path.join(directory, f"{name}.yaml")
        self.process = None

    def configure(self, endpoints, group, max_updating, repo):
        with open(self.config, "w") as f:
            f.write(f"""state_dir: {self.directory}/state-{self.name}
project_prefix: benchfleet-{self.name}-
api:
  socket: {self.socket}
  listen: 127.0.0.1:{self.port}
fleet:
  etcd: {{endpoints: [{", ".join(endpoints)}]}}
  host: {self.name}
  group: {group}
  max_updating: {max_updating}
  soak: 2s
stacks:
  - name: {STACK}
    git: {{url: "file://{repo.bare}", path: stack, branch: main}}
    poll_interval: {POLL_INTERVAL_S}s
    health: {{timeout: 120s, stable: 2s}}
""")

    def start(self):
        log = open(os.path.join(self.directory, f"{self.name}.log"), "a")
        self.process = subprocess.Popen([self.agentd, "--config", self.config],
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def wait_stopped(self):
        """After a SIGTERM: waits for agentd to exit (SIGKILL after 60 s)."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def ctl(self, *args):
        result = subprocess.run([self.agentctl, "--socket", self.socket, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                timeout=300)
        return result.returncode, result.stdout

    def answers(self):
        return self.ctl("status")[0] == 0

    def revision(self):
        rc, out = self.ctl("--json", "status", STACK)
        if rc != 0:
            return ""
        current = json.loads(out)["stacks"][0].get("current") or {}
        return current.get("revision") or ""

    def deployment_of(self, revision):
        _, out = self.ctl("--json", "history", STACK)
        ids = [d["id"] for d in json.loads(out)["deployments"] if d["revision"] == revision]
        if not ids:
            sys.exit(f"fleet: {self.name} has no deployment of {revision}")
        _, out = self.ctl("--json", "show", str(ids[0]))
        return json.loads(out)

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=30) as r:
            return r.read().decode()


def wait_until(what, predicate, deadline_s=DEADLINE_S):
    deadline = time.time() + deadline_s
    while not predicate():
        if time.time() > deadline:
            sys.exit(f"fleet: timed out after {deadline_s} s waiting for {what}")
        time.sleep(0.5)


def start_all(hosts):
    for h in hosts:
        h.start()
    for h in hosts:
        wait_until(f"{h.name}'s agentd answering", h.answers, 60)


def stop_all(hosts):
    """SIGTERM to every agentd at once, then waits for each."""
    for h in hosts:
        if h.process is not None:
            h.process.send_signal(signal.SIGTERM)
    for h in hosts:
        h.wait_stopped()


def roll_out(hosts, repo):
    """Commits a release, syncs every host, waits until every host runs it; returns it."""
    revision = repo.commit()
    for h in hosts:
        rc, _ = h.ctl("sync", STACK)
        if rc != 0:
            sys.exit(f"fleet: agentctl sync on {h.name} exited {rc}")
    for h in hosts:
        wait_until(f"{h.name} at {revision[:12]}", lambda h=h: h.revision() == revision)
    return revision


def counters(text):
    """(requests by call, polls) summed over one /metrics text."""
    calls = {}
    polls = 0.0
    for line in text.splitlines():
        m = re.match(r'agentd_fleet_etcd_requests_total\{([^}]*)\} (\S+)$', line)
        if m:
            call = re.search(r'call="([^"]*)"', m.group(1)).group(1)
            calls[call] = calls.get(call, 0.0) + float(m.group(2))
        m = re.match(r'agentd_polls_total(\{[^}]*\})? (\S+)$', line)
        if m:
            polls += float(m.group(2))
    return calls, polls


def idle(hosts, seconds):
    before = [counters(h.metrics()) for h in hosts]
    time.sleep(seconds)
    after = [counters(h.metrics()) for h in hosts]
    calls = {}
    polls = 0.0
    for (calls_0, polls_0), (calls_1, polls_1) in zip(before, after):
        polls += polls_1 - polls_0
        for call, count in calls_1.items():
            calls[call] = calls.get(call, 0.0) + count - calls_0.get(call, 0.0)
    keepalive = sum(v for k, v in calls.items() if "keepalive" in k)
    other = sum(calls.values()) - keepalive
    n = len(hosts)
    sample = {"hosts": n, "seconds": seconds, "polls_per_host": polls / n,
              "keepalive_per_host_per_minute": keepalive / n / (seconds / 60),
              "other_requests_per_host_per_poll": other / polls if polls else float(other)}
    return sample, calls


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    agentd, agentctl, image, directory, count, sizes, idle_s = sys.argv[1:]
    count, idle_s = int(count), float(idle_s)
    # bench/run's TERM (its time limit, Ctrl-C) stops the agents and etcd on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [int(n) for n in sizes.split(",")]
    etcd = Etcd(directory)
    hosts = []
    try:
        repo = Repo(directory, image)
        ports = free_ports(count)
        hosts = [Host(f"h{i + 1:02d}", directory, agentd, agentctl, ports[i])
                 for i in range(count)]
        say(f"{count} hosts deploy a first release all at once (untimed)")
        for h in hosts:
            h.configure(etcd.endpoints, "bench-warm", count, repo)
        start_all(hosts)
        roll_out(hosts, repo)
        rollouts = []
        for n in sizes:
            stop_all(hosts)
            for h in hosts:
                h.configure(etcd.endpoints, f"bench-n{n}", n, repo)
            start_all(hosts)
            say(f"max_updating {n}: a release rolls out to {count} hosts")
            revision = roll_out(hosts, repo)
            turns = [fleet_timeline.turn_of(h.name, h.deployment_of(revision)) for h in hosts]
            rollout = (max(e for _, e in turns) - min(b for b, _ in turns)).total_seconds()
            own = [(e - b).total_seconds() for b, e in turns]
            rollouts.append({"max_updating": n, "hosts": count, "rollout_s": rollout,
                             "own_sum_s": sum(own), "own_mean_s": sum(own) / len(own),
                             "ratio": rollout / sum(own),
                             "most_at_once": fleet_timeline.most_at_once(turns)})
            say(f"max_updating {n}: {rollout:.1f} s, against {sum(own):.1f} s of turns")
        say(f"idle: {idle_s:.0f} s with every host up to date, polling every "
            f"{POLL_INTERVAL_S} s")
        sample, calls = idle(hosts, idle_s)
        print(json.dumps({"fleet_rollout": {"samples": rollouts},
                          "fleet_idle": {"samples": [sample], "calls": calls,
                                         "poll_interval_s": POLL_INTERVAL_S}}))
    finally:
        stop_all(hosts)
        etcd.stop()
        remove_projects(hosts)


def remove_projects(hosts):
    for h in hosts:
        label = f"label=com.docker.compose.project=benchfleet-{h.name}-{STACK}"
        for kind in ("container", "network"):
            ids = subprocess.run(["docker", kind, "ls", "-aq" if kind == "container" else "-q",
                                  "--filter", label], stdout=subprocess.PIPE,
                                 text=True).stdout.split()
            if ids:
                subprocess.run(["docker", kind, "rm", *(["-f"] if kind == "container" else []),
                                *ids], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
