"""A Python update_state pipeline (running total and count per paying account into SQLite),
run until caught up; the state tests crash and restart it."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import onceflow  # noqa: E402


def running_total(key, state, rows, ctx):
    total, n = state if state is not None else (0, 0)
    total += sum(r["amount"] for r in rows)
    n += len(rows)
    return [total, n], [{"user": key["from"], "total": total, "n": n}]


def pipeline(data_dir, db):
    return (onceflow.Pipeline("totals", data_dir=data_dir, max_records_per_partition=100,
                              batch_interval_ms=1)
            .from_log("transfers")
            .update_state("from", running_total)
            .to_sqlite(db, table="totals", mode="upsert", key=["user"],
                       init=["CREATE TABLE IF NOT EXISTS totals(user INTEGER PRIMARY KEY, "
                             "total INTEGER, n INTEGER)"]))


if __name__ == "__main__":
    pipeline(sys.argv[1], sys.argv[2]).run(until_caught_up=True)
