"""The replay check from Python: a batch re-run after a crash between its sink commit and its
commit record is compared with the committed output. A map_batch using random.random() is
reported (one stderr line per task, stats()["replay_mismatches"]); with on_replay_mismatch="fail"
the run stops with that line; a deterministic map_batch through the same crash reports
nothing. The ledger stays exact in every case."""

import json
import os
import subprocess
import sys

import pytest

import ledger
import onceflow

CHILD = os.path.join(os.path.dirname(__file__), "replay_child.py")
HANG_GUARD_S = 300  # a guard against a hang, never a measure of speed
CRASH_EXIT = 86     # a fault point's crash (util/fault_points.h)
REPORT = "output differs from the committed output: a non-deterministic transform or function?"


def run_child(data_dir, db, env):
    child = subprocess.run([sys.executable, CHILD, data_dir, db], capture_output=True, text=True,
                           env={**os.environ, **env}, timeout=HANG_GUARD_S)
    return child.returncode, child.stdout, child.stderr


@pytest.fixture
def booked(data_dir, tmp_path):
    log = onceflow.Log(data_dir)
    log.create_topic("transfers", partitions=4)
    rows = ledger.transfers(1200, accounts=30)
    ledger.produce(log, "transfers", rows)
    return rows, str(tmp_path / "bank.db")


def crash_in_batch_1(data_dir, db, noisy):
    # Batch 1 reaches the sink (its four tasks in one transaction), not the commit log.
    code, _, err = run_child(data_dir, db, {"ONCEFLOW_FAULTS": "after_sink_commit=crash#2",
                                            "ONCEFLOW_TEST_RANDOM": "1" if noisy else "0"})
    assert code == CRASH_EXIT, err


def test_a_random_map_batch_rerun_is_reported(data_dir, booked):
    rows, db = booked
    crash_in_batch_1(data_dir, db, noisy=True)
    code, out, err = run_child(data_dir, db, {"ONCEFLOW_TEST_RANDOM": "1"})
    assert code == 0, err
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["batches_replayed"] == 1
    assert stats["already_committed"] == 4
    assert stats["replay_mismatches"] == 4
    reports = sorted(line for line in err.splitlines() if REPORT in line)
    assert len(reports) == 4, err
    for task, line in enumerate(reports):
        assert f"pipeline 'pyreplay' batch 1 task {task}: {REPORT}" in line, line
    assert ledger.check(db, rows) == ""


def test_a_deterministic_map_batch_rerun_reports_nothing(data_dir, booked):
    rows, db = booked
    crash_in_batch_1(data_dir, db, noisy=False)
    code, out, err = run_child(data_dir, db, {"ONCEFLOW_TEST_RANDOM": "0"})
    assert code == 0, err
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["batches_replayed"] == 1
    assert stats["already_committed"] == 4
    assert stats["replay_mismatches"] == 0
    assert REPORT not in err
    assert ledger.check(db, rows) == ""


def test_fail_stops_the_run_with_the_report(data_dir, booked):
    rows, db = booked
    crash_in_batch_1(data_dir, db, noisy=True)
    code, out, err = run_child(data_dir, db, {"ONCEFLOW_TEST_RANDOM": "1",
                                              "ONCEFLOW_TEST_ON_MISMATCH": "fail"})
    assert code == 1, err
    first = out.splitlines()[0]
    assert first.startswith("error: ") and "pipeline 'pyreplay' batch 1 task 0: " + REPORT in first
    assert json.loads(out.strip().splitlines()[-1])["replay_mismatches"] == 4
    # The committed batch stays; with the check off the run goes on, exactly once.
    code, out, err = run_child(data_dir, db, {"ONCEFLOW_TEST_RANDOM": "1",
                                              "ONCEFLOW_TEST_ON_MISMATCH": "off"})
    assert code == 0, err
    assert REPORT not in err
    assert ledger.check(db, rows) == ""


def test_a_bad_on_replay_mismatch_is_refused(data_dir):
    with pytest.raises(onceflow.Error, match="on_replay_mismatch"):
        onceflow.Pipeline("p", data_dir=data_dir, on_replay_mismatch="maybe")
