#!/usr/bin/env python3
"""The soak benchmark (issue 9), run by `bench/run --soak` (and, small, by `bench/run --tiny`).

One agentd with three stacks that share one git repository served by `git daemon` (git://),
their images reached through tests/e2e/registry_proxy.py in front of bench/run's registry:

  app     follows branch main, path app/: web tracked by the digest of app-web:latest; released
          by a commit (a changed environment) or a new digest pushed to latest, now and then
          one whose healthcheck fails (rolled back)
  policy  path policy/: web chosen by `images: {web: {semver: "^1"}}`; released by a new tag
          1.0.N, now and then one whose healthcheck fails
  static  path static/: web and worker, never released: two manifest HEADs per poll

It runs ROUNDS rounds; each triggers one poll cycle of every stack at once (`POST
/v1/stacks/NAME/sync` with `wait`), so a round is three poll cycles. Before a round, with a fixed
seed, it may inject one registry fault through the proxy (500, 503 or 429 answered 1-5 times,
garbage or truncated answers, a connection held 1-3 s then closed, a blob cut off mid-pull, and
a few requests that never get an answer, so agentd's request times out), take the git daemon
down for 1-8 rounds (or bring it back), or make a real release of app or policy. Between rounds
agentd is idle: it then samples agentd's VmRSS, open file descriptors, threads and child
processes (/proc/PID/...); a thread samples them every 0.5 s throughout as well.

At the end, with the faults cleared, every stack is synced until it runs the last release made
for it, and the harness checks, failing (exit 1) when one does not hold:
  - fds and threads at idle after warm-up grow by at most FD_BOUND and THREAD_BOUND;
  - RSS at idle grows by at most RSS_GROWTH_BOUND_KB after warm-up (median of the last tenth of
    the rounds against the median of the tenth after warm-up), and by at most
    RSS_SLOPE_BOUND_KB per 1000 poll cycles (least squares over the idle samples after warm-up)
    when at least 1000 poll cycles follow the warm-up;
  - no child process of agentd outlives a round (none at idle), no zombie at idle;
  - every deployment a sync reported is in state.db and in `GET /v1/history` with the status it
    reported (succeeded may since have been superseded), none is in_progress, the deployment
    ids have no gap, every deployment after the first ones was reported by a sync (none started
    unseen), every release made led to exactly one deployment that ended as expected (good:
    succeeded; unhealthy: rolled_back) after any `failed` ones (a pull cut off by a fault is
    retried by the next poll), and `PRAGMA integrity_check` says ok.
No wall-clock time is asserted.

Usage: soak.py ROOT AGENTD REGISTRY DIR ROUNDS SEED RESULT_JSON
  ROOT      the repository (for tests/e2e)   REGISTRY  host:port of bench/run's registry, with
  DIR       an empty working directory                 soak/pool:good (tests/images/build web)
  ROUNDS    rounds of three poll cycles                and soak/pool:bad (unhealthy) pushed
                                                       by bench/run
Every image the stacks run is derived from those two in the registry (bench.derive_image: one
new small layer each), so every release has a new digest and a layer to pull.
Writes RESULT_JSON ({"samples": [{figures}], "faults": ..., "checks": ...}) even when a check
fails; exit status 0 when every check holds.
"""

import collections
import concurrent.futures
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402 (bench/bench.py: the API client, run_checked, copy_image)

FD_BOUND = 4
THREAD_BOUND = 2
RSS_GROWTH_BOUND_KB = 4096
RSS_SLOPE_BOUND_KB = 1024
WARMUP_SHARE = 0.2
HEALTHCHECK = ('["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/health"]')

# Registry faults and their weights; "hang" (no answer until agentd's request times out, 30 s)
# is placed at fixed rounds instead, a few per run.
FAULT_WEIGHTS = {"500": 3, "503": 2, "429": 2, "garbage": 2, "truncated": 2, "stall": 2,
                 "blob_cut": 1}
