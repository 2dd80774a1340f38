#!/usr/bin/env python3
"""Measurements of bench/run (standard library only); bench/report.py writes the report.

Every measuring subcommand prints one JSON document on stdout: {"samples": [...]} where each
sample is a dict of numbers (plus sometimes more keys), so that bench/run can collect them into
one results file and the report can compute medians and spreads. Subcommands:

  noop     PID SOCKET STACK N ACCESS_LOG REGISTRY_PID
                                          N no-op cycles through `agentctl sync STACK --wait`:
                                          agentd's CPU (threads, and self + reaped children) and
                                          run-queue wait, wall time, registry requests and the
                                          registry's CPU per cycle
  cron     PROJECT COMPOSE N ACCESS_LOG REGISTRY_PID
                                          N runs of `docker-compose pull -q && up -d`: CPU of the
                                          docker-compose processes, wall time, registry requests
                                          and the registry's CPU
  latency  N CMD...                       N runs of CMD: wall time of each (CMD must exit 0)
  api      N SOCKET URL                   N GET URL on agentd's API socket: wall time of each
  scrape   PID ADDRESS N                  N GET /metrics on agentd's api.listen ADDRESS
                                          (host:port) on one kept-alive connection: wall
                                          time, agentd's CPU (threads), body bytes and series
                                          of each
  rss      PID                            VmRSS, VmHWM, RssAnon, RssFile of PID in kB
  spawns   STRACE_LOG                     execve, fork and docker.sock connect counts in an
                                          `strace -f` log
  scale    PID SOCKET DB STACKS_FILE N ACCESS_LOG REGISTRY_PID
                                          N full poll cycles of every stack in STACKS_FILE
                                          (one name a line), each triggered through the API;
                                          a cycle ends when every stack's last poll in state.db
                                          is newer than the trigger
  rounds   ADDRESS DB STACKS_FILE N STATS_FILE PER_REPO
                                          N scheduled poll rounds once the one under way
                                          ended: polls (agentd_polls_total on ADDRESS) and git
                                          connections (the delay proxy's STATS_FILE), per
                                          repository (PER_REPO stacks each) and round
  startup  PID DB STACKS_FILE SINCE_MS    waits for the first poll of every stack after agentd
                                          started at SINCE_MS (the start-up cycle): wall time
                                          and agentd's CPU since it started
  deploy   SOCKET DB STACK                one `agentctl sync STACK --wait` that must end in a
                                          promoted release: wall time and its phases
  webhook  ADDRESS SECRET_FILE DB STACK URL
                                          one GitHub push webhook (signed with the secret in
                                          SECRET_FILE, naming the repository URL) POSTed to
                                          api.listen ADDRESS right after a push: its answer,
                                          the triggered deployment's start and its promotion,
                                          each timed from the request
  rollback SOCKET DB STACK REGISTRY_PID REGISTRY
                                          one `agentctl sync STACK --wait` of a release that
                                          fails the gate; the registry is stopped as soon as the
                                          release is pulled: failure decision -> previous
                                          release healthy again
  baseline PROJECT STABLE_S N FROM TO     N times: `docker-compose up -d` of compose file FROM
                                          (untimed), then of TO, timed until every container
                                          runs (and is healthy) for STABLE_S without a break
  bg-promote DB STACK TRIGGER...          runs TRIGGER (an agentctl command that deploys the
                                          release just committed to blue-green STACK), waits
                                          for that deployment: the slot's gate passed -> traffic
                                          on the new slot, and nginx's share of it
  bg-rollback SOCKET DB STACK             `agentctl rollback STACK` inside keep_old_for (a
                                          switch back, no container started): its wall time,
                                          the deployment's duration, nginx's share of it
Helpers that print other JSON:
  fanout   REGISTRY SOURCE TAG TARGETS_FILE
                                          copies the image SOURCE:TAG in the registry to every
                                          repository named in TARGETS_FILE (blob mounts and a
                                          manifest PUT): {"digest": ...}
  mkrepos  DIR SPEC_JSON [PER_REPO]       one bare git repository per stack, each with one
                                          commit of stack/compose.yaml: {stack: revision};
                                          with PER_REPO: PER_REPO stacks a repository
                                          (shared000.git, ...), STACK/compose.yaml each
  seed     DB MIGRATIONS_CPP STATE_DIR SPEC_JSON
                                          a state.db in agentd's schema with finished
                                          deployments, and services caches (see cmd_seed)
  check-seeded DB STATE_DIR SPEC_JSON     after cycles: every seeded stack still runs its
                                          seeded deployment and its services cache was used
  smaps    PID [TOP]                      resident memory by mapping: {"samples", "top"}
"""

import hashlib
import hmac
import http.client
import json
import os
import re
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from urllib.parse import quote

CLK_TCK = os.sysconf("SC_CLK_TCK")
AGENTCTL = os.environ.get("AGENTCTL", "agentctl")
DOCKER_SOCKET = "/var/run/docker.sock"
DOCKER_API = "/v1.41"  # dockerd 20.10; newer engines accept it too


# ---------------------------------------------------------------------------------------------
# Processes and files


