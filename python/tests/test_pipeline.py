"""onceflow.Pipeline from Python: the ledger quick start with exact balances, Python batch
functions (map_batch, filter, flat_map_batch, foreach_batch) and their context, the TOML
validator's messages, status and verify."""

import os
import sqlite3
import threading

import pytest

import ledger
import onceflow


@pytest.fixture
def log(data_dir):
    log = onceflow.Log(data_dir)
    log.create_topic("transfers", partitions=4)
    return log


def test_quick_start_ledger_is_exact(data_dir, log, tmp_path):
    booked = ledger.transfers(3000, accounts=50)
    ledger.produce(log, "transfers", booked)
    db = str(tmp_path / "bank.db")
    p = ledger.pipeline("ledger", data_dir, db).options(max_records_per_partition=200)
    stats = p.run(until_caught_up=True)
    assert ledger.check(db, booked) == ""
    assert stats["records_in"] == 3000
    assert stats["rows_out"] == 3000
    assert stats["dead_letters"] == 0
    assert p.verify()["ok"], p.verify()["first_violation"]
    status = p.status()
    assert status["total_lag"] == 0 and status["refusal"] is None
    assert status["total_committed"] == 3000
    # More transfers later continue where it stopped, in a new Pipeline object.
    more = ledger.transfers(500, accounts=50, seed=2, first_id=3000)
    ledger.produce(log, "transfers", more)
    ledger.pipeline("ledger", data_dir, db).run(until_caught_up=True)
    assert ledger.check(db, booked + more) == ""


def test_additive_ledger_is_exact_and_refuses_what_toml_refuses(data_dir, log, tmp_path):
    booked = ledger.transfers(2000, accounts=30)
    ledger.produce(log, "transfers", booked)
    db = str(tmp_path / "bank.db")
    p = (onceflow.Pipeline("additive", data_dir=data_dir)
         .from_log("transfers")
         .options(max_records_per_partition=150)
         .to_sqlite(db, mode="additive", init=ledger.INIT,
                    add=[{"table": "accounts", "key": {"id": "from"},
                          "add": {"balance": "-amount"}},
                         {"table": "accounts", "key": {"id": "to"}, "add": {"balance": "amount"}}],
                    append={"table": "ledger",
                            "columns": {"id": "id", "src": "from", "dst": "to",
                                        "amount": "amount"}}))
    stats = p.run(until_caught_up=True)
    assert stats["records_in"] == 2000 and stats["dead_letters"] == 0
    assert ledger.check(db, booked) == ""
    assert p.verify()["ok"], p.verify()["first_violation"]
    with pytest.raises(onceflow.Error, match=r"sink.add\[1\].colour: unknown key"):
        onceflow.Pipeline("p").to_sqlite(db, mode="additive", add=[{"colour": "red"}])
    with pytest.raises(onceflow.Error, match=r"pipeline config: sink.add"):
        (onceflow.Pipeline("p", data_dir=data_dir).from_log("transfers")
         .to_sqlite(db, mode="additive").build())


def test_from_toml_runs_the_file(data_dir, log, tmp_path):
    booked = ledger.transfers(400, accounts=20)
    ledger.produce(log, "transfers", booked)
    toml = tmp_path / "ledger.toml"
    statements = ",\n  ".join('"%s"' % s for s in ledger.STATEMENTS)
    init = ", ".join('"%s"' % s for s in ledger.INIT)
    toml.write_text(f'name = "ledger"\n[source]\ntopic = "transfers"\n[sink]\npath = "bank.db"\n'
                    f'mode = "statements"\ninit = [{init}]\nstatements = [\n  {statements}]\n')
    p = onceflow.Pipeline.from_toml(toml, data_dir=data_dir)
    assert p.name == "ledger"
    p.run(until_caught_up=True)
    assert ledger.check(str(tmp_path / "bank.db"), booked) == ""
    with pytest.raises(onceflow.Error, match="built already"):
        p.select("id")