P_REGISTRY_FAULT = 0.1
P_GIT_DOWN = 0.015
P_PULL_FAULT = 0.3  # with a release: its pull gets cut off
BAD_SHARE = 0.25  # of the releases, unhealthy ones


def log(message):
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# agentd's process figures


def process_table():
    """{pid: (ppid, state)} of every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            table[int(entry)] = (int(fields[1]), fields[0])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return table


def descendants(pid):
    """[(pid, state)] of every process below PID."""
    table = process_table()
    children = collections.defaultdict(list)
    for child, (parent, state) in table.items():
        children[parent].append((child, state))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child[0])
    return out


def sample(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "Threads"):
                values[key] = int(rest.split()[0])
    private = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Private_Clean", "Private_Dirty"):
                private += int(rest.split()[0])
    below = descendants(pid)
    return {"rss_kb": values["VmRSS"], "private_kb": private, "threads": values["Threads"],
            "fds": len(os.listdir(f"/proc/{pid}/fd")), "children": len(below),
            "zombies": sum(1 for _, state in below if state == "Z")}


class Sampler(threading.Thread):
    """Samples agentd every 0.5 s, busy or not: the maxima."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.max = collections.Counter()
        self.count = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.5):
            try:
                s = sample(self.pid)
            except (FileNotFoundError, ProcessLookupError, KeyError):
                continue
            self.count += 1
            for key, value in s.items():
                self.max[key] = max(self.max[key], value)


# ---------------------------------------------------------------------------------------------
# Services: the fault proxy, the git daemon, agentd


class Proxy:
    """tests/e2e/registry_proxy.py in front of the registry, and its control API."""

    def __init__(self, root, registry, work):
        port_file = os.path.join(work, "proxy.port")
        self.log = open(os.path.join(work, "proxy.log"), "ab")
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(root, "tests/e2e/registry_proxy.py"), "--upstream",
             registry, "--port-file", port_file], stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=self.log)
        end = time.monotonic() + 20
        while not os.path.exists(port_file):
            if self.process.poll() is not None or time.monotonic() > end:
                raise SystemExit("soak: the registry proxy did not start (see proxy.log)")
            time.sleep(0.05)
        with open(port_file) as f:
            self.address = f"127.0.0.1:{f.read().strip()}"

    def control(self, method, what, body=None):
        host, port = self.address.split(":")
        conn = bench.http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request(method, f"/_proxy/{what}",
                         body=json.dumps(body) if body is not None else None)
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                raise SystemExit(f"soak: proxy {method} {what}: {response.status} {data!r}")
            return json.loads(data or b"null")
        finally:
            conn.close()

    def rule(self, **rule):
        self.control("POST", "rules", rule)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


