"""bench/peers driver: runs each system on the bank workload and writes the figures as JSON.

Started by bench/peers/run.sh (which starts the broker and the server); see bench/peers/README.md.
Phases, in this order for each system: throughput (a pre-produced backlog of --records
transfers), kills (the same with 5 kill -9s at even points of the progress, then the exactness
check) and latency (--rate records/s for --latency-seconds on a fresh topic, the system already
running and warmed up).
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time

import peers_lib as L
from peers_systems import SYSTEMS, Run, env_for

HERE = os.path.dirname(os.path.abspath(__file__))


class Ctx:
    pass


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def server_cpu(ctx):
    return {"postgres": L.tree_cpu(ctx.pg_pid), "kafka": L.tree_cpu(ctx.kafka_pid)}


class Proc:
    """A system's process group: started, SIGKILLed and restarted, its CPU sampled."""

    def __init__(self, ctx, system, run, argv):
        self.ctx, self.system, self.run, self.argv = ctx, system, run, argv
        self.cpu = L.SessionCpu()
        self.p = None
        self.starts = 0

    def start(self):
        out = open(os.path.join(self.run.work, "out-%d.log" % self.starts), "w")
        self.p = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True,
                                  env=env_for(self.ctx, self.system), cwd=self.run.work)
        self.starts += 1

    def sample(self):
        self.cpu.sample(self.p.pid)

    def alive(self):
        """Reaps the process itself (wait4) when it has exited, so that its own CPU time is
        exact even after /proc no longer shows it."""
        if self.p.returncode is not None:
            return False
        self.sample()
        pid, status, ru = os.wait4(self.p.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.p.returncode = os.waitstatus_to_exitcode(status)
        self.cpu.seen[self.p.pid] = max(self.cpu.seen.get(self.p.pid, 0),
                                        (ru.ru_utime + ru.ru_stime) * L.TICK)
        return False

    def kill9(self):
        if self.alive():
            os.killpg(self.p.pid, signal.SIGKILL)
            while self.alive():
                time.sleep(0.01)
        _reap_group(self.p.pid)

    def stop(self):
        """SIGTERM (SIGKILL after 30 s). CPU time counts up to the call, not the shutdown."""
        if self.alive():
            os.killpg(self.p.pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while self.p.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.p.poll() is None:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        _reap_group(self.p.pid)


def _reap_group(sid):
    """Waits until no process of the session is left (a JVM child outlives its parent)."""
    for _ in range(300):
        left = [p for p in L._pids() if (L._stat(p) or {}).get("session") == sid]
        if not left:
            return
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


class Progress:
    """How much of the run's output is visible: ledger rows in PostgreSQL (distinct ids when
    `distinct`), or what the watcher counted in the output topic (and balances all right)."""

    def __init__(self, ctx, system, run, mode, expected_file=None):
        self.ctx, self.system, self.run = ctx, system, run
        self.watch = None
        self.status_file = os.path.join(run.work, "watch.json")
        if system.kind == "kafka":
            argv = [ctx.python, os.path.join(HERE, "peers_watch.py"), ctx.bootstrap,
                    self.status_file]
            if mode == "latency":
                argv += ["latency", run.out_topic]
            elif system.ledger:
                argv += ["ledger", run.out_topic, run.balances_topic, expected_file]
            else:
                argv += ["count", run.out_topic]
            self.watch = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
            while not os.path.exists(self.status_file):
                if self.watch.poll() is not None:
                    L.die("the output watcher exited")
                time.sleep(0.05)

    def status(self, distinct=False):
        if self.watch is None:
            return L.pg_count(self.ctx.conninfo, distinct), 0
        with open(self.status_file) as f:
            st = json.load(f)
        return st["records"], st["wrong"]

    def close(self):
        if self.watch is None:
            return {}
        self.watch.send_signal(signal.SIGTERM)
        self.watch.wait()
        with open(self.status_file) as f:
            return json.load(f)


def prepare(ctx, system, phase, in_topic):
    ctx.seq += 1
    tag = "peers-%s-%s-%d-%d" % (system.name, phase, os.getpid(), ctx.seq)
    run = Run(tag=tag, in_topic=in_topic, work=os.path.join(ctx.runs, tag))
    os.makedirs(run.work)
    if system.kind == "pg":
        L.pg_reset(ctx.conninfo, ("spark_batches", "onceflow_dead_letters"))
    else:
        run.out_topic = tag + "-out"
        L.create_topic(ctx.onceflow, ctx.bootstrap, run.out_topic)
        if system.ledger:
            run.balances_topic = tag + "-balances"
            L.create_topic(ctx.onceflow, ctx.bootstrap, run.balances_topic)
    return run


def check(ctx, system, run, n, expected):
    if system.kind == "pg":
        return L.pg_check(ctx.conninfo, n, expected)
    ids = {}
    for _, _, v, _ in L.read_topic(ctx.bootstrap, run.out_topic):
        i = json.loads(v)["id"]
        ids[i] = ids.get(i, 0) + 1
    res = {"rows": sum(ids.values()), "duplicates": sum(ids.values()) - len(ids),
           "missing": n - len(ids)}
    wrong = 0
    if system.ledger:
        bal = {}
        for _, k, v, _ in L.read_topic(ctx.bootstrap, run.balances_topic):
            bal[int.from_bytes(k, "big", signed=True)] = int.from_bytes(v, "big", signed=True)
        wrong = sum(1 for a in set(bal) | set(expected) if bal.get(a, 0) != expected.get(a, 0))
    res["wrong_balances"] = wrong
    res["exact"] = res["rows"] == n and res["missing"] == 0 and wrong == 0
    return res


def backlog_run(ctx, system, kills):
    """Throughput (kills == 0) or exactness after `kills` kill -9s on the pre-produced backlog."""
    n, expected = ctx.n, ctx.expected
    run = prepare(ctx, system, "kills" if kills else "throughput", ctx.backlog_topic)
    progress = Progress(ctx, system, run, "backlog", ctx.expected_file)
    until = system.name.startswith("onceflow") and not kills
    proc = Proc(ctx, system, run, system.command(ctx, run, until_caught_up=until))
    cpu0 = server_cpu(ctx)
    t0 = time.monotonic()
    proc.start()
    t_first, seen_first = None, 0
    seen_at_start = -1
    last_seen, last_change = -1, time.monotonic()
    rnd = random.Random(ctx.seq)
    kill_points = [n * (k + 1) // (kills + 1) for k in range(kills)]
    deadline = t0 + ctx.timeout
    poll = 0.1 if system.kind == "kafka" else 0.25
    done = False
    while time.monotonic() < deadline:
        time.sleep(poll)
        proc.sample()
        seen, wrong = progress.status(distinct=kills > 0)
        if seen > 0 and t_first is None:
            t_first, seen_first = time.monotonic(), seen
        if seen >= n and wrong == 0:
            done = True
            break
        if seen != last_seen:
            last_seen, last_change = seen, time.monotonic()
        elif (not system.exact and seen > 0 and not kill_points
              and time.monotonic() - last_change > ctx.stall):
            log("%s: no progress for %d s at %d of %d: stopped" % (system.name, ctx.stall, seen, n))
            break
        if not proc.alive():
            if until and proc.p.returncode == 0:
                continue  # caught up: wait until the last batch's rows are counted
            log("%s exited with %s (see %s)" % (system.name, proc.p.returncode, run.work))
            if kills == 0:
                break
            proc.start()
        # A kill lands at a random moment after its point, and only once the restarted
        # process made progress of its own (else a kill right after a restart tests nothing).
        if kill_points and seen >= kill_points[0] and seen > seen_at_start:
            kill_points.pop(0)
            time.sleep(rnd.uniform(0, 0.5))
            log("%s: kill -9 at %d of %d" % (system.name, seen, n))
            proc.kill9()
            proc.start()
            seen_at_start = progress.status(distinct=True)[0]
    t_done = time.monotonic()
    cpu1 = server_cpu(ctx)
    proc.stop()
    progress.close()
    res = {"done": done, "records": n, "wall_s": t_done - t0,
           "processing_s": (t_done - t_first) if t_first else None,
           "first_visible": seen_first,
           "cpu_s": proc.cpu.seconds(),
           "postgres_cpu_s": cpu1["postgres"] - cpu0["postgres"],
           "kafka_cpu_s": cpu1["kafka"] - cpu0["kafka"], "starts": proc.starts,
           "load_average": L.load_average()}
    res["wall_rps"] = n / res["wall_s"] if done else None
    # The rate after the first output became visible: start-up (and the first batch, whose
    # output appears at once) left out.
    res["processing_rps"] = ((n - seen_first) / res["processing_s"]
                             if done and res["processing_s"] and seen_first < n else None)
    res["check"] = check(ctx, system, run, n, expected)
    return res


def latency_run(ctx, system):
    """p50/p99 visibility latency at ctx.rate records/s on a fresh topic."""
    topic = "peers-lat-%s-%d-%d" % (system.name, os.getpid(), ctx.seq)
    L.create_topic(ctx.onceflow, ctx.bootstrap, topic)
    run = prepare(ctx, system, "latency", topic)
    progress = Progress(ctx, system, run, "latency")
    proc = Proc(ctx, system, run, system.command(ctx, run))
    proc.start()
    warm = 2000
    L.produce_at_rate(ctx.bootstrap, topic, L.transfers(0, warm, ctx.accounts, 7), ctx.rate)
    deadline = time.monotonic() + ctx.timeout
    while progress.status()[0] < warm:
        if time.monotonic() > deadline or not proc.alive():
            proc.stop()
            progress.close()
            return {"error": "not up within %d s" % ctx.timeout}
        time.sleep(0.2)
    m = int(ctx.rate * ctx.latency_seconds)
    L.produce_at_rate(ctx.bootstrap, topic, L.transfers(warm, m, ctx.accounts, 7), ctx.rate)
    deadline = time.monotonic() + ctx.latency_grace
    while progress.status()[0] < warm + m and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.stop()
    final = progress.close()
    born = L.input_times(ctx.bootstrap, topic)
    if system.kind == "pg":
        seen = L.pg_commit_times(ctx.conninfo, warm)
    else:
        seen = {int(k): v for k, v in final["seen"].items() if int(k) >= warm}
    lat = sorted(seen[i] - born[i] for i in seen if i in born)
    if not lat:
        return {"error": "nothing visible"}

    def pct(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))]
    return {"rate": ctx.rate, "records": m, "visible": len(lat), "p50_ms": pct(0.5),
            "p99_ms": pct(0.99), "max_ms": lat[-1], "load_average": L.load_average()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--conninfo", required=True)
    ap.add_argument("--kafka-pid", type=int, required=True)
    ap.add_argument("--pg-pid", type=int, required=True)
    ap.add_argument("--onceflow", required=True)
    ap.add_argument("--kstreams", required=True, help="the built bench/peers/kstreams directory")
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="in this order")
    ap.add_argument("--phases", default="throughput,kills,latency")
    ap.add_argument("--records", type=int, default=50000)
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--latency-seconds", type=float, default=10)
    ap.add_argument("--latency-grace", type=float, default=60)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--stall", type=float, default=120,
                    help="a run of a system without exactly-once (it may lose records) with no "
                    "visible progress this long after its last kill ends")
    ap.add_argument("--spark-version", default="4.2.0")
    ap.add_argument("--spark-max-offsets", type=int, default=20000)
    ap.add_argument("--alo-batch", type=int, default=5000)
    a = ap.parse_args()
    ctx = Ctx()
    for k, v in vars(a).items():
        setattr(ctx, k, v)
    ctx.python, ctx.seq, ctx.n = sys.executable, 0, a.records
    ctx.runs = os.path.join(a.work, "runs")
    os.makedirs(ctx.runs, exist_ok=True)
    results = {"records": a.records, "accounts": a.accounts, "systems": {}}
    if os.path.exists(a.out):
        with open(a.out) as f:
            results = json.load(f)
    phases = a.phases.split(",")
    if "throughput" in phases or "kills" in phases:
        ts = L.transfers(0, a.records, a.accounts, 1)
        ctx.expected = L.expected_balances(ts)
        ctx.expected_file = os.path.join(a.work, "expected.json")
        with open(ctx.expected_file, "w") as f:
            json.dump(ctx.expected, f)
        ctx.backlog_topic = "peers-transfers-%d" % os.getpid()
        L.create_topic(a.onceflow, a.bootstrap, ctx.backlog_topic)
        t = time.monotonic()
        L.produce_file(a.onceflow, a.bootstrap, ctx.backlog_topic, ts,
                       os.path.join(a.work, "transfers.txt"))
        log("produced %d transfers in %.1f s" % (a.records, time.monotonic() - t))
    # Phase by phase: every system's throughput first, then the kills, then the latency.
    for phase in phases:
        for name in a.systems.split(","):
            system = SYSTEMS[name]
            r = results["systems"].setdefault(name, {})
            log("%s: %s" % (name, phase))
            if phase == "throughput":
                r["throughput"] = backlog_run(ctx, system, 0)
            elif phase == "kills":
                r["kills"] = backlog_run(ctx, system, a.kills)
            elif phase == "latency":
                r["latency"] = latency_run(ctx, system)
            log("%s: %s: %s" % (name, phase, json.dumps(r[phase])))
            with open(a.out, "w") as f:
                json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
