"""update_state in Python before and after the per-batch keyed-state step, in one run (issue
17): the same running total per paying account, with the GIL taken once per key (the path
before: `update_state_per_key`, kept for this comparison) and once per state task and batch
(`update_state`), beside a ceiling, the built-in aggregate computing the same totals.

    build/python-venv/bin/python bench/python/state_bench.py [--transfers N] [--reps R]

Each repetition produces N transfers into a fresh data directory and runs the three pipelines
on them one after the other (in a rotating order), each to the end (until_caught_up) into its
own SQLite database, whose totals are checked exactly; the figures are medians over the
repetitions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))

import onceflow  # noqa: E402
from ledger_bench import transfers  # noqa: E402

INIT = ["CREATE TABLE IF NOT EXISTS totals(user INTEGER PRIMARY KEY, total INTEGER, n INTEGER)"]


def running_total(key, state, rows, ctx):
    total, n = state if state is not None else (0, 0)
    total += sum(r["amount"] for r in rows)
    n += len(rows)
    return [total, n], [{"user": key["from"], "total": total, "n": n}]


def pipeline(kind: str, data: str, db: str, state_tasks: int) -> onceflow.Pipeline:
    p = onceflow.Pipeline(kind, data_dir=data, state_tasks=state_tasks).from_log("transfers")
    if kind == "per_key":
        p._b().update_state_per_key(["from"], running_total, -1)
    elif kind == "batch":
        p.update_state("from", running_total)
    else:  # ceiling: the built-in aggregate, the same totals
        p.rename({"from": "user"}).aggregate("user", {"total": "sum(amount)", "n": "count"})
    return p.to_sqlite(db, table="totals", mode="upsert", key=["user"], init=INIT)


def expected(n: int):
    out = {}
    for t in transfers(n):
        total, k = out.get(t["from"], (0, 0))
        out[t["from"]] = (total + t["amount"], k + 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--transfers", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--state-tasks", type=int, default=4)
    args = ap.parse_args()
    kinds = ["ceiling", "per_key", "batch"]
    rates = {k: [] for k in kinds}
    shares = {k: [] for k in kinds}
    want = expected(args.transfers)
    print(f"load average at start: {os.getloadavg()}")
    for rep in range(args.reps):
        root = tempfile.mkdtemp(prefix="onceflow-statebench-")
        try:
            data = os.path.join(root, "data")
            log = onceflow.Log(data)
            log.create_topic("transfers", partitions=4)
            log.produce("transfers", list(transfers(args.transfers)))
            order = kinds[rep % 3:] + kinds[:rep % 3]
            for kind in order:
                db = os.path.join(root, kind + ".db")
                p = pipeline(kind, data, db, args.state_tasks)
                t0 = time.perf_counter()
                stats = p.run(until_caught_up=True)
                wall = time.perf_counter() - t0
                assert stats["records_in"] == args.transfers, stats
                con = sqlite3.connect(db)
                got = {u: (t, n) for u, t, n in con.execute("SELECT user, total, n FROM totals")}
                con.close()
                assert got == want, f"{kind}: totals differ"
                rates[kind].append(args.transfers / wall)
                shares[kind].append(stats["python_ms"] / 1000 / wall)
                print(f"rep {rep} {kind:8s} {args.transfers / wall:12,.0f} records/s "
                      f"({wall:.2f} s, python {stats['python_ms'] / 1000:.2f} s, "
                      f"{stats['batches_committed']} batches)", flush=True)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"load average at end: {os.getloadavg()}")
    print(f"medians over {args.reps} repetitions of {args.transfers:,} transfers "
          f"({args.state_tasks} state tasks):")
    for k in kinds:
        print(f"  {k:8s} {med[k]:12,.0f} records/s  ({med[k] / med['ceiling']:.2f} of the "
              f"ceiling; time in Python {statistics.median(shares[k]):.0%})")
    print(f"  batch / per_key = {med['batch'] / med['per_key']:.2f}")


if __name__ == "__main__":
    main()