class GitDaemon:
    """`git daemon` serving WORK/git, started and stopped with tests/e2e/git_faults.sh."""

    def __init__(self, root, work):
        self.root = root
        self.work = work
        self.port = ""
        self.pid = None

    def start(self):
        script = ('source "$1/tests/e2e/lib.sh"; source "$1/tests/e2e/git_faults.sh"; T=$2; '
                  'GIT_PORT=$3; git_daemon_start; echo "$GIT_PORT $GIT_DAEMON_PID"')
        out = bench.run_checked(["bash", "-c", script, "soak", self.root, self.work, self.port])
        port, pid = out.split()
        self.port, self.pid = port, int(pid)

    def stop(self):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
            end = time.monotonic() + 10
            while time.monotonic() < end and os.path.exists(f"/proc/{self.pid}"):
                with open(f"/proc/{self.pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break  # bash, its parent, has gone: reaped by init
                time.sleep(0.05)
        except (ProcessLookupError, FileNotFoundError):
            pass
        self.pid = None

    @property
    def up(self):
        return self.pid is not None

    def url(self):
        return f"git://127.0.0.1:{self.port}/deploy.git"


# ---------------------------------------------------------------------------------------------
# The soak


class Soak:
    def __init__(self, root, agentd, registry, work, rounds, seed):
        self.root, self.agentd_bin, self.registry, self.work = root, agentd, registry, work
        self.rounds, self.seed = rounds, seed
        self.rng = random.Random(seed)
        self.derived = 0
        self.suffix = f"{self.rng.randrange(16 ** 4):04x}"
        self.stacks = {kind: f"soak{kind}-{self.suffix}" for kind in ("app", "policy", "static")}
        self.sock = os.path.join(work, "api.sock")
        self.db_path = os.path.join(work, "state", "state.db")
        self.git_work = os.path.join(work, "git", "work")
        self.bare = os.path.join(work, "git", "deploy.git")
        self.proxy = self.git = self.agentd = None
        self.faults = collections.Counter()
        self.faulted = collections.Counter()
        self.outcomes = collections.Counter()
        self.reported = {}       # deployment id -> outcome a sync reported
        self.problems = []
        self.releases = []       # {stack, kind, expect, round, deployments: [ids], done}
        self.pending = {}        # stack kind -> release waiting for its deployment
        self.idle = []           # (round, poll cycles, sample) between rounds
        self.app_env = 0
        self.app_latest_bad = False
        self.policy_minor = 0

    # --- set-up ------------------------------------------------------------------------------

    def image(self, repo, tag):
        return f"{self.proxy.address}/soak/{repo}:{tag}"

    def derive(self, variant, repo, tag):
        """A new image (new digest, one new layer) of pool variant good or bad as repo:tag."""
        self.derived += 1
        return bench.derive_image(self.registry, "soak/pool", variant, f"soak/{repo}", tag,
                                  f"{variant} {repo}:{tag} #{self.derived}")

    def web(self, image, env=None):
        lines = [f"  web:\n    image: {image}\n    restart: always\n"]
        if env is not None:
            lines.append(f'    environment: {{RELEASE: "{env}"}}\n')
        lines.append(f"    healthcheck:\n      test: {HEALTHCHECK}\n      interval: 1s\n"
                     "      timeout: 2s\n      retries: 2\n")
        return "".join(lines)

    def write(self, path, text):
        full = os.path.join(self.git_work, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)

    def commit(self, message):
        git = ["git", "-C", self.git_work]
        env = bench.git_env()
        bench.run_checked(git + ["add", "-A"], env=env)
        bench.run_checked(git + ["-c", "commit.gpgsign=false", "commit", "-q", "-m", message],
                          env=env)
        bench.run_checked(git + ["push", "-q", self.bare, "main"], env=env)
        return bench.run_checked(git + ["rev-parse", "HEAD"]).strip()

    def app_compose(self):
        return "services:\n" + self.web(self.image("app-web", "latest"), self.app_env)

    def setup(self):
        self.proxy = Proxy(self.root, self.registry, self.work)
        log(f"registry proxy on {self.proxy.address} in front of {self.registry}")
        for repo, tag in (("app-web", "latest"), ("policy-web", "1.0.0"),
                          ("static-web", "latest"), ("static-worker", "latest")):
            self.derive("good", repo, tag)
        bench.run_checked(["git", "init", "-q", "--bare", "-b", "main", self.bare])
        bench.run_checked(["git", "init", "-q", "-b", "main", self.git_work])
        self.write("app/compose.yaml", self.app_compose())
        self.write("policy/compose.yaml",
                   "services:\n" + self.web(self.image("policy-web", "1.0.0")))
        self.write("static/compose.yaml",
                   "services:\n" + self.web(self.image("static-web", "latest")) +
                   f"  worker:\n    image: {self.image('static-worker', 'latest')}\n"
                   "    restart: always\n")
        self.commit("first release")
        self.git = GitDaemon(self.root, self.work)
        self.git.start()
        log(f"git daemon on {self.git.url()}")
        os.makedirs(os.path.join(self.work, "state"), exist_ok=True)
        config = [f"state_dir: {self.work}/state", "api:", f"  socket: {self.sock}", "stacks:"]
        for kind, name in self.stacks.items():
            config += [f"  - name: {name}", "    git:", f"      url: {self.git.url()}",
                       f"      path: {kind}", "      branch: main", "    poll_interval: 1h",
                       "    health:", "      timeout: 30s", "      stable: 1s"]
            if kind == "policy":
                config += ["    images:", '      web: {semver: "^1"}']
        with open(os.path.join(self.work, "agent.yaml"), "w") as f:
            f.write("\n".join(config) + "\n")
        self.agentd_log = open(os.path.join(self.work, "agentd.log"), "ab")
        self.agentd = subprocess.Popen(
            [self.agentd_bin, "--config", os.path.join(self.work, "agent.yaml")],
            stdin=subprocess.DEVNULL, stdout=self.agentd_log, stderr=self.agentd_log)
        end = time.monotonic() + 60
        while True:
            try:
                if bench.unix_request(self.sock, "GET", "/v1/status")[0] == 200:
                    break
            except OSError:
                pass
            if self.agentd.poll() is not None or time.monotonic() > end:
                raise SystemExit("soak: agentd did not start (see agentd.log)")
            time.sleep(0.1)
        log(f"agentd pid {self.agentd.pid}; first deployments")
        # The first deployment of every stack (started by agentd's own start-up poll or by a
        # sync): not counted; every later deployment must be reported by a sync.
        for kind, name in self.stacks.items():
            end = time.monotonic() + 300
            while self.current(name) is None:
                if time.monotonic() > end:
                    raise SystemExit(f"soak: {name} was not deployed within 300 s")
                self.sync(name)
                time.sleep(0.2)
        with self.open_db() as db:
            self.first_ids = {row[0] for row in db.execute("SELECT id FROM deployments")}

    def open_db(self):
        return sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)

    def current(self, name):
        status, body = bench.unix_request(self.sock, "GET", f"/v1/status?stack={name}")
        if status != 200:
            return None
        stacks = json.loads(body).get("stacks", [])
        current = stacks[0].get("current") if stacks else None
        return current if current and current.get("status") == "succeeded" else None

    def sync(self, name):
        status, body = bench.unix_request(self.sock, "POST", f"/v1/stacks/{name}/sync",
                                          json.dumps({"wait": True}).encode())
        if status not in (200, 202):
            return {"outcome": f"http_{status}", "deployment": None, "message": body[:200]}
        return json.loads(body)

    # --- faults and releases -----------------------------------------------------------------

    def registry_fault(self, kind):
        repos = "(app|policy|static)-(web|worker)"
        own = rf"^(HEAD|GET) /v2/soak/{repos}/(manifests/[^/]+|tags/list)$"
        count = self.rng.randint(1, 5)
        if kind == "500":
            self.proxy.rule(match=own, count=count, status=500, body="{}")
        elif kind == "503":
            self.proxy.rule(match=own, count=count, status=503, retry_after="1", body="{}")
        elif kind == "429":
            self.proxy.rule(match=own, count=count, status=429, retry_after="1", body="{}")
        elif kind == "garbage":
            # A manifest answer without its digest (agentd then GETs the manifest), a manifest
            # and a tag list that are not JSON.
            self.proxy.rule(match=r"^HEAD /v2/soak/.*/manifests/", count=1, status=200)
            self.proxy.rule(match=r"^GET /v2/soak/.*/manifests/", count=1, status=200,
                            body="<html>not a manifest")
            self.proxy.rule(match=r"^GET /v2/soak/.*/tags/list", count=1, status=200,
                            body='{"name": "soak/policy-web", "tags": ["1.0')
        elif kind == "truncated":
            self.proxy.rule(match=r"^GET /v2/soak/.*/(tags/list|manifests/)", count=count,
                            action="cut")
        elif kind == "stall":
            self.proxy.rule(match=own, count=1, action="hang",
                            hang_seconds=self.rng.choice([1, 2, 3]))
        elif kind == "blob_cut":
            # Docker retries a layer download 5 times: up to 8 cuts may fail the pull.
            self.proxy.rule(match=r"^GET /v2/soak/.*/blobs/sha256:", count=self.rng.randint(1, 8),
                            action="cut")
        elif kind == "hang":
            self.proxy.rule(match=r"^HEAD /v2/soak/static-web/manifests/", count=1,
                            action="hang")
        self.faults[kind] += 1

    def release(self, kind, round_no):
        """A real release of stack KIND; returns what it should end as."""
        bad = self.rng.random() < BAD_SHARE
        if kind == "app":
            if bad and not self.app_latest_bad:
                self.derive("bad", "app-web", "latest")
                self.app_latest_bad, what = True, "bad_image"
            elif self.app_latest_bad or self.rng.random() < 0.5:
                # After a bad image only a new good one releases app: a commit alone would
                # deploy the bad image again.
                self.derive("good", "app-web", "latest")
                self.app_latest_bad, what, bad = False, "image", False
            else:
                self.app_env += 1
                self.write("app/compose.yaml", self.app_compose())
                self.commit(f"app release {self.app_env}")
                what, bad = "commit", False
        else:
            self.policy_minor += 1
            self.derive("bad" if bad else "good", "policy-web", f"1.0.{self.policy_minor}")
            what = "bad_tag" if bad else "tag"
        entry = {"stack": kind, "kind": what, "expect": "rolled_back" if bad else "succeeded",
                 "round": round_no, "deployments": [], "done": False}
        self.releases.append(entry)
        self.pending[kind] = entry
        self.faults[f"release_{what}"] += 1

    # --- rounds ------------------------------------------------------------------------------

    def handle(self, kind, reply, round_no):
        outcome = reply.get("outcome", "?")
        self.outcomes[outcome] += 1
        deployment = reply.get("deployment")
        if deployment is None:
            return
        if deployment in self.reported and self.reported[deployment] != outcome:
            self.problems.append(f"deployment {deployment} reported {self.reported[deployment]} "
                                 f"and then {outcome}")
        self.reported[deployment] = outcome
        entry = self.pending.get(kind)
        if entry is None:
            self.problems.append(f"round {round_no}: {self.stacks[kind]} started deployment "
                                 f"{deployment} ({outcome}) without a release: {reply}")
            return
        entry["deployments"].append((deployment, outcome))
        if outcome == "failed":
            return  # a pull cut off by a fault: the next poll tries the release again
        if outcome != entry["expect"]:
            self.problems.append(f"release {entry['kind']} of {self.stacks[kind]} (round "
                                 f"{entry['round']}): deployment {deployment} ended {outcome}, "
                                 f"expected {entry['expect']}: {reply.get('message')}")
        entry["done"] = True
        del self.pending[kind]

    def round(self, executor, round_no):
        replies = dict(zip(self.stacks, executor.map(self.sync, self.stacks.values())))
        for kind, reply in replies.items():
            self.handle(kind, reply, round_no)
        self.proxy.control("DELETE", "rules")
        for request in self.proxy.control("GET", "requests"):
            if request.get("injected"):
                self.faulted[request.get("fault") or str(request.get("status"))] += 1
        self.proxy.control("POST", "reset")
        return replies

    def run(self):
        rounds = self.rounds
        hangs = 2 if rounds >= 500 else 0
        hang_rounds = set(self.rng.sample(range(rounds // 5, rounds - 5), hangs))
        release_count = {"app": max(1, rounds // 100), "policy": max(1, rounds // 125)}
        schedule = collections.defaultdict(list)
        for kind, count in release_count.items():
            for r in self.rng.sample(range(3, rounds - 10), count):
                schedule[r].append(kind)
        queued = []
        git_down_left = 0
        sampler = Sampler(self.agentd.pid)
        sampler.start()
        self.warmup_rounds = max(5, int(rounds * WARMUP_SHARE))
        started = time.monotonic()
        executor = concurrent.futures.ThreadPoolExecutor(len(self.stacks))
        for r in range(rounds):
            if git_down_left > 0:
                git_down_left -= 1
                if git_down_left == 0:
                    self.git.start()
            elif self.rng.random() < P_GIT_DOWN:
                self.git.stop()
                git_down_left = self.rng.randint(1, 8)
                self.faults["git_down"] += 1
            if r in hang_rounds:
                self.registry_fault("hang")
            elif self.rng.random() < P_REGISTRY_FAULT:
                kinds = list(FAULT_WEIGHTS)
                self.registry_fault(self.rng.choices(kinds, [FAULT_WEIGHTS[k] for k in kinds])[0])
            queued += schedule.get(r, [])
            for kind in list(queued):
                if kind not in self.pending:
                    queued.remove(kind)
                    self.release(kind, r)
                    if self.rng.random() < P_PULL_FAULT:
                        self.registry_fault("blob_cut")
            self.round(executor, r)
            self.idle.append((r, (r + 1) * len(self.stacks), sample(self.agentd.pid)))
            if r % 50 == 0 or r == rounds - 1:
                s = self.idle[-1][2]
                log(f"round {r + 1}/{rounds}: rss {s['rss_kb']} kB, fds {s['fds']}, threads "
                    f"{s['threads']}, children {s['children']}; faults {dict(self.faults)}; "
                    f"{int(time.monotonic() - started)} s")
        self.soak_seconds = time.monotonic() - started
        # Drain: no fault, git up, every queued release made, until every release is deployed
        # and every stack polls cleanly.
        self.proxy.control("DELETE", "rules")
        if not self.git.up:
            self.git.start()
        for kind in queued:
            self.release(kind, rounds)
        for extra in range(30):
            replies = self.round(executor, rounds + extra)
            if not self.pending and all(reply.get("outcome") == "noop"
                                        for reply in replies.values()):
                break
        else:
            self.problems.append(f"no clean poll of every stack after the faults: {replies}")
        executor.shutdown()
        sampler.stop.set()
        sampler.join()
        self.sampler = sampler
        self.final = sample(self.agentd.pid)
        self.idle.append((rounds, rounds * len(self.stacks), self.final))

    # --- checks ------------------------------------------------------------------------------

    def check_state(self):
        db = self.open_db()
        rows = db.execute("SELECT id, stack, status FROM deployments ORDER BY id").fetchall()
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        db.close()
        statuses = {row[0]: row[2] for row in rows}
        self.by_status = collections.Counter(row[2] for row in rows)
        lost = [d for d in self.reported if d not in statuses]
        wrong = [(d, o, statuses[d]) for d, o in self.reported.items() if d in statuses and
                 statuses[d] not in ({"succeeded": ("succeeded", "superseded")}.get(o, (o,)))]
        stuck = [row for row in rows if row[2] in ("in_progress", "waiting")]
        ids = [row[0] for row in rows]
        gaps = sorted(set(range(1, max(ids) + 1)) - set(ids)) if ids else []
        unseen = [d for d in ids if d not in self.first_ids and d not in self.reported]
        api_ids = set()
        for name in self.stacks.values():
            status, body = bench.unix_request(self.sock, "GET",
                                              f"/v1/history?stack={name}&limit=1000")
            api_ids |= {d["id"] for d in json.loads(body)["deployments"]}
        not_in_api = sorted(set(ids) - api_ids)
        undeployed = [f"{e['kind']} of {self.stacks[e['stack']]} (round {e['round']})"
                      for e in self.releases if not e["done"]]
        for what, items in (("reported but not in state.db (lost)", lost),
                            ("status in state.db differs from the reported outcome", wrong),
                            ("stuck in_progress or waiting", stuck), ("id gaps", gaps),
                            ("started without a sync reporting it", unseen),
                            ("in state.db but not in GET /v1/history", not_in_api),
                            ("releases never deployed", undeployed)):
            if items:
                self.problems.append(f"deployments {what}: {items[:10]}")
        if integrity != "ok":
            self.problems.append(f"PRAGMA integrity_check: {integrity}")
        # What runs at the end is the last good release of each stack.
        for kind in ("app", "policy", "static"):
            current = self.current(self.stacks[kind])
            good = [e["deployments"][-1][0] for e in self.releases
                    if e["stack"] == kind and e["expect"] == "succeeded" and e["done"]]
            if not current or (good and current["id"] != good[-1]) or \
                    (not good and current["id"] not in self.first_ids):
                self.problems.append(f"{self.stacks[kind]} runs {current and current['id']} at "
                                     f"the end, expected {good[-1:] or 'its first deployment'}")
        self.recorded = len(rows) - len(self.first_ids)
        self.expected = sum(len(e["deployments"]) for e in self.releases)
        self.expected_terminal = len(self.releases)
        self.failed_retried = sum(1 for e in self.releases for _, o in e["deployments"]
                                  if o == "failed")
        self.integrity = integrity

    def figures(self):
        warm = [s for s in self.idle if s[0] >= self.warmup_rounds]
        tenth = max(1, len(warm) // 10)
        first_w, last_w = warm[:tenth], warm[-tenth:]

        def values(window, key):
            return [s[2][key] for s in window]

        cycles = [s[1] for s in warm]
        rss = values(warm, "rss_kb")
        slope = 0.0
        if len(warm) > 2 and statistics.pvariance(cycles) > 0:
            mean_c, mean_r = statistics.fmean(cycles), statistics.fmean(rss)
            slope = (sum((c - mean_c) * (v - mean_r) for c, v in zip(cycles, rss)) /
                     sum((c - mean_c) ** 2 for c in cycles)) * 1000
        all_idle = [s[2] for s in self.idle]
        f = {
            "rounds": self.rounds, "cycles": self.rounds * len(self.stacks),
            "stacks": len(self.stacks), "seed": self.seed, "warmup_rounds": self.warmup_rounds,
            "measured_cycles": (self.rounds - self.warmup_rounds) * len(self.stacks),
            "soak_s": round(self.soak_seconds, 1), "samples_busy": self.sampler.count,
            "rss_slope_kb_per_1000": round(slope, 1),
            "rss_growth_kb": statistics.median(values(last_w, "rss_kb")) -
            statistics.median(values(first_w, "rss_kb")),
            "private_growth_kb": statistics.median(values(last_w, "private_kb")) -
            statistics.median(values(first_w, "private_kb")),
            "fds_growth": max(values(last_w, "fds")) - max(values(first_w, "fds")),
            "threads_growth": max(values(last_w, "threads")) - max(values(first_w, "threads")),
            "children_idle_max": max(s["children"] for s in all_idle),
            "children_final": self.final["children"],
            "zombies_idle_max": max(s["zombies"] for s in all_idle),
            "deployments_recorded": self.recorded, "deployments_expected": self.expected,
            "releases": self.expected_terminal, "failed_retried": self.failed_retried,
            "deployments_first": len(self.first_ids), "problems": len(self.problems),
        }
        for key in ("rss_kb", "private_kb", "fds", "threads", "children"):
            f[f"{key}_first"] = all_idle[0][key]
            f[f"{key}_last"] = all_idle[-1][key]
            f[f"{key}_max"] = max(max(s[key] for s in all_idle), self.sampler.max[key])
            f[f"{key}_warm"] = max(values(first_w, key))
        return f

    def checks(self, f):
        out = []

        def check(name, measured, bound, ok):
            out.append({"name": name, "measured": measured, "bound": bound, "ok": bool(ok)})

        check("open fds at idle after warm-up", f"{f['fds_growth']:+d}", f"+{FD_BOUND}",
              f["fds_growth"] <= FD_BOUND)
        check("threads at idle after warm-up", f"{f['threads_growth']:+d}", f"+{THREAD_BOUND}",
              f["threads_growth"] <= THREAD_BOUND)
        check("RSS growth at idle after warm-up", f"{f['rss_growth_kb']:+.0f} kB",
              f"+{RSS_GROWTH_BOUND_KB} kB", f["rss_growth_kb"] <= RSS_GROWTH_BOUND_KB)
        if f["measured_cycles"] >= 1000:
            check("RSS slope after warm-up", f"{f['rss_slope_kb_per_1000']:+.0f} kB / 1000 cycles",
                  f"+{RSS_SLOPE_BOUND_KB} kB / 1000 cycles",
                  f["rss_slope_kb_per_1000"] <= RSS_SLOPE_BOUND_KB)
        check("child processes of agentd at idle", f["children_idle_max"], 0,
              f["children_idle_max"] == 0)
        check("zombies at idle", f["zombies_idle_max"], 0, f["zombies_idle_max"] == 0)
        check("deployments recorded = expected",
              f"{f['deployments_recorded']} of {f['deployments_expected']}",
              "equal, none lost or stuck",
              f["deployments_recorded"] == f["deployments_expected"] and not self.problems)
        check("PRAGMA integrity_check", self.integrity, "ok", self.integrity == "ok")
        return out

    # --- teardown ----------------------------------------------------------------------------

    def teardown(self):
        if self.agentd is not None and self.agentd.poll() is None:
            self.agentd.terminate()
            try:
                self.agentd.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.agentd.kill()
                self.agentd.wait()
        for name in self.stacks.values():
            label = f"label=com.docker.compose.project={name}"
            for what in (["ps", "-aq"], ["network", "ls", "-q"]):
                ids = subprocess.run(["docker"] + what + ["--filter", label],
                                     stdout=subprocess.PIPE, text=True).stdout.split()
                if ids:
                    remove = ["rm", "-f"] if what[0] == "ps" else ["network", "rm"]
                    subprocess.run(["docker"] + remove + ids, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        if self.proxy is not None:
            ids = subprocess.run(["docker", "images", "-q", "--filter",
                                  f"reference={self.proxy.address}/soak/*"],
                                 stdout=subprocess.PIPE, text=True).stdout.split()
            if ids:
                subprocess.run(["docker", "rmi", "-f"] + sorted(set(ids)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.proxy.stop()
        if self.git is not None:
            self.git.stop()


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    root, agentd, registry, work, rounds, seed, out = sys.argv[1:]
    soak = Soak(root, agentd, registry, work, int(rounds), int(seed))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        soak.setup()
        soak.run()
        soak.check_state()
        figures = soak.figures()
        checks = soak.checks(figures)
    finally:
        soak.teardown()
    result = {"samples": [figures], "checks": checks, "faults": dict(soak.faults),
              "faulted_requests": dict(soak.faulted), "outcomes": dict(soak.outcomes),
              "by_status": dict(soak.by_status), "problems": soak.problems[:50],
              "series": [[r, c, s["rss_kb"], s["fds"], s["threads"], s["children"]]
                         for r, c, s in soak.idle[::max(1, len(soak.idle) // 200)]]}
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    for c in checks:
        log(f"{'ok  ' if c['ok'] else 'FAIL'} {c['name']}: {c['measured']} (bound {c['bound']})")
    for problem in soak.problems[:20]:
        log(f"problem: {problem}")
    if not all(c["ok"] for c in checks):
        sys.exit("soak: a check failed (see above)")


if __name__ == "__main__":
    main()
