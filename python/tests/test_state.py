"""update_state in Python: keyed state as JSON-compatible values, committed exactly once after
the sink — exact through a crash between the sink and the state commit and at random kills."""

import os
import signal
import sqlite3
import subprocess
import sys

import pytest

import ledger
import onceflow

HANG_GUARD_S = 300
STATE_CHILD = os.path.join(os.path.dirname(__file__), "state_child.py")


def totals(db):
    con = sqlite3.connect(db)
    try:
        return {u: (t, n) for u, t, n in con.execute("SELECT user, total, n FROM totals")}
    finally:
        con.close()


def expected(booked):
    out = {}
    for t in booked:
        total, n = out.get(t["from"], (0, 0))
        out[t["from"]] = (total + t["amount"], n + 1)
    return out


@pytest.fixture
def booked(data_dir):
    log = onceflow.Log(data_dir)
    log.create_topic("transfers", partitions=3)
    rows = ledger.transfers(2000, accounts=25)
    ledger.produce(log, "transfers", rows)
    return rows


def test_running_totals_per_key_are_exact(data_dir, booked, tmp_path):
    import state_child
    db = str(tmp_path / "totals.db")
    stats = state_child.pipeline(data_dir, db).run(until_caught_up=True)
    assert totals(db) == expected(booked)
    assert stats["dead_letters"] == 0


def test_an_exception_dead_letters_the_keys_rows_and_keeps_its_state(data_dir, booked,
                                                                     tmp_path):
    db = str(tmp_path / "totals.db")

    def fn(key, state, rows, ctx):
        if key["from"] == 3:
            raise ValueError("account 3 is frozen")
        total = (state or 0) + sum(r["amount"] for r in rows)
        return total, [{"user": key["from"], "total": total, "n": 0}]

    p = (onceflow.Pipeline("frozen", data_dir=data_dir)
         .from_log("transfers").update_state("from", fn)
         .to_sqlite(db, table="totals", mode="upsert", key=["user"],
                    init=["CREATE TABLE IF NOT EXISTS totals(user INTEGER PRIMARY KEY, "
                          "total INTEGER, n INTEGER)"]))
    stats = p.run(until_caught_up=True)
    frozen = [t for t in booked if t["from"] == 3]
    assert stats["dead_letters"] == len(frozen) > 0
    got = totals(db)
    assert 3 not in got
    assert {u: t for u, (t, _) in got.items()} == {
        u: t for u, (t, _) in expected(booked).items() if u != 3}
    con = sqlite3.connect(db)
    errors = [e for (e,) in con.execute("SELECT error FROM onceflow_dead_letters")]
    con.close()
    assert all("ValueError: account 3 is frozen" in e for e in errors), errors[:1]


def test_keys_of_a_state_task_and_batch_come_in_one_call(data_dir, booked, tmp_path):
    # One hold of the GIL per (batch, state task): every key of it sees the same context object
    # (one conversion per call), and every key is called once per batch it has rows in.
    db = str(tmp_path / "totals.db")
    seen = []  # (ctx, key): the contexts kept alive, so that their ids are not reused

    def fn(key, state, rows, ctx):
        seen.append((ctx, key["from"]))
        total, n = state if state is not None else (0, 0)
        total += sum(r["amount"] for r in rows)
        n += len(rows)
        return [total, n], [{"user": key["from"], "total": total, "n": n}]

    p = (onceflow.Pipeline("one-call", data_dir=data_dir, state_tasks=2,
                           max_records_per_partition=200)
         .from_log("transfers").update_state("from", fn)
         .to_sqlite(db, table="totals", mode="upsert", key=["user"],
                    init=["CREATE TABLE IF NOT EXISTS totals(user INTEGER PRIMARY KEY, "
                          "total INTEGER, n INTEGER)"]))
    stats = p.run(until_caught_up=True)
    assert totals(db) == expected(booked)
    calls = {}
    for ctx, user in seen:
        calls.setdefault(id(ctx), (ctx.batch_id, []))[1].append(user)
    per_batch = {}
    for batch, users in calls.values():
        assert len(users) == len(set(users))  # a key once per call
        per_batch.setdefault(batch, []).extend(users)
    assert 0 < len(per_batch) <= stats["batches_committed"]
    # At most one call per state task and batch, and far fewer calls than keys.
    assert all(sum(1 for b, _ in calls.values() if b == batch) <= 2 for batch in per_batch)
    assert len(calls) < len(seen) / 5
    for users in per_batch.values():
        assert len(users) == len(set(users))  # a key in one state task only


@pytest.mark.parametrize("point", ["after_sink_commit", "mid_state_commit", "kill"])
def test_a_crash_between_sink_and_state_leaves_them_exact(data_dir, booked, tmp_path, point):
    db = str(tmp_path / "totals.db")
    env = dict(os.environ)
    if point != "kill":
        env["ONCEFLOW_FAULTS"] = f"{point}=crash#3"
    child = subprocess.Popen([sys.executable, STATE_CHILD, data_dir, db], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if point == "kill":
        try:
            child.wait(timeout=0.8)  # a random-ish moment; it may also finish first
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
        child.communicate(timeout=HANG_GUARD_S)
    else:
        _, err = child.communicate(timeout=HANG_GUARD_S)
        assert child.returncode == 86, err
    again = subprocess.run([sys.executable, STATE_CHILD, data_dir, db], capture_output=True,
                           text=True, timeout=HANG_GUARD_S)
    assert again.returncode == 0, again.stderr
    assert totals(db) == expected(booked)