def process_cpu_seconds(pid):
    """utime + stime + cutime + cstime of PID in seconds: its own CPU and that of every child it
    has reaped, so a spawned helper process (docker-compose, git) is counted too."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may hold spaces: split after its closing parenthesis.
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime..cstime are fields 14..17.
    ticks = sum(int(fields[i]) for i in range(11, 15))
    return ticks / CLK_TCK


def threads_sched(pid):
    """(CPU time, run-queue wait) in seconds of every live thread of PID, from
    /proc/PID/task/*/schedstat (nanoseconds, where /proc/PID/stat counts 10 ms ticks: too coarse
    for one no-op cycle). The wait is time spent runnable but without a CPU: on this shared
    2-core machine, what other work adds to wall times. Misses threads that ended meanwhile and
    children: process_cpu_seconds over a batch cross-checks both."""
    cpu = wait = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                fields = f.read().split()
            cpu += int(fields[0])
            wait += int(fields[1])
        except FileNotFoundError:
            pass  # the thread ended between listdir and open
    return cpu / 1e9, wait / 1e9


def threads_cpu_seconds(pid):
    return threads_sched(pid)[0]


def log_lines(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_checked(argv, **kwargs):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} exited {result.returncode}: "
                 f"{result.stdout.strip()} {result.stderr.strip()}")
    return result.stdout


def settle_log(path, seconds=0.3):
    """The registry writes its access log line after answering: wait until it stops growing."""
    last = log_lines(path)
    while True:
        time.sleep(seconds)
        now = log_lines(path)
        if now == last:
            return now
        last = now


def now_ms():
    return int(time.time() * 1000)


def read_lines(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


# ---------------------------------------------------------------------------------------------
# HTTP over unix sockets (agentd's API and the Docker Engine API)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=300):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def unix_request(path, method, url, body=None):
    conn = UnixHTTPConnection(path)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, url, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Docker:
    """The few Engine API calls the baseline needs, over one kept-alive connection."""

    def __init__(self):
        self.conn = UnixHTTPConnection(DOCKER_SOCKET, timeout=60)

    def get(self, url):
        self.conn.request("GET", DOCKER_API + url)
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            sys.exit(f"bench: docker GET {url}: {response.status} {body[:200]!r}")
        return json.loads(body)

    def project_states(self, project):
        """[(service, state, health or None, restart count)] of the project's containers."""
        filters = json.dumps({"label": [f"com.docker.compose.project={project}"]})
        out = []
        for entry in self.get("/containers/json?all=1&filters=" + quote(filters, safe="")):
            doc = self.get(f"/containers/{entry['Id']}/json")
            state = doc["State"]
            health = state.get("Health", {}).get("Status") if state.get("Health") else None
            service = doc["Config"]["Labels"].get("com.docker.compose.service", "")
            out.append((service, state["Status"], health, doc.get("RestartCount", 0)))
        return out


# ---------------------------------------------------------------------------------------------
# 1. No-op poll and the cron alternative


def cmd_noop(pid, sock, stack, n, access_log, registry_pid):
    samples = []
    for _ in range(int(n)):
        lines0 = settle_log(access_log)
        ticks0 = process_cpu_seconds(pid)
        cpu0, wait0 = threads_sched(pid)
        reg0 = threads_cpu_seconds(registry_pid)
        t0 = time.perf_counter()
        run_checked([AGENTCTL, "--socket", sock, "sync", stack, "--wait"])
        wall = time.perf_counter() - t0
        cpu1, wait1 = threads_sched(pid)
        registry = threads_cpu_seconds(registry_pid) - reg0
        ticks = process_cpu_seconds(pid) - ticks0
        requests = settle_log(access_log) - lines0
        samples.append({"cpu_s": cpu1 - cpu0, "ticks_cpu_s": ticks, "wall_s": wall,
                        "requests": requests, "runqueue_s": wait1 - wait0,
                        "registry_cpu_s": registry})
    return samples


def cmd_cron(project, compose, n, access_log, registry_pid):
    base = ["docker-compose", "-p", project, "-f", compose]
    samples = []
    for _ in range(int(n)):
        lines0 = settle_log(access_log)
        cpu0 = children_cpu_seconds()
        reg0 = threads_cpu_seconds(registry_pid)
        t0 = time.perf_counter()
        # What a cron job would run: `pull -q && up -d`.
        run_checked(base + ["pull", "-q"])
        run_checked(base + ["up", "-d"])
        wall = time.perf_counter() - t0
        cpu = children_cpu_seconds() - cpu0
        registry = threads_cpu_seconds(registry_pid) - reg0
        requests = settle_log(access_log) - lines0
        samples.append({"cpu_s": cpu, "wall_s": wall, "requests": requests,
                        "registry_cpu_s": registry})
    return samples


def cmd_latency(n, *argv):
    samples = []
    for _ in range(int(n)):
        t0 = time.perf_counter()
        run_checked(list(argv))
        samples.append({"wall_s": time.perf_counter() - t0})
    return samples


def cmd_api(n, sock, url):
    """N requests GET URL on agentd's API socket from this process: the request's own latency,
    without starting agentctl."""
    samples = []
    for _ in range(int(n)):
        t0 = time.perf_counter()
        status, body = unix_request(sock, "GET", url)
        if status != 200:
            sys.exit(f"bench: GET {url}: {status} {body[:200]!r}")
        samples.append({"wall_s": time.perf_counter() - t0})
    return samples


def cmd_scrape(pid, address, n):
    """N scrapes of /metrics over one HTTP/1.1 connection (as Prometheus keeps one), after one
    that is not counted (it starts the connection's thread in agentd). agentd's CPU is its
    threads' (schedstat), the connection's thread included since it lives on."""
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def scrape():
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            sys.exit(f"bench: GET /metrics: {response.status} {body[:200]!r}")
        return body

    scrape()
    samples = []
    for _ in range(int(n)):
        cpu0 = threads_cpu_seconds(pid)
        t0 = time.perf_counter()
        body = scrape()
        wall = time.perf_counter() - t0
        cpu = threads_cpu_seconds(pid) - cpu0
        series = sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))
        samples.append({"wall_s": wall, "cpu_s": cpu, "bytes": len(body), "series": series})
    conn.close()
    return samples


def cmd_smaps(pid, top="8"):
    """Resident memory of PID by mapping (/proc/PID/smaps): each file, [heap], [stack], and
    anonymous mappings (thread stacks, malloc arenas) together."""
    by_name = {}
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split()
                name = os.path.basename(parts[5]) if len(parts) > 5 else "[anonymous]"
            elif line.startswith("Rss:"):
                by_name[name] = by_name.get(name, 0) + int(line.split()[1])
    ranked = sorted(by_name.items(), key=lambda item: -item[1])
    print(json.dumps({"samples": [{"rss_kb": sum(by_name.values())}],
                      "top": ranked[:int(top)]}))


def private_memory(pid):
    """PID's private (USS: Private_Clean + Private_Dirty, pages no other process maps) and
    proportional (PSS) resident memory in kB, from /proc/PID/smaps_rollup. RSS counts a shared
    library's pages in full in every process that maps them: libsystemd's, libc's or OpenSSL's
    pages on a host where systemd, journald and others map them too are no cost of agentd's."""
    rollup = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Pss", "Private_Clean", "Private_Dirty"):
                rollup[key] = int(rest.split()[0])
    return {"private_kb": rollup["Private_Clean"] + rollup["Private_Dirty"],
            "pss_kb": rollup["Pss"]}


def cmd_rss(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
                values[key.lower() + ("_kb" if key != "Threads" else "")] = int(rest.split()[0])
    values.update(private_memory(pid))
    return [values]


def cmd_spawns(strace_log):
    """Counts, in an `strace -f -e trace=process,connect` log, the programs executed (execve),
    the processes created (fork/vfork, clone/clone3 without CLONE_THREAD: threads are not
    processes) and the connections to the Docker Engine's socket."""
    execs = forks = docker = 0
    with open(strace_log, errors="replace") as f:
        for line in f:
            if "resumed>" in line and "<unfinished" not in line:
                continue  # the second half of a call already counted at its start
            if re.search(r"\bexecve\(", line):
                execs += 1
            elif re.search(r"\b(v?fork|clone3?)\(", line) and "CLONE_THREAD" not in line:
                forks += 1
            elif re.search(r"\bconnect\(", line) and "docker.sock" in line:
                docker += 1
    return [{"execs": execs, "forks": forks, "docker_connects": docker}]


# ---------------------------------------------------------------------------------------------
# Set-up helpers: registry fan-out, git repositories, a seeded state


def cmd_fanout(registry, source, tag, targets_file):
    """Copies SOURCE:TAG to every target repository without pushing any byte twice: the
    registry mounts the blobs it already holds (cross-repository mount), and the manifest is
    PUT under the target's name. Same digest everywhere: each repository is still resolved by
    its own request, which is what a no-op poll costs."""
    targets = read_lines(targets_file)
    digest = copy_image(registry, source, tag, [(target, tag) for target in targets])
    print(json.dumps({"digest": digest, "repositories": len(targets)}))


def copy_image(registry, source, tag, targets):
    """Copies the image SOURCE:TAG of the registry at REGISTRY (host:port) to every
    (repository, tag) of TARGETS by blob mounts and a manifest PUT; returns its digest."""
    host, port = registry.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    accept = ("application/vnd.docker.distribution.manifest.v2+json, "
              "application/vnd.oci.image.manifest.v1+json")

    def call(method, url, body=None, headers=None):
        conn.request(method, url, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response, data

    try:
        response, manifest = call("GET", f"/v2/{source}/manifests/{tag}",
                                  headers={"Accept": accept})
        if response.status != 200:
            sys.exit(f"bench: copy: GET {source}:{tag}: {response.status} {manifest[:200]!r}")
        content_type = response.getheader("Content-Type")
        digest = response.getheader("Docker-Content-Digest")
        doc = json.loads(manifest)
        blobs = [doc["config"]["digest"]] + [layer["digest"] for layer in doc["layers"]]
        for target, target_tag in targets:
            for blob in blobs:
                response, data = call(
                    "POST", f"/v2/{target}/blobs/uploads/?mount={blob}&from={source}",
                    headers={"Content-Length": "0"})
                if response.status != 201:
                    sys.exit(f"bench: copy: mount {blob} into {target}: {response.status} "
                             f"{data[:200]!r}")
            response, data = call("PUT", f"/v2/{target}/manifests/{target_tag}", body=manifest,
                                  headers={"Content-Type": content_type})
            if response.status != 201:
                sys.exit(f"bench: copy: PUT {target}:{target_tag}: {response.status} "
                         f"{data[:200]!r}")
        return digest
    finally:
        conn.close()


def derive_image(registry, source, tag, target, target_tag, text):
    """A new image TARGET:TARGET_TAG made from SOURCE:TAG in the registry at REGISTRY without
    Docker: its layers (mounted) plus one small layer of its own with /www/version = TEXT, so
    that every call makes a new digest whose new layer a pull must fetch. Returns the digest."""
    import gzip
    import io
    import tarfile
    host, port = registry.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    v2 = "application/vnd.docker.distribution.manifest.v2+json"

    def call(method, url, body=None, headers=None, expect=(200,)):
        conn.request(method, url, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        if response.status not in expect:
            sys.exit(f"bench: derive: {method} {url}: {response.status} {data[:200]!r}")
        return response, data

    def upload(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        response, _ = call("POST", f"/v2/{target}/blobs/uploads/", headers={"Content-Length": "0"},
                           expect=(202,))
        location = response.getheader("Location")
        location = location.split(f"{host}:{port}", 1)[-1]
        separator = "&" if "?" in location else "?"
        call("PUT", f"{location}{separator}digest={digest}", body=data,
             headers={"Content-Type": "application/octet-stream"}, expect=(201,))
        return digest

    try:
        _, manifest = call("GET", f"/v2/{source}/manifests/{tag}", headers={"Accept": v2})
        doc = json.loads(manifest)
        _, config = call("GET", f"/v2/{source}/blobs/{doc['config']['digest']}")
        config = json.loads(config)
        for layer in doc["layers"]:
            call("POST", f"/v2/{target}/blobs/uploads/?mount={layer['digest']}&from={source}",
                 headers={"Content-Length": "0"}, expect=(201,))
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            for name in ("www/", "www/version"):
                info = tarfile.TarInfo(name.rstrip("/"))
                data = (text + "\n").encode() if name == "www/version" else b""
                info.type = tarfile.DIRTYPE if name.endswith("/") else tarfile.REGTYPE
                info.mode = 0o755 if info.isdir() else 0o644
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data) if data else None)
        layer = gzip.compress(raw.getvalue(), mtime=0)
        layer_digest = upload(layer)
        config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(raw.getvalue()).hexdigest())
        config.setdefault("history", []).append({"created_by": f"bench: {text}"})
        config_data = json.dumps(config, separators=(",", ":")).encode()
        doc["config"] = {"mediaType": doc["config"]["mediaType"], "size": len(config_data),
                         "digest": upload(config_data)}
        doc["layers"].append({"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                              "size": len(layer), "digest": layer_digest})
        body = json.dumps(doc, indent=3).encode()
        response, _ = call("PUT", f"/v2/{target}/manifests/{target_tag}", body=body,
                           headers={"Content-Type": v2}, expect=(201,))
        return response.getheader("Docker-Content-Digest")
    finally:
        conn.close()


def git_env():
    env = dict(os.environ)
    env.update({"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
                "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"})
    return env


def cmd_mkrepos(directory, spec_file, per_repo=None):
    """SPEC_JSON: {stack: compose text}. Writes DIR/STACK.git (bare, branch main, one commit of
    stack/compose.yaml) with `git fast-import`: two processes a repository instead of a clone,
    a commit and a push. With PER_REPO, the stacks in turn share repositories of PER_REPO
    stacks, DIR/sharedNNN.git, each stack's file at STACK/compose.yaml (the usual layout of a
    deploy repository)."""
    with open(spec_file) as f:
        spec = json.load(f)
    stacks = list(spec.items())
    if per_repo is None:
        repos = [(f"{stack}.git", [(stack, "stack", compose)]) for stack, compose in stacks]
    else:
        k = int(per_repo)
        repos = [(f"shared{i // k:03d}.git",
                  [(stack, stack, compose) for stack, compose in stacks[i:i + k]])
                 for i in range(0, len(stacks), k)]
    revisions = {}
    for name, members in repos:
        repo = os.path.join(directory, name)
        run_checked(["git", "init", "-q", "--bare", "-b", "main", repo])
        stream = b""
        for mark, (_, _, compose) in enumerate(members, start=1):
            data = compose.encode()
            stream += b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data)
        message = f"stacks {', '.join(stack for stack, _, _ in members)}".encode()
        commit_mark = len(members) + 1
        stream += (b"commit refs/heads/main\nmark :%d\n" % commit_mark +
                   b"committer bench <bench@example.invalid> 1790000000 +0000\n"
                   b"data %d\n%s\n" % (len(message), message))
        for mark, (_, path, _) in enumerate(members, start=1):
            stream += b"M 100644 :%d %s/compose.yaml\n" % (mark, path.encode())
        stream += b"\n"
        marks = os.path.abspath(os.path.join(directory, f"{name}.marks"))
        result = subprocess.run(["git", "-C", repo, "fast-import", "--quiet",
                                 f"--export-marks={marks}"], input=stream,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=git_env())
        if result.returncode != 0:
            sys.exit(f"bench: git fast-import into {repo}: {result.stderr.decode().strip()}")
        with open(marks) as f:
            for line in f:
                mark, sha = line.split()
                if mark == f":{commit_mark}":
                    for stack, _, _ in members:
                        revisions[stack] = sha
        os.unlink(marks)
    print(json.dumps(revisions))


def services_cache_key(revision, tag):
    """The key under which agentd caches a revision's services (Reconciler::services_key in
    agent/deploy/reconciler.cpp, for a git stack without env files and with compose's default
    file names)."""
    return hashlib.sha256(f"{revision}\n{tag}\n".encode()).hexdigest()


def migrations_sql(migrations_cpp):
    """Every R"sql( ... )sql" block of agent/state/sqlite_migrations.cpp, in order."""
    with open(migrations_cpp) as f:
        blocks = re.findall(r'R"sql\((.*?)\)sql"', f.read(), re.S)
    if not blocks:
        sys.exit(f"bench: no schema in {migrations_cpp}")
    return blocks


def cmd_seed(db_path, migrations_cpp, state_dir, spec_file):
    """A fresh state.db in the schema agentd itself creates, as if agentd had run before:

    SPEC_JSON: {"history": {"stack": S, "count": N, "image": REF}: N finished deployments of S
                            (every tenth rolled back, the rest superseded), one a minute,
                "current": [{"stack": S, "revision": R, "images": {service: REF@DIGEST}}]:
                            for each, a succeeded deployment: the release S runs,
                "cache": true: each current stack's services cache holds its revision's
                            services, as agentd writes it after its first `compose config`}
    """
    with open(spec_file) as f:
        spec = json.load(f)
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
               "applied_at INTEGER NOT NULL)")
    now = now_ms()
    for version, sql in enumerate(migrations_sql(migrations_cpp), start=1):
        db.executescript(sql)
        db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, now))
    columns = ("stack, status, revision, images, trigger, started_at, finished_at, reason, "
               "phase, previous")
    insert = f"INSERT INTO deployments ({columns}) VALUES (?, ?, ?, ?, 'poll', ?, ?, ?, ?, ?)"
    history = spec.get("history")
    if history:
        count = history["count"]

        def rows():
            for i in range(1, count + 1):
                bad = i % 10 == 0
                at = now - (count - i + 1) * 60000
                yield (history["stack"], "rolled_back" if bad else "superseded", f"{i:040x}",
                       json.dumps({"svc0": f"{history['image']}@sha256:{i:064x}"}), at,
                       at + 30000, "health gate: svc0 unhealthy" if bad else "", "promote",
                       i - 1 if i > 1 else None)

        db.executemany(insert, rows())
    for current in spec.get("current", []):
        db.execute(insert, (current["stack"], "succeeded", current["revision"],
                            json.dumps(current["images"], sort_keys=True), now - 60000,
                            now - 30000, "", "promote", None))
    db.commit()
    db.close()
    if spec.get("cache"):
        for current in spec["current"]:
            write_services_cache(state_dir, current)


def services_cache_format():
    """ServicesCache::k_format, read from agent/deploy/services_cache.h: agentd ignores a cache
    file of another format (and would run `compose config` for every seeded stack)."""
    header = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent", "deploy",
                          "services_cache.h")
    with open(header) as f:
        match = re.search(r"k_format\s*=\s*(\d+)", f.read())
    if not match:
        sys.exit(f"bench: no k_format in {header}")
    return int(match.group(1))


def cache_path(state_dir, stack):
    return os.path.join(state_dir, "meta", stack, "services.json")


def services_cache_text(current):
    """The services cache of a seeded stack, as agentd writes it after its first `compose
    config` (without the inputs, which only a new revision needs)."""
    services = []
    for name, image in sorted(current["images"].items()):
        tagged = image.split("@", 1)[0]  # the compose file names the image by tag
        services.append({"name": name, "image": tagged, "build": False,
                         "restart": current.get("restart", ""), "profiles": []})
    entry = {"key": services_cache_key(current["revision"], ""),
             "services": services}
    return json.dumps({"format": services_cache_format(), "entries": [entry]})


def write_services_cache(state_dir, current):
    path = cache_path(state_dir, current["stack"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(services_cache_text(current))


def cmd_check_seeded(db_path, state_dir, spec_file):
    """Fails unless every seeded stack still runs its seeded deployment (so agentd saw its
    release as the one the registry serves: nothing was deployed) and its services cache is
    the one written by `seed` (so agentd did not need `compose config`)."""
    with open(spec_file) as f:
        spec = json.load(f)
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    problems = []
    for current in spec["current"]:
        stack = current["stack"]
        rows = db.execute("SELECT status, revision FROM deployments WHERE stack = ?",
                          (stack,)).fetchall()
        if rows != [("succeeded", current["revision"])]:
            problems.append(f"{stack}: deployments {rows}")
        poll = db.execute("SELECT last_poll_result, last_poll_error FROM stacks WHERE name = ?",
                          (stack,)).fetchone()
        if poll != ("ok", ""):
            problems.append(f"{stack}: last poll {poll}")
        with open(cache_path(state_dir, stack)) as f:
            if f.read() != services_cache_text(current):
                problems.append(f"{stack}: agentd rewrote the services cache (it ran `compose "
                                "config`: the seeded key or format did not match, see "
                                "services_cache_key and services_cache_format)")
    if problems:
        sys.exit("bench: the seeded state was not taken as is:\n  " + "\n  ".join(problems[:10]))
    print(json.dumps({"stacks": len(spec["current"])}))


# ---------------------------------------------------------------------------------------------
# 2. Scale


def polled_since(db, stacks, since):
    placeholders = ",".join("?" * len(stacks))
    row = db.execute(f"SELECT COUNT(*) FROM stacks WHERE last_poll_at >= ? AND name IN "
                     f"({placeholders})", (since, *stacks)).fetchone()
    return row[0]


def wait_polled(db, stacks, since, deadline_s=600):
    """Waits until every stack's last poll is at or after `since` (ms). state.db is read
    directly, so that watching costs agentd nothing."""
    end = time.monotonic() + deadline_s
    while polled_since(db, stacks, since) < len(stacks):
        if time.monotonic() > end:
            sys.exit(f"bench: {len(stacks) - polled_since(db, stacks, since)} stacks were not "
                     f"polled within {deadline_s}s")
        time.sleep(0.01)


def open_ro(db_path):
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)


def cmd_startup(pid, db_path, stacks_file, since):
    stacks = read_lines(stacks_file)
    while not os.path.exists(db_path):
        time.sleep(0.01)
    db = open_ro(db_path)
    wait_polled(db, stacks, int(since))
    last = db.execute("SELECT MAX(last_poll_at) FROM stacks").fetchone()[0]
    return [{"wall_s": (last - int(since)) / 1000, "cpu_s": process_cpu_seconds(pid)}]


def cmd_scale(pid, sock, db_path, stacks_file, n, access_log, registry_pid):
    stacks = read_lines(stacks_file)
    db = open_ro(db_path)
    samples = []
    for _ in range(int(n)):
        lines0 = settle_log(access_log)
        time.sleep(0.002)  # last_poll_at has millisecond resolution: start on a fresh one
        since = now_ms()
        ticks0 = process_cpu_seconds(pid)
        cpu0, wait0 = threads_sched(pid)
        reg0, reg_wait0 = threads_sched(registry_pid)
        t0 = time.perf_counter()
        for stack in stacks:
            status, body = unix_request(sock, "POST", f"/v1/stacks/{stack}/sync", b"{}")
            if status != 202:
                sys.exit(f"bench: sync {stack}: {status} {body[:200]!r}")
        triggered = time.perf_counter() - t0
        wait_polled(db, stacks, since)
        wall = time.perf_counter() - t0
        cpu1, wait1 = threads_sched(pid)
        reg1, reg_wait1 = threads_sched(registry_pid)
        ticks = process_cpu_seconds(pid) - ticks0
        requests = settle_log(access_log) - lines0
        errors = db.execute("SELECT COUNT(*) FROM stacks WHERE last_poll_result != 'ok'"
                            ).fetchone()[0]
        if errors:
            sys.exit(f"bench: {errors} stacks' last poll failed")
        samples.append({"wall_s": wall, "cpu_s": cpu1 - cpu0, "ticks_cpu_s": ticks,
                        "requests": requests, "trigger_s": triggered,
                        "runqueue_s": wait1 - wait0, "registry_cpu_s": reg1 - reg0,
                        "registry_runqueue_s": reg_wait1 - reg_wait0})
    return samples


def metric_total(address, name):
    """The sum of every series of the counter NAME on agentd's /metrics."""
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("GET", "/metrics")
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    if response.status != 200:
        sys.exit(f"bench: GET /metrics: {response.status} {body[:200]!r}")
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith((name + "{", name + " ")))


def proxy_connections(stats_file):
    """The connections the delay proxy accepted so far (delay_proxy.py --stats)."""
    with open(stats_file) as f:
        return json.load(f)["connections"]


def cmd_rounds(address, db_path, stacks_file, rounds, stats_file, per_repo):
    """Scheduled polls: once the round under way has ended, ROUNDS more rounds (each ended
    when every stack polled since the previous one ended), with the git connections the delay
    proxy counted (STATS_FILE) and the polls agentd counted (agentd_polls_total) meanwhile."""
    stacks = read_lines(stacks_file)
    db = open_ro(db_path)
    wait_polled(db, stacks, now_ms())
    polls0 = metric_total(address, "agentd_polls_total")
    conns0 = proxy_connections(stats_file)
    t0 = time.perf_counter()
    for _ in range(int(rounds)):
        wait_polled(db, stacks, now_ms())
    wall = time.perf_counter() - t0
    polls = metric_total(address, "agentd_polls_total") - polls0
    conns = proxy_connections(stats_file) - conns0
    # A repository's rounds do not keep in step with the others' (each draws its jitter), so
    # the window holds whole rounds of every stack but maybe one round more of some
    # repositories: polls / PER_REPO is the repository rounds it holds.
    repository_rounds = polls / int(per_repo)
    return [{"rounds": int(rounds), "wall_s": wall, "polls": int(polls), "git_connections": conns,
             "stacks": len(stacks), "repositories": -(-len(stacks) // int(per_repo)),
             "repository_rounds": repository_rounds,
             "git_connections_per_repository_round": conns / repository_rounds}]


# ---------------------------------------------------------------------------------------------
# 3. Reaction and 4. rollback


def deployment_row(db, deployment):
    row = db.execute("SELECT status, started_at, finished_at FROM deployments WHERE id = ?",
                     (deployment,)).fetchone()
    events = db.execute("SELECT at, phase, message FROM events WHERE deployment_id = ? "
                        "ORDER BY id", (deployment,)).fetchall()
    return row, events


def first_event(events, phase):
    for at, p, _ in events:
        if p == phase:
            return at
    sys.exit(f"bench: no {phase} event in {events}")


def cmd_deploy(sock, db_path, stack):
    """From `agentctl sync --wait` to the release promoted, and its phases from the events'
    millisecond times in state.db: observe (sync to the deployment's start: fetch, compose
    config of a new revision, registry), pull, apply (checkout, compose up), gate, and the rest
    (promote, reply)."""
    start = now_ms()
    t0 = time.perf_counter()
    result = subprocess.run([AGENTCTL, "--socket", sock, "--json", "sync", stack, "--wait"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    end = start + wall * 1000
    reply = sync_outcome(result.stdout)
    if reply.get("outcome") != "succeeded":
        sys.exit(f"bench: sync {stack}: expected a succeeded deployment, got {result.stdout} "
                 f"{result.stderr}")
    db = open_ro(db_path)
    (status, started, finished), events = deployment_row(db, reply["deployment"])
    pull, apply, gate = (first_event(events, p) for p in ("pull", "apply", "gate"))
    return [{"wall_s": wall, "observe_s": (started - start) / 1000, "pull_s": (apply - pull) / 1000,
             "apply_s": (gate - apply) / 1000, "gate_s": (finished - gate) / 1000,
             "rest_s": (end - finished) / 1000 + (pull - started) / 1000}]


def cmd_webhook(address, secret_file, db_path, stack, url):
    """What `agentctl sync --wait` measures for a poll, for a webhook: the request's answer
    (202 "triggered"), then the deployment it started (a new row of STACK with trigger
    webhook), all timed from the moment the request was sent. Start = the deployment's
    started_at: the git fetch and `compose config` of the pushed revision are before it."""
    with open(secret_file) as f:
        secret = f.read().strip()
    body = json.dumps({"ref": "refs/heads/main", "deleted": False,
                       "repository": {"clone_url": url}}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    db = open_ro(db_path)
    last = db.execute("SELECT COALESCE(MAX(id), 0) FROM deployments").fetchone()[0]
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
               "X-GitHub-Delivery": f"bench-{os.getpid()}-{last}",
               "X-Hub-Signature-256": signature}
    sent = now_ms()
    t0 = time.perf_counter()
    conn.request("POST", "/webhooks/github", body, headers)
    response = conn.getresponse()
    answer = response.read()
    reply = time.perf_counter() - t0
    if response.status != 202 or json.loads(answer).get("status") != "triggered":
        sys.exit(f"bench: webhook: expected 202 triggered, got {response.status} {answer!r}")
    deadline = time.monotonic() + 300
    while True:
        row = db.execute("SELECT id, status, trigger, started_at, finished_at FROM deployments "
                         "WHERE stack = ? AND id > ? ORDER BY id LIMIT 1",
                         (stack, last)).fetchone()
        if row and row[1] not in ("in_progress", "waiting"):
            break
        if time.monotonic() > deadline:
            sys.exit(f"bench: webhook: no finished deployment of {stack} after it: {row}")
        time.sleep(0.01)
    _, status, trigger, started, finished = row
    if status != "succeeded" or trigger != "webhook":
        sys.exit(f"bench: webhook: expected a succeeded webhook deployment, got {row}")
    return [{"reply_s": reply, "start_s": (started - sent) / 1000,
             "promoted_s": (finished - sent) / 1000}]


def sync_outcome(stdout):
    """The outcome document of `agentctl --json sync STACK --wait`: its last line (the lines
    before it are the cycle's live progress), or {} when there is none."""
    lines = stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}


def port_open(address):
    host, port = address.split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def cmd_rollback(sock, db_path, stack, registry_pid, registry):
    """A release that fails the gate; the registry is stopped once the release is pulled (its
    apply started), so the rollback that follows can only use what the host already has."""
    db = open_ro(db_path)
    before = db.execute("SELECT COALESCE(MAX(id), 0) FROM deployments").fetchone()[0]
    sync = subprocess.Popen([AGENTCTL, "--socket", sock, "--json", "sync", stack, "--wait"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while True:
        row = db.execute("SELECT id FROM deployments WHERE stack = ? AND id > ? AND phase IN "
                         "('apply', 'gate', 'rollback')", (stack, before)).fetchone()
        if row:
            break
        if sync.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"bench: rollback: the bad release never reached apply: "
                     f"{sync.communicate()}")
        time.sleep(0.01)
    os.kill(int(registry_pid), signal.SIGTERM)
    while port_open(registry):
        time.sleep(0.01)
    stopped = now_ms()
    out, err = sync.communicate(timeout=600)
    reply = sync_outcome(out)
    if reply.get("outcome") != "rolled_back":
        sys.exit(f"bench: rollback: expected rolled_back, got {out} {err}")
    (status, started, finished), events = deployment_row(db, row[0])
    gate = first_event(events, "gate")
    decided = first_event(events, "rollback")
    restored = [at for at, phase, message in events
                if phase == "rollback" and "restored and healthy" in message]
    if not restored:
        sys.exit(f"bench: rollback: no 'restored and healthy' event in {events}")
    if stopped >= decided:
        sys.exit("bench: rollback: the gate failed before the registry was stopped; the "
                 "measurement proves nothing (slow machine?)")
    return [{"rollback_s": (restored[0] - decided) / 1000, "bad_gate_s": (decided - gate) / 1000,
             "registry_down_before_decision_s": (decided - stopped) / 1000}]


# ---------------------------------------------------------------------------------------------
# 7. Blue-green: the switch after the slot's gate, and a rollback inside keep_old_for


RELOADED = re.compile(r"^traffic on slot (blue|green) \(the proxy reloaded in (\d+) ms\)$")


def switch_events(events):
    """The `switch` events of a blue-green deployment: [(at, message)]."""
    return [(at, message) for at, phase, message in events if phase == "switch"]


def traffic_on(events):
    """(at, proxy milliseconds) of the deployment's one "traffic on slot X (the proxy reloaded
    in N ms)" event: when traffic was on the new slot, and agentd's own measure of the proxy
    step (upstream file written, `nginx -t`, `nginx -s reload`, until the master had a new
    worker and none of its old ones accepted connections)."""
    found = [(at, int(m.group(2))) for at, message in switch_events(events)
             if (m := RELOADED.match(message))]
    if len(found) != 1:
        sys.exit(f"bench: expected one 'traffic on slot' event, found {len(found)}: {events}")
    return found[0]


def new_deployment(db, stack, after, deadline_s=300):
    """The first deployment of STACK with an id above AFTER, once finished."""
    end = time.monotonic() + deadline_s
    while True:
        row = db.execute("SELECT id, status FROM deployments WHERE stack = ? AND id > ? "
                         "ORDER BY id LIMIT 1", (stack, after)).fetchone()
        if row and row[1] not in ("in_progress", "waiting"):
            return row[0]
        if time.monotonic() > end:
            sys.exit(f"bench: no finished deployment of {stack} after {after}: {row}")
        time.sleep(0.01)


def last_deployment_id(db):
    return db.execute("SELECT COALESCE(MAX(id), 0) FROM deployments").fetchone()[0]


def cmd_bg_promote(db_path, stack, *trigger):
    """A promotion of a blue-green stack: TRIGGER (`agentctl sync STACK --wait`, or `agentctl
    resume STACK` after a rollback, which polls at once) deploys the release just committed; it
    starts in the idle slot, is gated there ("slot X passed its gate" ends the gate), switched
    and soaked. Gate passed -> traffic on the new slot, the proxy's share (from the event's
    message) and the rest (agentd's own)."""
    db = open_ro(db_path)
    before = last_deployment_id(db)
    run_checked(list(trigger))
    deployment = new_deployment(db, stack, before)
    (status, started, finished), events = deployment_row(db, deployment)
    if status != "succeeded":
        sys.exit(f"bench: blue-green promotion: deployment {deployment} is {status}: {events}")
    gate = first_event(events, "gate")
    begun = [at for at, phase, message in events
             if phase == "gate" and message.endswith("passed its gate")]
    if len(begun) != 1:
        sys.exit(f"bench: blue-green promotion: expected one 'passed its gate' event: {events}")
    on, proxy_ms = traffic_on(events)
    soak = first_event(events, "soak")
    switch = (on - begun[0]) / 1000
    proxy = proxy_ms / 1000
    # Whole milliseconds: rounding keeps the differences free of float noise.
    return [{"switch_s": switch, "proxy_s": proxy, "beyond_proxy_s": round(switch - proxy, 3),
             "gate_s": (begun[0] - gate) / 1000, "soak_s": (finished - soak) / 1000,
             "duration_s": (finished - started) / 1000, "deployment": deployment}]


def slot_containers(stack):
    """{container id: start time} of both slot projects' containers, running or not."""
    docker = Docker()
    out = {}
    for slot in ("blue", "green"):
        filters = json.dumps({"label": [f"com.docker.compose.project={stack}-{slot}"]})
        for entry in docker.get("/containers/json?all=1&filters=" + quote(filters, safe="")):
            out[entry["Id"]] = docker.get(f"/containers/{entry['Id']}/json")["State"]["StartedAt"]
    return out


def cmd_bg_rollback(sock, db_path, stack):
    """`agentctl rollback STACK` right after a promotion, inside keep_old_for: the idle slot
    still runs the previous release, so the rollback only switches back (its event says "no
    container started"; no container of either slot may be created or restarted). The
    command's wall time, the rollback deployment's duration (started_at -> finished_at), the
    proxy's share from its "traffic on slot" event and the duration beyond it."""
    db = open_ro(db_path)
    before = last_deployment_id(db)
    containers = slot_containers(stack)
    t0 = time.perf_counter()
    run_checked([AGENTCTL, "--socket", sock, "rollback", stack])
    wall = time.perf_counter() - t0
    deployment = new_deployment(db, stack, before, 60)
    (status, started, finished), events = deployment_row(db, deployment)
    if status != "succeeded":
        sys.exit(f"bench: blue-green rollback: deployment {deployment} is {status}: {events}")
    if not any("no container started" in message for _, message in switch_events(events)):
        sys.exit(f"bench: blue-green rollback: not a switch back (no 'no container started' "
                 f"event; was the idle slot stopped?): {events}")
    # Its plan and pull events come first, as for every deployment (the pull finds the images
    # on the host); a switch back has no apply, gate or soak.
    if any(phase in ("apply", "gate", "soak") for _, phase, _ in events):
        sys.exit(f"bench: blue-green rollback: it did more than switch: {events}")
    if slot_containers(stack) != containers:
        sys.exit("bench: blue-green rollback: slot containers were created or restarted")
    begun = [at for at, message in switch_events(events) if "no container started" in message]
    on, proxy_ms = traffic_on(events)
    duration = (finished - started) / 1000
    return [{"wall_s": wall, "duration_s": duration, "proxy_s": proxy_ms / 1000,
             "beyond_proxy_s": round(duration - proxy_ms / 1000, 3),
             "switch_s": (on - begun[0]) / 1000,
             "before_switch_s": (begun[0] - started) / 1000,
             "after_switch_s": (finished - on) / 1000,
             "deployment": deployment}]


def good_sample(states):
    """The gate's criteria (SPEC section 4) on one look: every container running, healthy
    where it has a healthcheck. Restarts are checked against the first look."""
    if not states:
        return False
    return all(state == "running" and health in (None, "healthy")
               for _, state, health, _ in states)


def cmd_baseline(project, stable, n, compose_from, compose_to):
    """The time the same containers need on their own: `docker-compose up -d` to TO, then the
    gate's criteria (running, healthy, no restart, for `stable` seconds and at least 3 samples)
    checked every 0.1 s, 10 times as often as agentd's gate, so that the baseline is as short
    as it can be measured."""
    stable = float(stable)
    docker = Docker()
    samples = []
    base = ["docker-compose", "-p", project]
    for _ in range(int(n)):
        run_checked(base + ["-f", compose_from, "up", "-d", "--remove-orphans"])
        t0 = time.perf_counter()
        run_checked(base + ["-f", compose_to, "up", "-d", "--remove-orphans"])
        up = time.perf_counter() - t0
        good_since = None
        good = 0
        restarts = None
        while True:
            states = docker.project_states(project)
            now = time.perf_counter()
            counts = sorted(r for *_, r in states)
            if restarts is None:
                restarts = counts
            if good_sample(states) and counts == restarts:
                good_since = good_since or now
                good += 1
                if now - good_since >= stable and good >= 3:
                    break
            else:
                good_since, good = None, 0
            if now - t0 > 300:
                sys.exit(f"bench: baseline {project}: not stable within 300s: {states}")
            time.sleep(0.1)
        samples.append({"wall_s": now - t0, "up_s": up, "healthy_s": good_since - t0})
    return samples


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    name, args = sys.argv[1], sys.argv[2:]
    helpers = {"fanout": cmd_fanout, "mkrepos": cmd_mkrepos, "seed": cmd_seed,
               "check-seeded": cmd_check_seeded, "smaps": cmd_smaps}
    if name in helpers:
        helpers[name](*args)
        return
    commands = {"noop": cmd_noop, "cron": cmd_cron, "latency": cmd_latency, "rss": cmd_rss,
                "spawns": cmd_spawns, "api": cmd_api, "scrape": cmd_scrape, "scale": cmd_scale,
                "rounds": cmd_rounds, "startup": cmd_startup, "deploy": cmd_deploy,
                "webhook": cmd_webhook, "rollback": cmd_rollback,
                "baseline": cmd_baseline, "bg-promote": cmd_bg_promote,
                "bg-rollback": cmd_bg_rollback}
    if name not in commands:
        sys.exit(__doc__)
    samples = commands[name](*args)
    for sample in samples:
        for key, value in sample.items():
            if not isinstance(value, (int, float)):
                sys.exit(f"bench: {name}: {key} is not a number: {value!r}")
    print(json.dumps({"samples": samples}))


if __name__ == "__main__":
    main()
