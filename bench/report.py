#!/usr/bin/env python3
"""Writes docs/benchmarks.md from the results bench/run collected (standard library only).

Usage: report.py RESULTS_JSON OUT_MD FINDINGS_MD

RESULTS_JSON maps a measurement name to {"samples": [{...numbers...}], ...} (see bench.py) and
"meta" to the run's description (with the command that reproduces it). FINDINGS_MD
(hand-written, bench/findings.md) is included verbatim as the "Findings" section, so that
explanations survive regeneration. A full run keeps its results in docs/benchmarks.json, so
after editing the findings:

    python3 bench/report.py docs/benchmarks.json docs/benchmarks.md bench/findings.md
"""

import json
import re
import os
import statistics
import sys


def summary(values):
    """median, min, max and n."""
    values = sorted(values)
    return {"median": statistics.median(values), "min": values[0], "max": values[-1],
            "n": len(values)}


def column(results, name, key):
    return [s[key] for s in results[name]["samples"]]


def stat(results, name, key):
    return summary(column(results, name, key))


def fmt_ms(seconds):
    ms = seconds * 1000
    if abs(ms) < 10:
        return f"{ms:.2f} ms"
    if abs(ms) < 100:
        return f"{ms:.1f} ms"
    if abs(ms) < 10000:
        return f"{ms:.0f} ms"
    return f"{seconds:.1f} s"


def fmt_s(seconds):
    return f"{seconds:.2f} s"


def fmt_mib(kb):
    return f"{kb / 1024:.1f} MiB"


def workers_said(startup, before=" (", after=")"):
    """"N workers ..." between before and after, from a start-up result that recorded agentd's
    worker count (bench/run reads it from agentd's log since issue 15 changed it); "" for older
    results."""
    if "workers" not in startup:
        return ""
    return (f"{before}{startup['workers']} workers for this many stacks, as agentd's log said "
            f"at start{after}")


def fmt_stat(s, unit_fn):
    if s["n"] == 1:
        return f"{unit_fn(s['median'])} (n=1)"
    return f"{unit_fn(s['median'])} (min {unit_fn(s['min'])}, max {unit_fn(s['max'])}, n={s['n']})"


def ratio(a, b):
    if b == 0:
        return "inf (agentd used no measurable CPU)"
    return f"{a / b:.0f}x"


def met(ok):
    return "met" if ok else "**missed**"


def machine_line():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return f"{os.cpu_count()} CPUs ({model}), {mem_kb / 1024 / 1024:.1f} GiB memory"


# Why private memory is reported beside RSS.
k_private_note = (
    "Private memory (USS) counts only the pages no other process maps; PSS shares each page "
    "among the processes mapping it. RSS counts every mapped page of the shared libraries in "
    "full: on a host those of libc, libstdc++, OpenSSL or libsystemd (and the libraries it "
    "loads) are mapped by systemd, journald and other services as well, so they are not "
    "agentd's own cost. On this machine few other processes map agentd's libraries, so USS is "
    "an upper bound of what a host would see.")


def private_row(rss):
    """The table row of private (USS) and proportional (PSS) memory, when the run measured them
    (results from before they were measured have neither)."""
    if "private_kb" not in rss:
        return "| private (USS) / PSS | not measured in this run |"
    return (f"| private (USS: Private_Clean + Private_Dirty) / PSS | "
            f"{fmt_mib(rss['private_kb'])} / {fmt_mib(rss['pss_kb'])} |")


def soak_private_row(f):
    """The soak table's row of private memory (USS), when the run measured it."""
    if "private_kb_first" not in f:
        return "| private (USS) | not measured in this run | | | | |"
    return (f"| private (USS) | {fmt_mib(f['private_kb_first'])} | "
            f"{fmt_mib(f['private_kb_last'])} | {fmt_mib(f['private_kb_max'])} | "
            f"{fmt_mib(f['private_kb_warm'])} | {f['private_growth_kb']:+.0f} kB |")


def smaps_line(result):
    total = result["samples"][0]["rss_kb"]
    parts = [f"{name} {fmt_mib(kb)}" for name, kb in result["top"]]
    return f"{fmt_mib(total)} in all; largest: " + ", ".join(parts) + "."


def procs_per_cycle(results, name):
    sample = results[name]["samples"][0]
    return (sample["execs"] + sample["forks"]) / results[name]["cycles"]