def test_map_batch_gets_whole_tasks_with_their_context(data_dir, log, tmp_path):
    booked = ledger.transfers(2000, accounts=40)
    ledger.produce(log, "transfers", booked)
    calls = []

    def double(rows, ctx):
        calls.append((ctx.task, ctx.batch_id, ctx.idempotency_key, len(rows), ctx.ranges,
                      ctx.batch_time_ms, ctx.seed, ctx.pipeline))
        return [dict(r, amount=r["amount"] * 2) for r in rows]

    db = str(tmp_path / "bank.db")
    p = (onceflow.Pipeline("doubled", data_dir=data_dir, max_records_per_partition=100)
         .from_log("transfers")
         .map_batch(double)
         .to_sqlite(db, mode="statements", init=ledger.INIT, statements=ledger.STATEMENTS))
    p.run(until_caught_up=True)
    assert ledger.check(db, booked, amount=lambda t: 2 * t["amount"]) == ""
    assert sum(c[3] for c in calls) == 2000  # every record once: one call per task
    keys = [c[2] for c in calls]
    assert len(set(keys)) == len(keys)
    for task, batch, key, n, ranges, batch_time, seed, name in calls:
        assert name == "doubled" and batch_time > 0 and seed != 0
        assert key.startswith(f"doubled.b{batch}.t{task}.")
        # A task is one partition's range: n rows from exactly that range.
        assert [r[2] - r[1] for r in ranges if r[0] == task] == [n]


def test_ctx_seed_in_a_row_reads_back_equal(data_dir, log, tmp_path):
    # The engine's seed is 64 bits; the context gives it as a signed 64-bit int, so a row holds
    # it as it is (half of the seeds would be above int64's range as unsigned: dead letters).
    ledger.produce(log, "transfers", ledger.transfers(400, accounts=20))
    given = {}

    def tag(rows, ctx):
        given[(ctx.batch_id, ctx.task)] = ctx.seed
        return [{"id": r["id"], "batch": ctx.batch_id, "task": ctx.task, "seed": ctx.seed}
                for r in rows]

    db = str(tmp_path / "seeds.db")
    p = (onceflow.Pipeline("seeded", data_dir=data_dir, max_records_per_partition=10)
         .from_log("transfers")
         .map_batch(tag)
         .to_sqlite(db, table="seeds", init=["CREATE TABLE IF NOT EXISTS seeds(id INTEGER, "
                                             "batch INTEGER, task INTEGER, seed INTEGER)"]))
    stats = p.run(until_caught_up=True)
    assert stats["dead_letters"] == 0
    con = sqlite3.connect(db)
    rows = con.execute("SELECT id, batch, task, seed FROM seeds").fetchall()
    con.close()
    assert sorted(r[0] for r in rows) == list(range(400))
    assert all(seed == given[(batch, task)] for _, batch, task, seed in rows)
    seeds = {batch: seed for (batch, _), seed in given.items()}
    # One seed per batch, the same for all its tasks, distinct across batches, and some of them
    # above int64's range as unsigned (the case that was a dead letter).
    assert all(given[(b, t)] == seeds[b] for b, t in given)
    assert len(set(seeds.values())) == len(seeds) > 10
    assert any(s < 0 for s in seeds.values()) and any(s > 0 for s in seeds.values())
    assert all(-2**63 <= s < 2**63 for s in seeds.values())


def test_filter_flat_map_and_builtins_compose(data_dir, log, tmp_path):
    booked = ledger.transfers(1000, accounts=30)
    ledger.produce(log, "transfers", booked)
    db = str(tmp_path / "bank.db")
    p = (onceflow.Pipeline("composed", data_dir=data_dir)
         .from_log("transfers")
         .where("amount > 100")
         .filter(lambda rows, ctx: [r["id"] % 3 != 0 for r in rows])
         .flat_map_batch(lambda rows, ctx: [[r, dict(r, copy=True)] for r in rows])
         .where("copy == null", on_missing="null")
         .filter(lambda rows, ctx: [r for r in rows if r["id"] % 5 != 0])  # rows, not flags
         .select("id", "from", "to", "amount")
         .to_sqlite(db, mode="statements", init=ledger.INIT, statements=ledger.STATEMENTS))
    stats = p.run(until_caught_up=True)
    kept = [t for t in booked if t["amount"] > 100 and t["id"] % 3 != 0 and t["id"] % 5 != 0]
    assert ledger.check(db, kept) == ""
    assert stats["dead_letters"] == 0


