"""The ledger with a Python map_batch against the same pipeline with the equivalent TOML
transform, in one run (issue 17): records/s of each, their ratio (target >= 0.5), and the share
of the Python pipeline's time spent in Python; beside a ceiling, the ledger with no transform.

    build/python-venv/bin/python bench/python/ledger_bench.py [--transfers N] [--reps R]

Each repetition produces N transfers into a fresh data directory and runs the three pipelines
on them one after the other (in a rotating order), each to the end (until_caught_up) into its
own SQLite database; the figures are medians over the repetitions.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time

import onceflow

INIT = [
    "CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger(id INTEGER, src INTEGER, dst INTEGER, amount INTEGER)",
]
STATEMENTS = [
    "INSERT INTO accounts(id, balance) VALUES(:from, -:amount) "
    "ON CONFLICT(id) DO UPDATE SET balance = balance - :amount",
    "INSERT INTO accounts(id, balance) VALUES(:to, :amount) "
    "ON CONFLICT(id) DO UPDATE SET balance = balance + :amount",
    "INSERT INTO ledger(id, src, dst, amount) VALUES(:id, :from, :to, :amount)",
]


def transfers(n: int, accounts: int = 10000):
    rng = random.Random(1)
    for i in range(n):
        a = rng.randrange(accounts)
        # A tenth carry a note the pipelines drop; a twentieth have amount 0 (filtered out).
        row = {"id": i, "from": a, "to": (a + 1 + rng.randrange(accounts - 1)) % accounts,
               "amount": 0 if i % 20 == 0 else 1 + rng.randrange(1000)}
        if i % 10 == 0:
            row["note"] = "gift"
        yield row


def python_transform(rows, ctx):
    """The TOML transforms below, in Python: where amount > 0, select id, from, to, amount."""
    return [{"id": r["id"], "from": r["from"], "to": r["to"], "amount": r["amount"]}
            for r in rows if r["amount"] > 0]


def pipeline(kind: str, data: str, db: str) -> onceflow.Pipeline:
    p = onceflow.Pipeline(kind, data_dir=data).from_log("transfers")
    if kind == "toml":
        p.where("amount > 0").select("id", "from", "to", "amount")
    elif kind == "python":
        p.map_batch(python_transform)
    else:  # ceiling: every record booked as it is (the notes bind no parameter)
        pass
    return p.to_sqlite(db, mode="statements", init=INIT, statements=STATEMENTS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--transfers", type=int, default=400_000)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    kinds = ["ceiling", "toml", "python"]
    rates = {k: [] for k in kinds}
    shares = []
    print(f"load average at start: {os.getloadavg()}")
    for rep in range(args.reps):
        root = tempfile.mkdtemp(prefix="onceflow-pybench-")
        try:
            data = os.path.join(root, "data")
            log = onceflow.Log(data)
            log.create_topic("transfers", partitions=4)
            log.produce("transfers", list(transfers(args.transfers)))
            order = kinds[rep % 3:] + kinds[:rep % 3]
            for kind in order:
                p = pipeline(kind, data, os.path.join(root, kind + ".db"))
                t0 = time.perf_counter()
                stats = p.run(until_caught_up=True)
                wall = time.perf_counter() - t0
                assert stats["records_in"] == args.transfers, stats
                rates[kind].append(args.transfers / wall)
                if kind == "python":
                    shares.append(stats["python_ms"] / 1000 / wall)
                print(f"rep {rep} {kind:8s} {args.transfers / wall:12,.0f} records/s "
                      f"({wall:.2f} s{', python ' + format(stats['python_ms'] / 1000, '.2f') + ' s' if kind == 'python' else ''})",
                      flush=True)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"load average at end: {os.getloadavg()}")
    print(f"medians over {args.reps} repetitions of {args.transfers:,} transfers:")
    for k in kinds:
        print(f"  {k:8s} {med[k]:12,.0f} records/s")
    print(f"  python / toml = {med['python'] / med['toml']:.2f} (target >= 0.5); "
          f"toml / ceiling = {med['toml'] / med['ceiling']:.2f}; share of the python "
          f"pipeline's time in Python = {statistics.median(shares):.0%}")


if __name__ == "__main__":
    main()