class Report:
    def __init__(self, results, findings):
        self.r = results
        self.meta = results["meta"]
        self.command = self.meta["command"]
        self.findings = findings
        self.lines = []
        self.targets = []

    def add(self, *lines):
        self.lines.extend(lines)

    def target(self, name, measured, ok):
        self.targets.append(f"| {name} | {measured} | {met(ok)} |")

    # --- sections ----------------------------------------------------------------------------

    def header(self):
        m = self.meta
        self.add(
            "# Benchmarks", "",
            "Generated by `bench/run` (do not edit by hand: explanations go into "
            "`bench/findings.md`, included below). Reproduce with:", "",
            "```", self.command, "```", "",
            f"- Date: {m['date']}; the measurements took {m['seconds'] // 60} min "
            f"{m['seconds'] % 60} s",
            f"- Machine: {machine_line()}",
            f"- Software: {m['versions']}",
            f"- Load average when the run started: {m['loadavg']}, when it ended: "
            f"{m['loadavg_end']}. The machine and dockerd are shared with other work (builds "
            "and tests of other branches), so absolute times are noisy, wall times most; ratios "
            "measured side by side in one run are what to compare.",
            "- Figures are medians with min, max and the number of samples n; ratios and "
            "differences use medians.", "")

    def noop(self):
        m = self.meta
        sizes = m["sizes"]
        self.add(
            "## 1. No-op poll: agentd against the cron alternative", "",
            "A stack of N services, each its own image repository in a local registry "
            "(docker-registry, plain HTTP on 127.0.0.1, started by bench/run for itself so "
            "its access log counts only these requests). Nothing changes between cycles; each "
            "sample is one cycle:", "",
            "- agentd: `agentctl sync STACK --wait` against a running agentd. CPU is the run "
            "time of all agentd threads (/proc/PID/task/*/schedstat, nanoseconds), API request "
            "handling included, agentctl's own CPU excluded. Cross-check: utime+stime plus "
            "reaped children (/proc/PID/stat fields 14-17, 10 ms ticks) summed over all timed "
            "cycles; it also counts any helper process agentd ran.",
            f"- Stacks of up to {m['seeded_above']} images are deployed by agentd first "
            "(containers running). Larger stacks are not deployed: their state.db is seeded "
            "with a succeeded deployment of exactly the release the registry serves, and their "
            "services cache with the revision's services, as agentd leaves them after a first "
            "deployment. Observe and plan read git, the services cache, the registry and "
            "state.db; then a no-op poll lists the project's containers once (GET "
            "/containers/json, no inspect) to compare them with the current release (drift), "
            "on the connection it keeps open to the Docker socket (the strace column counts "
            "new connections, made only by the first poll). A seeded "
            "stack runs no containers, so its polls find every service missing (`drift: warn`: "
            "reported, nothing deployed) and its figures include the whole comparison; "
            "bench/run fails if agentd did not take the seeded release as current or re-ran "
            "`compose config`.",
            "- cron alternative: `docker-compose -p P -f compose.yaml pull -q && "
            "docker-compose ... up -d` on the same stack and images with its containers "
            "running (another project name); CPU is the docker-compose processes' (getrusage "
            "of reaped children).",
            "- Registry requests: lines the registry added to its access log during the cycle.",
            "- Processes spawned and Docker connections: `strace -f -e trace=process,connect` "
            "attached to agentd during separate no-op cycles (not those timed), counting "
            "execve, non-thread clones and connect() to docker.sock.",
            "- Neither CPU figure includes dockerd's or the registry's; the registry's CPU is "
            "given separately below (docker-registry runs on the same 2 cores).",
            "- Every service has `network_mode: none`: docker-compose 1.29 creates containers "
            "much faster without a network endpoint each (creation times below), and no "
            "no-op poll needs a network.", "",
            "| images | agentd CPU / cycle | cron CPU / cycle | CPU ratio | agentd wall "
            "| cron wall | agentd requests / cycle | cron requests / cycle "
            "| agentd processes / cycle | agentd Docker connects |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        notes = []
        for size in sizes:
            a_cpu = stat(self.r, f"noop_{size}", "cpu_s")
            c_cpu = stat(self.r, f"cron_{size}", "cpu_s")
            a_wall = stat(self.r, f"noop_{size}", "wall_s")
            c_wall = stat(self.r, f"cron_{size}", "wall_s")
            a_req = stat(self.r, f"noop_{size}", "requests")
            c_req = stat(self.r, f"cron_{size}", "requests")
            spawns = self.r[f"spawns_{size}"]
            sample = spawns["samples"][0]
            seeded = " (seeded)" if size > m["seeded_above"] else ""
            self.add(
                f"| {size}{seeded} | {fmt_ms(a_cpu['median'])} | {fmt_ms(c_cpu['median'])} | "
                f"{ratio(c_cpu['median'], a_cpu['median'])} | {fmt_ms(a_wall['median'])} | "
                f"{fmt_ms(c_wall['median'])} | {a_req['median']:g} | {c_req['median']:g} | "
                f"{procs_per_cycle(self.r, f'spawns_{size}'):g} | {sample['docker_connects']} |")
            ticks = sum(column(self.r, f"noop_{size}", "ticks_cpu_s")) / a_cpu["n"]
            a_reg = stat(self.r, f"noop_{size}", "registry_cpu_s")["median"]
            c_reg = stat(self.r, f"cron_{size}", "registry_cpu_s")["median"]
            a_wait = stat(self.r, f"noop_{size}", "runqueue_s")["median"]
            create = self.r[f"create_{size}"]["samples"][0]["wall_s"]
            notes.append(
                f"- {size} images: agentd CPU {fmt_stat(a_cpu, fmt_ms)}; cron CPU "
                f"{fmt_stat(c_cpu, fmt_ms)}; agentd wall {fmt_stat(a_wall, fmt_ms)}; cron wall "
                f"{fmt_stat(c_wall, fmt_ms)}; agentd requests min {a_req['min']:g} max "
                f"{a_req['max']:g}; cron requests min {c_req['min']:g} max {c_req['max']:g}; "
                f"agentd over {spawns['cycles']} traced cycles: {sample['execs']} execve, "
                f"{sample['forks']} forks, {sample['docker_connects']} Docker connects; tick "
                f"cross-check {fmt_ms(ticks)} per cycle; agentd runnable but waiting for a CPU "
                f"{fmt_ms(a_wait)} per cycle; the registry's CPU per cycle: "
                f"{fmt_ms(a_reg)} for agentd's requests, {fmt_ms(c_reg)} for the cron "
                f"alternative's; docker-compose created the cron project's {size} containers "
                f"in {fmt_s(create)}.")
        self.add("", "Spread:", "", *notes, "")
        worst_req = max(max(column(self.r, f"noop_{s}", "requests")) / s for s in sizes)
        self.target("no-op poll: at most 1 registry request per tracked image",
                    f"{worst_req:.2f} per image at most (sizes {', '.join(map(str, sizes))})",
                    worst_req <= 1)
        self.noop_verify()
        procs = [procs_per_cycle(self.r, f"spawns_{s}") for s in sizes]
        self.target("no-op poll: no process spawned", f"{max(procs):g} per cycle at most",
                    max(procs) == 0)
        ratios = {s: stat(self.r, f"cron_{s}", "cpu_s")["median"] /
                  max(stat(self.r, f"noop_{s}", "cpu_s")["median"], 1e-9) for s in sizes}
        self.target("no-op poll: at least 200x less CPU than the cron alternative",
                    ", ".join(f"{r:.0f}x ({s} images)" for s, r in ratios.items()),
                    min(ratios.values()) >= 200)

    def noop_verify(self):
        size = self.meta.get("verify_size")
        if size is None or f"noop_verify_{size}" not in self.r:
            return  # results from before image signatures were verified
        req = stat(self.r, f"noop_verify_{size}", "requests")
        cpu = stat(self.r, f"noop_verify_{size}", "cpu_s")
        plain = stat(self.r, f"noop_{size}", "cpu_s") if f"noop_{size}" in self.r else None
        first = self.r[f"verify_first_{size}"]["samples"][0]["signature_requests"]
        self.add(
            f"With image signatures required: a stack of {size} images with "
            "`verify: {cosign: {key: ...}}`, each image signed in cosign's layout "
            "(tests/tools/cosign-sign, openssl). Its first deployment read "
            f"{first:g} signature manifests (the `.sig` tags) and recorded one verify event per "
            f"image; then {req['n']} no-op cycles: {req['median']:g} registry requests per "
            f"cycle (min {req['min']:g}, max {req['max']:g}), agentd CPU "
            f"{fmt_stat(cpu, fmt_ms)} per cycle"
            + (f" (unsigned stack of the same size: {fmt_ms(plain['median'])})" if plain else "")
            + ". Signatures are checked when a release is new, not at every poll.", "")
        self.target("no-op poll with verify.cosign: at most 1 registry request per image",
                    f"{req['max'] / size:.2f} per image at most ({size} images)",
                    req["max"] <= size)

    def scale(self):
        m = self.meta["scale"]
        stacks, images = m["stacks"], m["images"]
        wall = stat(self.r, "scale", "wall_s")
        cpu = stat(self.r, "scale", "cpu_s")
        req = stat(self.r, "scale", "requests")
        trig = stat(self.r, "scale", "trigger_s")
        start = self.r["scale_startup"]["samples"][0]
        rss = self.r["scale_rss"]["samples"][0]
        idle = self.r["rss"]["samples"][0]
        spawns = self.r["scale_spawns"]["samples"][0]
        ticks = sum(column(self.r, "scale", "ticks_cpu_s")) / cpu["n"]
        reg = stat(self.r, "scale", "registry_cpu_s")
        wait = stat(self.r, "scale", "runqueue_s")
        reg_wait = stat(self.r, "scale", "registry_runqueue_s")
        self.add(
            f"## 2. Scale: {stacks} stacks of {images} images in one agentd", "",
            f"{stacks} stacks, each its own git repository (file://, one commit) and "
            f"{images} image repositories of its own in the registry ({stacks * images} in "
            "all, one image copied by cross-repository blob mounts). Creating a container per "
            "service takes far too long on this machine, and a no-op poll only lists "
            "containers (section 1), so no container runs: state.db is seeded with a "
            "succeeded deployment per stack of exactly the release the registry serves, and "
            "each stack's services cache with its services (bench/run checks afterwards that "
            "every stack still runs its seeded deployment, polled without error, and that "
            "agentd added nothing to any services cache). Every stack has `poll_interval: "
            "1h`, so only the triggered cycles run.", "",
            "- Start-up cycle: agentd polls every stack once when it starts (git mirrors are "
            "cloned then); from starting agentd to the last stack's poll recorded.",
            f"- Full poll cycle: one `POST /v1/stacks/NAME/sync` per stack ({stacks} requests "
            "on the API socket from one process, taking "
            f"{fmt_ms(trig['median'])} of the cycle to send), until every stack's last poll "
            "time in state.db is newer than the first trigger (read from state.db directly, so "
            "watching costs agentd nothing). agentd runs cycles on its worker pool"
            f"{workers_said(self.r['scale_startup'])}. CPU is agentd's threads' (schedstat), "
            "API handling included.", "",
            "| measure | value |", "|---|---:|",
            f"| start-up cycle, wall | {fmt_s(start['wall_s'])} (n=1) |",
            f"| start-up: agentd CPU from exec to the last poll (ticks) | "
            f"{fmt_ms(start['cpu_s'])} (n=1) |",
            f"| full poll cycle, wall | {fmt_stat(wall, fmt_ms)} |",
            f"| full poll cycle, agentd CPU | {fmt_stat(cpu, fmt_ms)} |",
            f"| per stack: CPU / wall share | {fmt_ms(cpu['median'] / stacks)} / "
            f"{fmt_ms(wall['median'] / stacks)} |",
            f"| tick cross-check (utime+stime+children) per cycle | {fmt_ms(ticks)} |",
            f"| agentd threads runnable but waiting for a CPU, summed | "
            f"{fmt_stat(wait, fmt_ms)} |",
            f"| registry (docker-registry on the same 2 cores) CPU per cycle | "
            f"{fmt_stat(reg, fmt_ms)} |",
            f"| registry threads waiting for a CPU, summed | {fmt_stat(reg_wait, fmt_ms)} |",
            f"| registry requests per cycle | {req['median']:g} (min {req['min']:g}, max "
            f"{req['max']:g}) for {stacks * images} images |",
            f"| processes spawned, Docker connects (one traced cycle) | "
            f"{spawns['execs'] + spawns['forks']}, {spawns['docker_connects']} |",
            f"| VmRSS after the cycles | {fmt_mib(rss['vmrss_kb'])} (RssAnon "
            f"{fmt_mib(rss['rssanon_kb'])}, RssFile {fmt_mib(rss['rssfile_kb'])}) |",
            private_row(rss),
            f"| VmHWM (peak RSS) | {fmt_mib(rss['vmhwm_kb'])} |",
            f"| threads | {rss['threads']} |",
            f"| idle, one stack (section 5) | VmRSS {fmt_mib(idle['vmrss_kb'])}, VmHWM "
            f"{fmt_mib(idle['vmhwm_kb'])} |", "",
            k_private_note, "",
            "Resident memory by mapping after the cycles (/proc/PID/smaps): " +
            smaps_line(self.r["scale_smaps"]), "")
        if "scale_scrape" in self.r:
            self.scrape(stacks)
        self.target(f"{stacks} stacks x {images} images: poll cycle within 2 s wall",
                    f"{fmt_ms(wall['median'])} (max {fmt_ms(wall['max'])})",
                    wall["median"] <= 2.0)
        self.target(f"{stacks} stacks x {images} images: RSS within 40 MB",
                    f"VmRSS {fmt_mib(rss['vmrss_kb'])}, peak {fmt_mib(rss['vmhwm_kb'])}",
                    rss["vmrss_kb"] <= 40 * 1024)
        self.target("idle RSS (one stack) at most 8 MB", f"{fmt_mib(idle['vmrss_kb'])}",
                    idle["vmrss_kb"] <= 8 * 1024)

    def scrape(self, stacks):
        wall = stat(self.r, "scale_scrape", "wall_s")
        cpu = stat(self.r, "scale_scrape", "cpu_s")
        size = stat(self.r, "scale_scrape", "bytes")
        series = stat(self.r, "scale_scrape", "series")
        self.add(
            f"### /metrics at {stacks} stacks", "",
            "The same agentd, after the cycles above, with `api.listen` on 127.0.0.1: "
            f"{wall['n']} scrapes of `/metrics` over one kept-alive connection, as Prometheus "
            "scrapes (one more before them is not counted). A scrape renders the counters and "
            "histograms kept in memory and reads each stack's current release and last poll "
            "from state.db. CPU is agentd's threads' (schedstat), the connection's thread "
            "included.", "",
            "| measure | value |", "|---|---:|",
            f"| scrape, wall | {fmt_stat(wall, fmt_ms)} |",
            f"| scrape, agentd CPU | {fmt_stat(cpu, fmt_ms)} |",
            f"| body | {size['median'] / 1024:.0f} KiB, {series['median']:g} series |",
            f"| at a 15 s scrape interval | {100 * cpu['median'] / 15:.3f}% of one core |", "")
        self.target(f"/metrics at {stacks} stacks: a scrape within 100 ms of agentd CPU",
                    f"{fmt_ms(cpu['median'])} (max {fmt_ms(cpu['max'])})",
                    cpu["median"] <= 0.1)

    def reaction(self):
        stable = self.meta["stable"]
        self.add("## 3. Reaction: from a push to the new release promoted", "")
        separate = self.r.get("reaction_meta")
        if separate:
            self.add(
                f"Sections 3 and 4 were measured on their own, {separate['date']}, with "
                f"`bench/run --reaction` ({separate['version']}; load average "
                f"{separate['loadavg']} before, {separate['loadavg_end']} after); the other "
                "sections come from the full run.", "")
        self.add(
            "A stack of two services: `web` (busybox httpd with a Docker healthcheck every "
            "second) and `worker`; the default bridge network; `health: {stable: "
            f"{stable}, timeout: 60s}}`. Each sample is one `agentctl sync STACK --wait` "
            "right after the push, until it returns the promoted deployment:", "",
            "- git push: a commit changes both services' environment, so both containers are "
            "recreated (same images);",
            "- image push: a new `web:latest` is pushed to the tag the compose file follows "
            "(same revision), so agentd resolves, pulls and recreates `web`.", "",
            "Baseline: the time the same containers need on their own. `docker-compose up -d` "
            "of the same change (the compose file with the same pinned images, another "
            "project name, starting from the previous release running), then the gate's "
            f"criteria (every container running, healthy where it has a healthcheck, no "
            f"restart, for {stable} without a break and at least 3 samples) checked every "
            "0.1 s by bench.py over the Engine API. Overhead = agentd's median minus the "
            "baseline's median. Phases come from the deployment's events (millisecond times in "
            "state.db; `agentctl show --json` rounds them to seconds): observe = from the sync "
            "to the deployment's start (git fetch, `compose config` of a new revision, "
            "registry); pull; apply (checkout, `compose up`); gate (to the promotion); rest "
            "= plan, promote and the reply.", "",
            "| push | agentd: sync to promoted | baseline: up -d + healthy + stable | "
            "overhead | ratio |", "|---|---:|---:|---:|---:|")
        phases = []
        for kind, label in (("git", "git push"), ("image", "image push")):
            agent = stat(self.r, f"reaction_{kind}", "wall_s")
            base = stat(self.r, f"baseline_{kind}", "wall_s")
            over = agent["median"] - base["median"]
            self.add(f"| {label} | {fmt_stat(agent, fmt_ms)} | {fmt_stat(base, fmt_ms)} | "
                     f"{fmt_ms(over)} | {agent['median'] / base['median']:.2f} |")
            self.target(f"reaction overhead within 0.5 s ({label})", fmt_ms(over), over <= 0.5)
            cells = [fmt_ms(stat(self.r, f"reaction_{kind}", k)["median"])
                     for k in ("observe_s", "pull_s", "apply_s", "gate_s", "rest_s")]
            b_up = stat(self.r, f"baseline_{kind}", "up_s")["median"]
            b_healthy = stat(self.r, f"baseline_{kind}", "healthy_s")["median"]
            phases.append(f"| {label} | " + " | ".join(cells) +
                          f" | {fmt_ms(b_up)} | {fmt_ms(b_healthy)} |")
        config = stat(self.r, "compose_config", "wall_s")
        self.add("", "Phases (medians):", "",
                 "| push | observe | pull | apply | gate | rest | baseline: up -d | baseline: "
                 "first good sample |", "|---|---:|---:|---:|---:|---:|---:|---:|", *phases, "",
                 "For reference, one `docker-compose config` of this stack (what observe runs "
                 f"once for a new revision): {fmt_stat(config, fmt_ms)}.", "")
        if "reaction_webhook" in self.r:
            self.webhook()

    def webhook(self):
        reply = stat(self.r, "reaction_webhook", "reply_s")
        start = stat(self.r, "reaction_webhook", "start_s")
        promoted = stat(self.r, "reaction_webhook", "promoted_s")
        self.add(
            "### Webhook: from the request to the deployment's start", "",
            "The same stack, with `api.listen` and `api.webhook_secret_file` and a "
            "`poll_interval` of 1h: each sample is a git push (a changed environment, as above) "
            "and then one GitHub push webhook signed with X-Hub-Signature-256, POSTed by "
            "bench.py to `/webhooks/github` over a new connection. Times are from the moment "
            "the request is sent: its answer (202, the stack's cycle queued), the deployment's "
            "start (its `started_at` in state.db: the cycle has fetched the pushed commit, run "
            "`compose config` and resolved the images, and begins to pull), and its promotion.",
            "", "| measure | from the webhook request |", "|---|---:|",
            f"| answer (202 triggered) | {fmt_stat(reply, fmt_ms)} |",
            f"| deployment started | {fmt_stat(start, fmt_ms)} |",
            f"| release promoted | {fmt_stat(promoted, fmt_ms)} |", "")
        self.target("a signed push webhook starts the deploy within 1 s",
                    f"{fmt_ms(start['median'])} (max {fmt_ms(start['max'])})",
                    start["max"] <= 1.0)

    def rollback(self):
        stable = self.meta["stable"]
        rb = stat(self.r, "rollback", "rollback_s")
        base = stat(self.r, "baseline_rollback", "wall_s")
        bad_gate = stat(self.r, "rollback", "bad_gate_s")
        down = stat(self.r, "rollback", "registry_down_before_decision_s")
        over = rb["median"] - base["median"]
        self.add(
            "## 4. Rollback without the registry", "",
            "The same stack; a new `web:latest` whose healthcheck fails is pushed and synced. "
            "bench.py stops the registry (SIGTERM, until its port refuses connections) as soon "
            "as the deployment's phase is `apply` (every image pulled) and checks that this was "
            "before the gate's failure decision. Measured from the failure decision (the "
            "deployment's `rollback` event) to the previous release restored and healthy "
            f"(its `restored and healthy` event: apply and a full gate, stable {stable}). The "
            "deployment must end `rolled_back`; with the registry down, that proves the "
            "rollback needs no registry access. Baseline: `docker-compose up -d` from the "
            "bad release's containers to the previous release's, plus the same criteria "
            "(section 3).", "",
            "| measure | value |", "|---|---:|",
            f"| failure decision to previous release healthy | {fmt_stat(rb, fmt_ms)} |",
            f"| baseline: up -d + healthy + stable | {fmt_stat(base, fmt_ms)} |",
            f"| beyond the containers' own time | {fmt_ms(over)} |",
            f"| the bad release's gate (to the failure decision) | "
            f"{fmt_stat(bad_gate, fmt_ms)} |",
            f"| registry down before the failure decision | {fmt_stat(down, fmt_ms)} |", "")
        self.target("rollback within 5 s beyond container start", fmt_ms(over), over <= 5.0)

    def idle_and_latency(self):
        rss = self.r["rss"]["samples"][0]
        status = stat(self.r, "status", "wall_s")
        history = stat(self.r, "history", "wall_s")
        baseline = stat(self.r, "baseline", "wall_s")
        m = self.meta
        self.add(
            "## 5. Idle memory and agentctl latency", "",
            f"agentd with one stack (1 image), after its first deployment and "
            f"{m['rss_cycles']} no-op cycles, with {m['deployments']:,} deployments recorded "
            "in state.db (inserted before agentd started, in the schema of "
            "agent/state/sqlite_migrations.cpp, no events):", "",
            "| measure | value |", "|---|---:|",
            f"| VmRSS | {fmt_mib(rss['vmrss_kb'])} ({rss['vmrss_kb']} kB) |",
            f"| of which RssAnon (heap, stacks) | {fmt_mib(rss['rssanon_kb'])} |",
            f"| of which RssFile (mapped binary and libraries) | {fmt_mib(rss['rssfile_kb'])} |",
            private_row(rss),
            f"| VmHWM (peak RSS) | {fmt_mib(rss['vmhwm_kb'])} |",
            f"| threads | {rss['threads']} |",
            f"| `agentctl status` | {fmt_stat(status, fmt_ms)} |",
            f"| `agentctl history STACK` (20 newest) | {fmt_stat(history, fmt_ms)} |",
            f"| the request alone: `GET /v1/status` from bench.py | "
            f"{fmt_stat(stat(self.r, 'status_api', 'wall_s'), fmt_ms)} |",
            f"| the request alone: `GET /v1/history?stack=STACK` | "
            f"{fmt_stat(stat(self.r, 'history_api', 'wall_s'), fmt_ms)} |",
            f"| baseline: `agentctl --version` (process start, no request) | "
            f"{fmt_stat(baseline, fmt_ms)} |", "",
            "agentctl latency is the wall time of the whole agentctl process (start, connect, "
            "request, render), as a user sees it; the request alone is timed from a process "
            "that is already running.", "", k_private_note, "",
            "Resident memory by mapping (/proc/PID/smaps): " + smaps_line(self.r["smaps"]), "")
        self.target(f"`agentctl status` within 20 ms at {m['deployments']:,} deployments",
                    fmt_ms(status["median"]), status["median"] <= 0.020)

    def soak(self):
        soak = self.r["soak"]
        f = soak["samples"][0]
        m = soak["meta"]
        faults = soak["faults"]
        registry = {k: v for k, v in faults.items()
                    if not k.startswith("release_") and k != "git_down"}
        releases = {k[len("release_"):]: v for k, v in faults.items() if k.startswith("release_")}

        def counts(d):
            return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda i: -i[1]))

        self.add(
            f"## 6. Soak: {f['cycles']:,} poll cycles with faults injected", "",
            f"`{m['command']}` ({m['date']}, {m['version']}; bench/soak.py, seed {f['seed']}; "
            f"the rounds took {f['soak_s'] / 60:.1f} min). One agentd with {f['stacks']} stacks "
            "sharing one git repository served by `git daemon` (git://), their images reached "
            "through tests/e2e/registry_proxy.py in front of the run's registry: `app` follows a "
            "branch and the digest of `web:latest`, `policy` picks `web`'s tag with "
            "`{semver: \"^1\"}`, `static` (web and worker) is never released. Each of the "
            f"{f['rounds']:,} rounds syncs every stack at once (`POST /v1/stacks/NAME/sync` with "
            "`wait`); before it, with a fixed seed, one registry fault may be set up in the "
            "proxy, the git daemon may go down for 1-8 rounds, and app or policy may get a real "
            "release (a commit, a new digest or a new tag; a quarter of them unhealthy, so "
            "rolled back). Between rounds agentd is idle, and its VmRSS, open file descriptors "
            "(/proc/PID/fd), threads and child processes are sampled; a thread also samples "
            f"them every 0.5 s throughout ({f['samples_busy']:,} samples, counted in max). "
            f"Warm-up: the first {f['warmup_rounds']} rounds; growth compares the last tenth "
            "of the idle samples with the tenth after warm-up (fds and threads: maxima; RSS: "
            "medians); the slope is a least-squares fit over the idle samples after warm-up. "
            "bench/soak.py fails the run when a bound below is exceeded.", "",
            "| agentd | first | last | max | after warm-up | growth after warm-up |",
            "|---|---:|---:|---:|---:|---:|",
            f"| VmRSS | {fmt_mib(f['rss_kb_first'])} | {fmt_mib(f['rss_kb_last'])} | "
            f"{fmt_mib(f['rss_kb_max'])} | {fmt_mib(f['rss_kb_warm'])} | "
            f"{f['rss_growth_kb']:+.0f} kB ({f['rss_slope_kb_per_1000']:+.0f} kB per 1000 "
            "cycles) |",
            soak_private_row(f),
            f"| open fds | {f['fds_first']} | {f['fds_last']} | {f['fds_max']} | "
            f"{f['fds_warm']} | {f['fds_growth']:+d} |",
            f"| threads | {f['threads_first']} | {f['threads_last']} | {f['threads_max']} | "
            f"{f['threads_warm']} | {f['threads_growth']:+d} |",
            f"| child processes | {f['children_first']} | {f['children_last']} | "
            f"{f['children_max']} | {f['children_warm']} | at idle at most "
            f"{f['children_idle_max']}, zombies {f['zombies_idle_max']} |", "",
            f"- Registry faults set up: {counts(registry)} (hang: no answer until agentd's "
            "request times out; stall: no answer for 1-3 s, then the connection closes; "
            "truncated: the answer cut off; blob_cut: layer downloads of a release cut off; "
            "garbage: a manifest without its digest, a manifest and a tag list that are not "
            "JSON). Requests the proxy faulted, by the status it answered (hang: held "
            "without an answer, stalls and hangs; cut: closed part way through): "
            f"{counts(soak['faulted_requests'])}.",
            f"- Git daemon taken down: {faults.get('git_down', 0)} times.",
            f"- Releases: {counts(releases)}; deployments recorded after the first "
            f"{f['deployments_first']}: {f['deployments_recorded']}, expected "
            f"{f['deployments_expected']} (one per release, plus {f['failed_retried']} whose pull "
            "failed, retried by the next poll); in state.db: " + counts(soak["by_status"]) + ".",
            f"- Sync outcomes: {counts(soak['outcomes'])}.", "",
            "| check | measured | bound | |", "|---|---|---|---|",
            *[f"| {c['name']} | {c['measured']} | {c['bound']} | {met(c['ok'])} |"
              for c in soak["checks"]], "")
        if soak.get("problems"):
            self.add("Problems found:", "", *[f"- {p}" for p in soak["problems"]], "")
        checks = {c["name"]: c for c in soak["checks"]}
        flat = [checks[n] for n in ("open fds at idle after warm-up",
                                    "threads at idle after warm-up") if n in checks]
        self.target(f"soak ({f['cycles']:,} cycles): open fds and threads flat",
                    f"fds {f['fds_growth']:+d}, threads {f['threads_growth']:+d} after warm-up",
                    all(c["ok"] for c in flat))
        rss = [c for n, c in checks.items() if n.startswith("RSS")]
        self.target(f"soak ({f['cycles']:,} cycles): RSS flat after warm-up",
                    f"{f['rss_growth_kb']:+.0f} kB, {f['rss_slope_kb_per_1000']:+.0f} kB per "
                    "1000 cycles", all(c["ok"] for c in rss))
        lost = [checks[n] for n in ("deployments recorded = expected",
                                    "PRAGMA integrity_check")]
        self.target(f"soak ({f['cycles']:,} cycles): no deployment lost or stuck",
                    f"{f['deployments_recorded']} of {f['deployments_expected']}, "
                    f"integrity_check {checks['PRAGMA integrity_check']['measured']}",
                    all(c["ok"] for c in lost))

    def measured_alone(self, section, flag, m):
        """Says so when section `section` came from `bench/run FLAG` (its own run)."""
        if flag in m["command"]:
            self.add(
                f"Section {section} was measured on its own, {m['date']}, with "
                f"`{m['command']}` ({m['version']}; load average {m['loadavg']} before, "
                f"{m['loadavg_end']} after); the other sections come from other runs.", "")

    def blue_green(self):
        m = self.r["blue_green_meta"]
        switch = {k: stat(self.r, "bg_switch", k)
                  for k in ("switch_s", "proxy_s", "beyond_proxy_s", "gate_s", "soak_s",
                            "duration_s")}
        back = {k: stat(self.r, "bg_rollback", k)
                for k in ("wall_s", "duration_s", "proxy_s", "beyond_proxy_s", "switch_s",
                          "before_switch_s", "after_switch_s")}

        def row(label, s):
            return f"| {label} | {fmt_ms(s['median'])} | {fmt_ms(s['max'])} | {s['n']} |"

        self.add("## 7. Blue-green switch and rollback", "")
        self.measured_alone(7, "--blue-green", m)
        self.add(
            "A stack whose one service `web` (busybox httpd with a Docker healthcheck every "
            "second) runs in slots (`strategy: blue_green`, `blue_green: {services: [web], "
            f"keep_old_for: {m['keep_old_for']}, drain: {m['drain']}, soak: {m['soak']}}}`, "
            f"`health: {{stable: {m['stable']}, timeout: 60s}}`) behind Debian's nginx "
            f"({m['nginx']}), which bench/run starts as a master of its own on a free "
            "127.0.0.1 port, with its own configuration, pid file and upstream file "
            "(`proxy.test` and `proxy.reload` are `nginx -c CONF -p DIR -t` and `-s reload`). "
            "Each release changes web's command (the text it serves at /version), so each "
            f"starts new containers. Samples: {m['reps']} promotions, each followed at once by "
            "`agentctl rollback`; after each, bench/run checks that nginx serves the release "
            "expected (its /version). Times come from the deployments' events (milliseconds "
            "in state.db).", "",
            "- Promotion: the release just committed starts in the idle slot, is gated there "
            "(its containers only), switched to and soaked through nginx. The `gate` event "
            "\"slot green passed its gate\" ends the gate. Traffic is on "
            "the new slot at the `switch` event \"traffic on slot green (the proxy reloaded in "
            "N ms)\". N, agentd's own measure of the proxy step, covers writing the upstream "
            "file, `nginx -t`, `nginx -s reload` and waiting until nginx's master has a new "
            "worker and none of its old ones accepts connections (read in /proc); the rest "
            "is agentd's (listing the slot's containers for their addresses, recording the "
            "events). The first promotion is triggered by `agentctl sync --wait`, the next "
            "ones by `agentctl resume` (a rollback pauses the stack; resume polls at once).",
            "- Rollback inside keep_old_for: `agentctl rollback STACK` right after the "
            "promotion. The idle slot still runs the previous release, so the rollback is "
            "a switch back: bench.py checks that its events say \"no container started\", "
            "that it has no apply, gate or soak event, and that no container of either "
            "slot was created or restarted. Measured: the command's wall time (process start "
            "to exit; it waits for the outcome), the rollback deployment's duration "
            "(`started_at` to `finished_at`), nginx's share from its `switch` event as above, "
            "and the duration beyond it.", "",
            "| measure | median | max | n |", "|---|---:|---:|---:|",
            row("promotion: gate passed to traffic on the new slot", switch["switch_s"]),
            row("of which the proxy step (upstream file, `nginx -t`, reload until it took)",
                switch["proxy_s"]),
            row("of which agentd's own (the difference)", switch["beyond_proxy_s"]),
            row(f"promotion: the slot's gate (stable {m['stable']})", switch["gate_s"]),
            row("promotion: traffic on the new slot to promoted (soak)", switch["soak_s"]),
            row("promotion: the deployment, start to finish", switch["duration_s"]),
            row("rollback: `agentctl rollback` wall time", back["wall_s"]),
            row("rollback: the deployment, start to finish", back["duration_s"]),
            row("of which the start to the switch's first event", back["before_switch_s"]),
            row("of which the switch (its first event to traffic on the slot)",
                back["switch_s"]),
            row("of which the proxy step (within the switch)", back["proxy_s"]),
            row("of which traffic on the slot to promoted", back["after_switch_s"]),
            row("rollback: the deployment beyond the proxy step", back["beyond_proxy_s"]),
            "", "Differences are taken per sample, then summarised. Event times and N are whole "
            "milliseconds, so a difference of a few milliseconds is at their resolution.", "")
        self.target("blue-green: gate passed to traffic switched within 1 s beyond nginx's "
                    "reload",
                    f"{fmt_ms(switch['beyond_proxy_s']['median'])} (max "
                    f"{fmt_ms(switch['beyond_proxy_s']['max'])}) beyond a reload of "
                    f"{fmt_ms(switch['proxy_s']['median'])}",
                    switch["beyond_proxy_s"]["max"] <= 1.0)
        self.target("blue-green rollback inside keep_old_for within 1 s beyond nginx's reload",
                    f"{fmt_ms(back['beyond_proxy_s']['median'])} (max "
                    f"{fmt_ms(back['beyond_proxy_s']['max'])}) beyond a reload of "
                    f"{fmt_ms(back['proxy_s']['median'])}",
                    back["beyond_proxy_s"]["max"] <= 1.0)

    def fleet(self):
        m = self.r["fleet_meta"]
        rollouts = sorted(self.r["fleet_rollout"]["samples"], key=lambda s: s["max_updating"])
        idle = self.r["fleet_idle"]
        quiet = idle["samples"][0]
        hosts = rollouts[0]["hosts"]
        self.add("## 8. Fleet: one release rolled out through etcd", "")
        self.measured_alone(8, "--fleet", m)
        self.add(
            f"bench/fleet.py runs {hosts} agentd on this machine (each its own state_dir, "
            "socket, `project_prefix` and `fleet.host`; one stack of one service, busybox "
            "httpd without a healthcheck, `health: {stable: 2s}`, `fleet.soak: 2s`) against "
            f"a 3-member etcd cluster ({m['etcd'] or 'Debian etcd'}) on loopback ports. For "
            "each N the hosts restart with `max_updating: N` (a group of their own) and one "
            "release (a new environment for the same image: each host recreates its "
            "container) is committed and `agentctl sync` sent to every host at once. From "
            "each host's deployment events: its turn, from \"holds a fleet slot\" to \"turn "
            "over\"; the rollout is the first turn's start to the last one's end. All hosts "
            "share this machine's two cores and one Docker engine, so turns that run at "
            "once slow each other down: the ideal rollout at N is the sum of the turns / N "
            "only on hosts of their own.", "",
            "| max_updating | rollout | sum of the hosts' turns | rollout / sum | ideal 1/N "
            "| mean turn | most turns at once |",
            "|---:|---:|---:|---:|---:|---:|---:|")
        for r in rollouts:
            self.add(f"| {r['max_updating']} | {fmt_s(r['rollout_s'])} | "
                     f"{fmt_s(r['own_sum_s'])} | {r['ratio']:.2f} | "
                     f"{1 / r['max_updating']:.2f} | {fmt_s(r['own_mean_s'])} | "
                     f"{r['most_at_once']} |")
        calls = ", ".join(f"`{k}` {v:.0f}" for k, v in sorted(idle["calls"].items())) or "none"
        self.add(
            "", f"Idle: every host up to date and polling every {idle['poll_interval_s']} s, "
            f"{quiet['seconds']:.0f} s long, agentd_fleet_etcd_requests_total of each host's "
            "/metrics before and after (the one long watch of each host is counted when "
            "it ends, so an unbroken watch counts 0):", "",
            "| measure | value |", "|---|---:|",
            f"| polls per host | {quiet['polls_per_host']:.1f} |",
            f"| etcd requests per host per poll, beyond the lease keep-alive | "
            f"{quiet['other_requests_per_host_per_poll']:.2f} |",
            f"| lease keep-alives per host per minute | "
            f"{quiet['keepalive_per_host_per_minute']:.1f} |",
            f"| requests by call, all hosts | {calls} |", "")
        self.target("fleet: no etcd request per idle poll beyond the lease keep-alive",
                    f"{quiet['other_requests_per_host_per_poll']:.2f} per host per poll",
                    quiet["other_requests_per_host_per_poll"] == 0)
        self.target(f"fleet: {hosts} hosts never more than max_updating turns at once",
                    ", ".join(f"N={r['max_updating']}: {r['most_at_once']}" for r in rollouts),
                    all(r["most_at_once"] <= r["max_updating"] for r in rollouts))

    def round_trips(self):
        m = self.r["rtt_meta"]
        rtts = m["rtts"]
        sizes = sorted({int(k.rsplit("_", 1)[1]) for k in self.r
                        if k.startswith(f"rtt{rtts[0]}_noop_")})
        self.add("## 9. Round-trip time: the no-op poll, the scale cycle and the reaction at 0, "
                 "20 and 80 ms",
                 "")
        self.measured_alone(9, "--latency", m)
        self.add(
            "Sections 1 and 2 talk to the registry and to git over loopback, where a request "
            "costs about a millisecond. Here every connection to the registry and to the git "
            "server (`git daemon`, git://) crosses bench/delay_proxy.py, which delivers each "
            "byte half a round trip late in each direction and a new connection's first byte "
            "one round trip late (the TCP handshake): a request answers after one round trip "
            "on a kept-alive connection, two on a new one. At 0 ms the git daemon and the "
            "registry are reached directly. Stacks are seeded as in section 1 (no "
            "containers); the cron alternative (`pull -q && up -d`, its containers running) "
            "reaches the registry through the same proxy (dockerd pulls from it). agentd "
            "resolves a stack's images concurrently (`max_concurrent_requests`, default 32 "
            "per registry); git connections and bytes sent to the git server are counted at "
            "its proxy. Medians; n: the no-op cycles and cron runs per row (bench/run "
            "--latency: 10, 10 and 5 no-op cycles, 3, 3 and 2 cron runs; 3 scale cycles).", "",
            "| RTT | images | agentd wall / poll | agentd CPU / poll | registry requests / poll "
            "| git connections / poll | bytes to git / poll | cron wall | cron requests |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for rtt in rtts:
            for size in sizes:
                noop = f"rtt{rtt}_noop_{size}"
                cron = f"rtt{rtt}_cron_{size}"
                if noop not in self.r:
                    continue
                n = len(self.r[noop]["samples"])
                git = "n/a" if rtt == 0 else f"{self.r[noop]['git_connections'] / n:.1f}"
                up = "n/a" if rtt == 0 else f"{self.r[noop]['git_bytes_up'] / n:.0f}"
                self.add(
                    f"| {rtt} ms | {size} | {fmt_ms(stat(self.r, noop, 'wall_s')['median'])} | "
                    f"{fmt_ms(stat(self.r, noop, 'cpu_s')['median'])} | "
                    f"{stat(self.r, noop, 'requests')['median']:.0f} | {git} | {up} | "
                    f"{fmt_ms(stat(self.r, cron, 'wall_s')['median'])} | "
                    f"{stat(self.r, cron, 'requests')['median']:.0f} |")
        self.h2_rows(rtts)
        scale_rows = [(r, layout) for r in rtts for layout in ("", "shared_")
                      if f"rtt{r}_{layout}scale" in self.r]
        stacks, images = m["scale"]["stacks"], m["scale"]["images"]
        workers = (workers_said(self.r[f"rtt{scale_rows[0][0]}_scale_startup"])
                   if scale_rows else "")
        self.add(
            "", f"Scale: {stacks} stacks of {images} images as in section 2, through the same "
            f"proxies{workers}. Every stack its own git repository, then the usual layout of a "
            "deploy repository, many stacks in one (a directory each). These cycles are "
            "triggered through the API, a sync per stack, and a sync takes only a check of the "
            "repository's refs that began after it arrived, so its polls share a check only "
            "when their syncs came before it began (git connections counted at the proxy):",
            "",
            "| RTT | stacks / repository | start-up cycle | full poll cycle | agentd CPU / "
            "cycle | registry requests / cycle | git connections / cycle |",
            "|---:|---:|---:|---:|---:|---:|---:|")
        for rtt, layout in scale_rows:
            name = f"rtt{rtt}_{layout}scale"
            start = self.r[f"{name}_startup"]["samples"][0]
            cycles = len(self.r[name]["samples"])
            git = ("n/a" if rtt == 0 or "git_connections" not in self.r[name]
                   else f"{self.r[name]['git_connections'] / cycles:.0f}")
            self.add(f"| {rtt} ms | {self.r[name].get('stacks_per_repository', 1)} | "
                     f"{fmt_s(start['wall_s'])} | "
                     f"{fmt_ms(stat(self.r, name, 'wall_s')['median'])} | "
                     f"{fmt_ms(stat(self.r, name, 'cpu_s')['median'])} | "
                     f"{stat(self.r, name, 'requests')['median']:.0f} | {git} |")
        self.rounds_rows(rtts)
        reaction_rows = [r for r in rtts if f"rtt{r}_reaction_git" in self.r]
        if reaction_rows:
            self.add(
                "", "Reaction as in section 3 (a web and worker stack deployed through the same "
                "proxies: observe, pull and the gate's wait; the git push changes both services' "
                "environment, the image push a new `web:latest`), medians of `agentctl sync "
                "--wait` to the promoted release:", "",
                "| RTT | git push | observe | image push | observe | pull |",
                "|---:|---:|---:|---:|---:|---:|")
            for rtt in reaction_rows:
                git, image = f"rtt{rtt}_reaction_git", f"rtt{rtt}_reaction_image"
                self.add(f"| {rtt} ms | {fmt_stat(stat(self.r, git, 'wall_s'), fmt_ms)} | "
                         f"{fmt_ms(stat(self.r, git, 'observe_s')['median'])} | "
                         f"{fmt_stat(stat(self.r, image, 'wall_s'), fmt_ms)} | "
                         f"{fmt_ms(stat(self.r, image, 'observe_s')['median'])} | "
                         f"{fmt_ms(stat(self.r, image, 'pull_s')['median'])} |")
        self.add("")
        if 20 in rtts and f"rtt20_noop_{sizes[-1]}" in self.r and sizes[-1] == 100:
            wall = stat(self.r, "rtt20_noop_100", "wall_s")["median"]
            self.target("rtt 20 ms: a 100-image no-op poll within 100 ms", fmt_ms(wall),
                        wall <= 0.1)
        if "rtt20_h2_32_noop_100" in self.r:
            wall = stat(self.r, "rtt20_h2_32_noop_100", "wall_s")["median"]
            self.target("rtt 20 ms, TLS and HTTP/2 as ghcr.io serves: a 100-image no-op poll "
                        "within 100 ms", fmt_ms(wall), wall <= 0.1)
        if 20 in rtts and "rtt20_scale" in self.r and stacks == 200:
            wall = stat(self.r, "rtt20_scale", "wall_s")["median"]
            self.target("rtt 20 ms: the 200 x 5 cycle within 2 s", fmt_s(wall), wall <= 2.0)
        if 20 in rtts and "rtt20_shared_scale" in self.r and stacks == 200:
            name = "rtt20_shared_scale"
            wall = stat(self.r, name, "wall_s")["median"]
            self.target(f"rtt 20 ms: the 200 x 5 cycle within 2 s, "
                        f"{self.r[name]['stacks_per_repository']} stacks a repository",
                        fmt_s(wall), wall <= 2.0)
        if 0 in rtts and 20 in rtts and f"rtt0_noop_{sizes[-1]}" in self.r:
            base = stat(self.r, f"rtt0_noop_{sizes[-1]}", "cpu_s")["median"]
            far = stat(self.r, f"rtt20_noop_{sizes[-1]}", "cpu_s")["median"]
            self.target(f"rtt 20 ms: CPU per {sizes[-1]}-image poll no higher than at 0 ms",
                        f"{fmt_ms(far)} against {fmt_ms(base)}", far <= base * 1.1)
        for rtt in rtts[1:]:
            noop = f"rtt{rtt}_noop_{sizes[0]}"
            if noop in self.r:
                n = len(self.r[noop]["samples"])
                per_poll = self.r[noop]["git_connections"] / n
                self.target(f"rtt {rtt} ms: one git round trip per repository per no-op poll",
                            f"{per_poll:.1f} connections, "
                            f"{self.r[noop]['git_bytes_up'] / n:.0f} bytes sent",
                            per_poll <= 1.0)

    def rounds_rows(self, rtts):
        """The scale stacks of the shared layout polled by the scheduler: git checks a round."""
        rows = [r for r in rtts if f"rtt{r}_shared_rounds" in self.r]
        if not rows:
            return
        first = self.r[f"rtt{rows[0]}_shared_rounds"]
        self.add(
            "", "The same stacks (the shared layout) polled by agentd's scheduler instead, "
            f"poll_interval {first.get('interval', 'short')}: the stacks that follow one "
            "repository at one interval poll in rounds (one due time, one jitter), and every "
            "poll of a round takes the answer of a check of the repository begun since the "
            "round's first poll was taken. Counted over whole rounds of every stack (polls: "
            "agentd_polls_total; a repository may fit one round more than another in the "
            "window, as each round draws its own jitter, so its polls / stacks per repository "
            "is the repository rounds counted; git connections at the proxy):", "",
            "| RTT | stacks / repository | polls | repository rounds | git connections | "
            "per repository round |",
            "|---:|---:|---:|---:|---:|---:|")
        for rtt in rows:
            sample = self.r[f"rtt{rtt}_shared_rounds"]["samples"][0]
            per_repo = sample["stacks"] // sample["repositories"]
            repo_rounds = sample["polls"] / per_repo
            self.add(f"| {rtt} ms | {per_repo} | {sample['polls']} | {repo_rounds:.0f} | "
                     f"{sample['git_connections']} | "
                     f"{sample['git_connections'] / repo_rounds:.2f} |")
        for rtt in rows:
            sample = self.r[f"rtt{rtt}_shared_rounds"]["samples"][0]
            repo_rounds = sample["polls"] / (sample["stacks"] // sample["repositories"])
            # One connection either way is the window's edge: a round whose check fell just
            # before or after it.
            self.target(f"rtt {rtt} ms: one git check per repository per scheduled round",
                        f"{sample['git_connections']} connections for {repo_rounds:.0f} "
                        f"repository rounds ({sample['polls']} polls)",
                        sample["git_connections"] <= repo_rounds + 1)

    def h2_rows(self, rtts):
        """The no-op poll with the registry behind TLS and HTTP/2, beside the clear-text row."""
        rows = sorted((rtt, int(k.split("_")[4]), int(k.split("_")[2])) for rtt in rtts
                      for k in self.r if re.fullmatch(rf"rtt{rtt}_h2_\d+_noop_\d+", k))
        if not rows:
            return
        self.add(
            "", "The no-op poll again with the registry behind TLS 1.3 and HTTP/2 (an nginx of "
            "the run's own in front of docker-registry, as ghcr.io serves; the delay proxy "
            "between agentd and nginx): libcurl multiplexes the requests in flight as streams "
            "of one connection, where over clear-text HTTP/1.1 each needs a connection of its "
            "own. At `max_concurrent_requests` 32 (the default) and 100:", "",
            "| RTT | images | in flight | agentd wall / poll | agentd CPU / poll | registry "
            "requests / poll | clear-text HTTP/1.1, 32 in flight: wall / CPU |",
            "|---:|---:|---:|---:|---:|---:|---:|")
        for rtt, size, in_flight in rows:
            h2 = f"rtt{rtt}_h2_{in_flight}_noop_{size}"
            plain = f"rtt{rtt}_noop_{size}"
            same = (f"{fmt_ms(stat(self.r, plain, 'wall_s')['median'])} / "
                    f"{fmt_ms(stat(self.r, plain, 'cpu_s')['median'])}"
                    if plain in self.r else "n/a")
            self.add(f"| {rtt} ms | {size} | {in_flight} | "
                     f"{fmt_ms(stat(self.r, h2, 'wall_s')['median'])} | "
                     f"{fmt_ms(stat(self.r, h2, 'cpu_s')['median'])} | "
                     f"{stat(self.r, h2, 'requests')['median']:.0f} | {same} |")

    def render(self):
        self.header()
        body_start = len(self.lines)
        self.noop()
        self.scale()
        self.reaction()
        self.rollback()
        self.idle_and_latency()
        if "soak" in self.r:
            self.soak()
        if "bg_switch" in self.r:
            self.blue_green()
        if "fleet_rollout" in self.r:
            self.fleet()
        if "rtt_meta" in self.r:
            self.round_trips()
        body = self.lines[body_start:]
        self.lines = self.lines[:body_start]
        note = ""
        if self.meta.get("tiny"):
            note = ("This is the tiny configuration (`bench/run --tiny`): too small and too "
                    "few samples to judge the targets.")
        self.add("## Targets", "", *([note, ""] if note else []),
                 "| target (issues 5, 9, 11, 13, 14 and 15) | measured | |", "|---|---|---|",
                 *self.targets, "")
        self.add(*body)
        self.add("## Findings", "", self.findings.strip(), "")
        self.add(
            "## Not measured", "",
            "- dockerd's CPU on either side (a shared daemon here).",
            "- A remote registry over TLS: section 9 adds round trips with a proxy, but over "
            "plain HTTP/1.1 (docker-registry here), so neither TLS handshakes nor HTTP/2 "
            "multiplexing are measured.",
            "- Git repositories with long histories.", "")
        return "\n".join(self.lines)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    results_file, out, findings_file = sys.argv[1:]
    with open(results_file) as f:
        results = json.load(f)
    findings = "(none written yet)"
    if os.path.exists(findings_file):
        with open(findings_file) as f:
            findings = f.read()
    text = Report(dict(results), findings).render()
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
