"""The ledger of examples/ledger.toml from Python: transfers produced to a topic, the pipeline
that books them into SQLite, and the exact check of what it booked."""

from __future__ import annotations

import random
import sqlite3
import subprocess
from collections import Counter, defaultdict
from typing import Callable, Dict, List, Optional

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


# PostgreSQL: in ON CONFLICT DO UPDATE a bare column is ambiguous with EXCLUDED's.
PG_STATEMENTS = [st.replace("SET balance = balance", "SET balance = accounts.balance")
                 for st in STATEMENTS]


def transfers(n: int, accounts: int, seed: int = 1, first_id: int = 0) -> List[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(first_id, first_id + n):
        a = rng.randrange(accounts)
        b = (a + 1 + rng.randrange(accounts - 1)) % accounts
        out.append({"id": i, "from": a, "to": b, "amount": 1 + rng.randrange(1000)})
    return out


def produce(log: onceflow.Log, topic: str, rows: List[dict]) -> None:
    """Keyed by the paying account, as the C++ tests' ProduceTransfers."""
    log.produce(topic, rows, keys=[str(r["from"]) for r in rows])


def pipeline(name: str, data_dir: str, db: str, **options) -> onceflow.Pipeline:
    """Into the SQLite file `db`, or into PostgreSQL when `db` is "postgres:CONNINFO"."""
    p = onceflow.Pipeline(name, data_dir=data_dir, **options).from_log("transfers")
    if db.startswith("postgres:"):
        return p.to_postgres(db[len("postgres:"):], mode="statements", init=INIT,
                             statements=PG_STATEMENTS)
    return p.to_sqlite(db, mode="statements", init=INIT, statements=STATEMENTS)


def psql(conninfo: str, sql: str) -> List[List[str]]:
    """Rows of `sql` run by psql on `conninfo`, as lists of strings."""
    out = subprocess.run(["psql", conninfo, "-XAt", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"psql: {out.stderr.strip()}")
    return [line.split("|") for line in out.stdout.splitlines() if line]


def check(db: str, booked: List[dict],
          amount: Optional[Callable[[dict], int]] = None) -> str:
    """'' if the ledger in `db` holds every transfer of `booked` exactly once and every
    balance is what they say (with `amount(t)` the amount booked for t); else what is wrong."""
    amount = amount or (lambda t: t["amount"])
    if db.startswith("postgres:"):
        conninfo = db[len("postgres:"):]
        rows = [tuple(map(int, r)) for r in psql(conninfo, "SELECT id, src, dst, amount FROM ledger")]
        balances = {int(a): int(b) for a, b in psql(conninfo, "SELECT id, balance FROM accounts")}
    else:
        con = sqlite3.connect(db)
        try:
            rows = con.execute("SELECT id, src, dst, amount FROM ledger").fetchall()
            balances = dict(con.execute("SELECT id, balance FROM accounts").fetchall())
        finally:
            con.close()
    ids = Counter(r[0] for r in rows)
    dup = [i for i, c in ids.items() if c > 1]
    if dup:
        return f"{len(dup)} transfers booked twice, e.g. id {dup[0]}"
    if len(rows) != len(booked):
        return f"{len(rows)} ledger rows for {len(booked)} transfers"
    expected: Dict[int, int] = defaultdict(int)
    for t in booked:
        expected[t["from"]] -= amount(t)
        expected[t["to"]] += amount(t)
    for account, balance in expected.items():
        if balances.get(account) != balance:
            return f"account {account}: balance {balances.get(account)}, expected {balance}"
    if sum(balances.values()) != 0:
        return f"total balance {sum(balances.values())}, expected 0"
    return ""
