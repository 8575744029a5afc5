"""A Python function's exception fails the task attempt like any failure: retried (no
duplicate), or, when the retries are spent, run() raises onceflow.Error with the engine's
one-line message and the Python traceback, having committed nothing past the last good batch."""

import sqlite3
import threading

import pytest

import ledger
import onceflow


@pytest.fixture
def booked(data_dir):
    log = onceflow.Log(data_dir)
    log.create_topic("transfers", partitions=3)
    rows = ledger.transfers(1500, accounts=30)
    ledger.produce(log, "transfers", rows)
    return rows


def test_raising_on_the_first_attempt_then_succeeding_leaves_no_duplicate(data_dir, booked,
                                                                         tmp_path, capfd):
    seen = set()
    lock = threading.Lock()

    def flaky(rows, ctx):
        with lock:
            first = ctx.idempotency_key not in seen
            seen.add(ctx.idempotency_key)
        if first:
            raise ValueError(f"first attempt of {ctx.idempotency_key}")
        return rows

    db = str(tmp_path / "bank.db")
    p = (ledger.pipeline("flaky", data_dir, db, max_records_per_partition=100,
                         max_task_failures=2, speculation=False)
         .map_batch(flaky))
    stats = p.run(until_caught_up=True)
    assert ledger.check(db, booked) == ""
    assert stats["task_failures"] == len(seen) > 0
    assert stats["batch_retries"] == 0
    err = capfd.readouterr().err
    assert "onceflow: map_batch flaky raised (the task attempt fails and is retried)" in err
    assert "Traceback (most recent call last)" in err and "ValueError: first attempt of" in err
    assert p.verify()["ok"]


def test_a_function_that_always_raises_stops_the_run_with_its_traceback(data_dir, booked,
                                                                       tmp_path):
    def broken(rows, ctx):
        out = []
        for r in rows:
            out.append(r["no_such_field"])
        return out

    db = str(tmp_path / "bank.db")
    p = (ledger.pipeline("broken", data_dir, db, max_task_failures=2, max_batch_failures=2)
         .map_batch(broken))
    with pytest.raises(onceflow.Error) as e:
        p.run(until_caught_up=True)
    msg = str(e.value)
    assert "\n" not in msg
    assert "map_batch broken (operator 1) failed: KeyError: 'no_such_field' (at " in msg
    assert "test_failures.py" in msg and "in broken" in msg
    assert "batch 0 failed" in msg and "nothing was committed past batch -1" in msg
    assert "Traceback (most recent call last)" in e.value.python_traceback
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM ledger").fetchone()[0] == 0
    con.close()
    # Fixed, the same pipeline resumes with the batch that failed: still exact.
    fixed = ledger.pipeline("broken", data_dir, db).map_batch(lambda rows, ctx: rows)
    fixed.run(until_caught_up=True)
    assert ledger.check(db, booked) == ""


def test_a_wrong_shape_is_an_error_naming_the_function(data_dir, booked, tmp_path):
    db = str(tmp_path / "bank.db")
    p = (ledger.pipeline("shape", data_dir, db, max_task_failures=1, max_batch_failures=1)
         .filter(lambda rows, ctx: [True]))
    with pytest.raises(onceflow.Error, match=r"filter \(operator 1\) failed: returned 1 flags for"):
        p.run(until_caught_up=True)
    p = (ledger.pipeline("shape2", data_dir, db, max_task_failures=1, max_batch_failures=1)
         .map_batch(lambda rows, ctx: None))
    with pytest.raises(onceflow.Error, match="must return a list, got NoneType"):
        p.run(until_caught_up=True)
