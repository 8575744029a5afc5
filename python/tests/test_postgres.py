"""The crash tests' Python ledger (map_batch) into PostgreSQL: SIGKILLed at random moments and
crashed at armed fault points, restarted, exact. Needs ONCEFLOW_TEST_POSTGRES (a conninfo;
scripts/services/postgres.sh start DIR prints one); skipped without it unless
ONCEFLOW_REQUIRE_SERVICES=1 (make test), which makes its absence a failure."""

import os
import random
import signal
import subprocess
import sys
import uuid

import pytest

import ledger
import onceflow
from crash_child import fee

CHILD = os.path.join(os.path.dirname(__file__), "crash_child.py")
HANG_GUARD_S = 300


@pytest.fixture
def pg():
    conninfo = os.environ.get("ONCEFLOW_TEST_POSTGRES", "")
    if not conninfo:
        if os.environ.get("ONCEFLOW_REQUIRE_SERVICES") == "1":
            pytest.fail("ONCEFLOW_TEST_POSTGRES is not set (ONCEFLOW_REQUIRE_SERVICES=1)")
        pytest.skip("ONCEFLOW_TEST_POSTGRES is not set")
    schema = "py_" + uuid.uuid4().hex[:12]
    ledger.psql(conninfo, f"CREATE SCHEMA {schema}")
    yield "postgres:" + conninfo + f" options='-csearch_path={schema}'"
    ledger.psql(conninfo, f"DROP SCHEMA {schema} CASCADE")


def run_child(data_dir, db, env=None, kill_after=None):
    child = subprocess.Popen([sys.executable, CHILD, data_dir, db], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env={**os.environ, **(env or {})})
    if kill_after is not None:
        try:
            child.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
    _, err = child.communicate(timeout=HANG_GUARD_S)
    return child.returncode, err


def test_python_ledger_into_postgres_survives_kills_and_fault_points(data_dir, pg):
    log = onceflow.Log(data_dir)
    log.create_topic("transfers", partitions=4)
    rng = random.Random(7)
    booked = []
    for point in ["mid_sink_write", "after_sink_commit", "before_commit_log", None, None, None]:
        more = ledger.transfers(800, accounts=30, seed=len(booked), first_id=len(booked))
        ledger.produce(log, "transfers", more)
        booked += more
        if point is None:
            code, err = run_child(data_dir, pg, kill_after=rng.uniform(0.3, 1.5))
            assert code in (0, -signal.SIGKILL), err
        else:
            code, err = run_child(data_dir, pg, {"ONCEFLOW_FAULTS": f"{point}=crash#2"})
            assert code == 86, f"{point}: {err}"
    code, err = run_child(data_dir, pg)
    assert code == 0, err
    assert ledger.check(pg, booked, amount=fee) == ""
    p = ledger.pipeline("pyledger", data_dir, pg)
    assert p.verify()["ok"], p.verify()["first_violation"]