def test_unsupported_values_and_non_dict_rows_are_dead_letters(data_dir, log, tmp_path):
    booked = ledger.transfers(300, accounts=10)
    ledger.produce(log, "transfers", booked)

    def bad(rows, ctx):
        out = []
        for r in rows:
            if r["id"] % 10 == 1:
                r["tags"] = ["a", "b"]  # a list: no such value type
            elif r["id"] % 10 == 2:
                r = (r["id"], r["amount"])  # not a dict
            elif r["id"] % 10 == 3:
                r["amount"] = 2 ** 70
            out.append(r)
        return out

    db = str(tmp_path / "bank.db")
    p = (onceflow.Pipeline("bad", data_dir=data_dir)
         .from_log("transfers").map_batch(bad)
         .to_sqlite(db, mode="statements", init=ledger.INIT, statements=ledger.STATEMENTS))
    stats = p.run(until_caught_up=True)
    good = [t for t in booked if t["id"] % 10 not in (1, 2, 3)]
    assert ledger.check(db, good) == ""
    assert stats["dead_letters"] == 90
    con = sqlite3.connect(db)
    errors = [e for (e,) in con.execute("SELECT error FROM onceflow_dead_letters")]
    con.close()
    assert sum("map_batch bad: field 'tags': unsupported type list" in e for e in errors) == 30
    assert sum("map_batch bad: a row must be a dict, got tuple" in e for e in errors) == 30
    assert sum("field 'amount': int 1180591620717411303424 is out of the 64-bit range" in e
               for e in errors) == 30


def test_foreach_batch_writes_once_per_idempotency_key(data_dir, log, tmp_path):
    """The README's example: the key and the effect in one transaction of the other system."""
    booked = ledger.transfers(800, accounts=20)
    ledger.produce(log, "transfers", booked)
    ext = str(tmp_path / "external.db")
    con = sqlite3.connect(ext)
    con.execute("CREATE TABLE exported(key TEXT PRIMARY KEY)")
    con.execute("CREATE TABLE totals(amount INTEGER)")
    con.execute("INSERT INTO totals VALUES(0)")
    con.commit()
    con.close()
    attempts = []

    def export(rows, ctx):
        attempts.append(ctx.idempotency_key)
        assert ctx.task == -1 and ctx.idempotency_key.startswith(f"export.b{ctx.batch_id}.all.")
        db = sqlite3.connect(ext)
        with db:
            new = db.execute("INSERT INTO exported(key) VALUES (?) ON CONFLICT DO NOTHING",
                             (ctx.idempotency_key,)).rowcount == 1
            if new:
                db.execute("UPDATE totals SET amount = amount + ?",
                           (sum(r["amount"] for r in rows),))
        db.close()
        if len(attempts) == 2:
            raise RuntimeError("the export's answer was lost")  # the batch is retried

    p = (onceflow.Pipeline("export", data_dir=data_dir, max_records_per_partition=50,
                           max_batch_failures=3)
         .from_log("transfers").foreach_batch(export))
    stats = p.run(until_caught_up=True)
    assert stats["batch_retries"] == 1
    assert attempts[1] == attempts[2]  # the retry has the same key
    con = sqlite3.connect(ext)
    n = con.execute("SELECT count(*) FROM exported").fetchone()[0]
    total = con.execute("SELECT amount FROM totals").fetchone()[0]
    con.close()
    assert n == stats["batches_committed"] == len(set(attempts))
    assert total == sum(t["amount"] for t in booked)


def test_config_errors_are_the_toml_validators(data_dir):
    with pytest.raises(onceflow.Error, match="pipeline config: name: must be letters, digits"):
        onceflow.Pipeline("../x", data_dir=data_dir).from_log("t").to_sqlite("x.db", table="t") \
            .build()
    with pytest.raises(onceflow.Error,
                       match="pipeline config: sink.mode: expected one of append, upsert, "
                             "statements, additive, got 'upsrt'"):
        onceflow.Pipeline("p").to_sqlite("x.db", mode="upsrt")
    with pytest.raises(onceflow.Error, match="a pipeline needs a sink or a foreach_batch"):
        onceflow.Pipeline("p", data_dir=data_dir).from_log("t").build()
    with pytest.raises(onceflow.Error, match="pipeline config: transform\\[0\\].on_missing"):
        onceflow.Pipeline("p").select("a", on_missing="maybe")


def test_stop_from_another_thread_ends_run_after_a_batch(data_dir, log, tmp_path):
    ledger.produce(log, "transfers", ledger.transfers(200, accounts=10))
    db = str(tmp_path / "bank.db")
    p = ledger.pipeline("forever", data_dir, db)
    started = threading.Event()
    p.map_batch(lambda rows, ctx: (started.set(), rows)[1])
    t = threading.Thread(target=lambda: p.run())  # no until_caught_up: runs until stopped
    t.start()
    assert started.wait(300)
    p.stop()
    t.join(300)
    assert not t.is_alive()
    assert p.verify()["ok"]
