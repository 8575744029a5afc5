"""Exactly once with Python code under crashes: the ledger with a Python map_batch and a SQLite
sink, run as a child process, SIGKILLed at random moments, crashed at every armed fault point of
the commit protocol and inside the Python function, restarted: the ledger is exact. Ctrl-C
stops a running pipeline after its batch."""

import os
import random
import selectors
import signal
import subprocess
import sys

import pytest

import ledger
import onceflow
from crash_child import fee

CHILD = os.path.join(os.path.dirname(__file__), "crash_child.py")
HANG_GUARD_S = 300  # a guard against a hang, never a measure of speed
CRASH_EXIT = 86     # a fault point's crash (util/fault_points.h)


def start(data_dir, db, env=None, *args):
    return subprocess.Popen([sys.executable, CHILD, data_dir, db, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def finish(child):
    out, err = child.communicate(timeout=HANG_GUARD_S)
    return child.returncode, out, err


@pytest.fixture
def setup(data_dir, tmp_path):
    log = onceflow.Log(data_dir)
    log.create_topic("transfers", partitions=4)
    return log, str(tmp_path / "bank.db")


def test_sigkill_at_random_moments(data_dir, setup):
    log, db = setup
    seed = int(os.environ.get("ONCEFLOW_TEST_SEED", "1"))
    rng = random.Random(seed)
    booked = ledger.transfers(4000, accounts=40, seed=seed)
    ledger.produce(log, "transfers", booked)
    kills = finished = 0
    while kills < 6 and kills + finished < 40:
        # Small batches: a run is many batches long, and the kill lands at a random point of it.
        child = start(data_dir, db, {"ONCEFLOW_TEST_BATCH": "20"})
        sel = selectors.DefaultSelector()
        sel.register(child.stdout, selectors.EVENT_READ)
        assert sel.select(timeout=HANG_GUARD_S), "the child never ran a batch"
        sel.close()
        try:
            child.wait(timeout=rng.uniform(0, 0.5))  # a random moment of the run
            code, out, err = finish(child)
            assert code == 0, err
            finished += 1
            more = ledger.transfers(2000, accounts=40, seed=seed + len(booked),
                                    first_id=len(booked))
            ledger.produce(log, "transfers", more)
            booked += more
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=HANG_GUARD_S)
            kills += 1
    assert kills == 6, f"seed {seed}: only {kills} kills landed in {kills + finished} runs"
    code, out, err = finish(start(data_dir, db))
    assert code == 0, err
    assert ledger.check(db, booked, amount=fee) == "", f"seed {seed}"
    p = ledger.pipeline("pyledger", data_dir, db)
    assert p.verify()["ok"], p.verify()["first_violation"]


@pytest.mark.parametrize("point", ["after_intent", "task", "mid_sink_write",
                                   "before_sink_commit", "after_sink_commit",
                                   "after_state_commit", "before_commit_log", "after_commit_log",
                                   "python_function"])
def test_crash_at_a_fault_point_then_restart_is_exact(data_dir, setup, point):
    log, db = setup
    booked = ledger.transfers(1200, accounts=30)
    ledger.produce(log, "transfers", booked)
    if point == "python_function":
        env = {"ONCEFLOW_TEST_EXIT_IN_FN": "3"}
        expected_exit = 87
    else:
        env = {"ONCEFLOW_FAULTS": f"{point}=crash#2"}
        expected_exit = CRASH_EXIT
    code, out, err = finish(start(data_dir, db, env))
    assert code == expected_exit, f"{point}: exit {code}: {err}"
    code, out, err = finish(start(data_dir, db))
    assert code == 0, err
    assert ledger.check(db, booked, amount=fee) == "", point
    assert ledger.pipeline("pyledger", data_dir, db).verify()["ok"]


def test_ctrl_c_stops_after_the_current_batch(data_dir, setup):
    log, db = setup
    booked = ledger.transfers(500, accounts=10)
    ledger.produce(log, "transfers", booked)
    child = start(data_dir, db, None, "--forever")
    sel = selectors.DefaultSelector()
    sel.register(child.stdout, selectors.EVENT_READ)
    assert sel.select(timeout=HANG_GUARD_S), "the child never ran a batch"
    assert child.stdout.readline().strip() == "running"
    child.send_signal(signal.SIGINT)
    code, out, err = finish(child)
    assert code == 0, err
    assert out.startswith("interrupted"), out
    p = ledger.pipeline("pyledger", data_dir, db).map_batch(
        lambda rows, ctx: [dict(r, amount=fee(r)) for r in rows])
    assert p.verify()["ok"]
    p.run(until_caught_up=True)  # the rest, exactly once
    assert ledger.check(db, booked, amount=fee) == ""
