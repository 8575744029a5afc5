"""bench/peers helpers: the bank workload, Kafka and PostgreSQL access, CPU accounting."""
import json
import os
import random
import subprocess
import sys
import time

import psycopg
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

PARTITIONS = 4
TICK = os.sysconf("SC_CLK_TCK")

LEDGER_DDL = [
    "CREATE TABLE IF NOT EXISTS accounts(id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger(id BIGINT, src BIGINT, dst BIGINT, amount BIGINT)",
]
# The seed's ledger (examples/ledger.toml) in PostgreSQL: per transfer a debit, a credit and a
# ledger row. Every system that writes PostgreSQL runs these three statements per record.
LEDGER_STATEMENTS = [
    "INSERT INTO accounts(id, balance) VALUES(:from, -:amount) "
    "ON CONFLICT(id) DO UPDATE SET balance = accounts.balance - :amount",
    "INSERT INTO accounts(id, balance) VALUES(:to, :amount) "
    "ON CONFLICT(id) DO UPDATE SET balance = accounts.balance + :amount",
    "INSERT INTO ledger(id, src, dst, amount) VALUES(:id, :from, :to, :amount)",
]


def die(msg):
    print("peers: " + msg, file=sys.stderr)
    sys.exit(1)


# ---- the workload ----

def transfers(first, count, accounts, seed):
    """Transfers first..first+count-1: (id, from, to, amount), from != to, amount 1..1000."""
    rnd = random.Random(seed * 1_000_003 + first)
    out = []
    for i in range(first, first + count):
        a = rnd.randrange(accounts)
        b = rnd.randrange(accounts - 1)
        if b >= a:
            b += 1
        out.append((i, a, b, rnd.randint(1, 1000)))
    return out


def transfer_json(t):
    return '{"id":%d,"from":%d,"to":%d,"amount":%d}' % t


def expected_balances(ts, into=None):
    bal = into if into is not None else {}
    for _, a, b, amount in ts:
        bal[a] = bal.get(a, 0) - amount
        bal[b] = bal.get(b, 0) + amount
    return bal


def produce_file(onceflow, bootstrap, topic, ts, path):
    """Writes the transfers keyed by payer and appends them with `onceflow produce --kafka`."""
    with open(path, "w") as f:
        for t in ts:
            f.write("%d\t%s\n" % (t[1], transfer_json(t)))
    with open(path) as f:
        subprocess.run([onceflow, "produce", "--kafka", bootstrap, topic, "-k", "\t"], stdin=f,
                       check=True, stderr=subprocess.DEVNULL)


def create_topic(onceflow, bootstrap, topic, partitions=PARTITIONS):
    subprocess.run([onceflow, "topics", "create", "--kafka", bootstrap, topic, "-p",
                    str(partitions)], check=True, stdout=subprocess.DEVNULL)


def produce_at_rate(bootstrap, topic, ts, rate):
    """Produces the transfers at `rate` records/s (keyed by payer, murmur2 as the JVM client);
    each record's timestamp is its creation time in ms, the start of its latency."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1, "enable.idempotence": True,
                  "partitioner": "murmur2_random"})
    t0 = time.time()
    for k, t in enumerate(ts):
        due = t0 + k / rate
        now = time.time()
        if due > now:
            time.sleep(due - now)
        p.produce(topic, key=str(t[1]), value=transfer_json(t),
                  timestamp=int(time.time() * 1000))
        p.poll(0)
    p.flush(60)


def input_times(bootstrap, topic):
    """id -> creation time (ms) of every record in `topic`."""
    out = {}
    for _, _, v, ts in read_topic(bootstrap, topic):
        out[json.loads(v)["id"]] = ts
    return out


# ---- Kafka ----

def consumer(bootstrap, group, **extra):
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
            "isolation.level": "read_committed", "auto.offset.reset": "earliest"}
    conf.update(extra)
    return Consumer(conf)


def read_topic(bootstrap, topic, partitions=PARTITIONS, idle_s=3.0):
    """Every committed record of `topic`: (partition, key, value, timestamp ms). Reads until each
    partition reached its last stable offset and nothing more came for `idle_s`."""
    c = consumer(bootstrap, "peers-read-%d" % time.monotonic_ns())
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out = []
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < idle_s:
        msgs = c.consume(num_messages=10000, timeout=0.2)
        for m in msgs:
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    die("read %s: %s" % (topic, m.error()))
                continue
            out.append((m.partition(), m.key(), m.value(), m.timestamp()[1]))
        if msgs:
            idle_since = time.monotonic()
    c.close()
    return out


# ---- PostgreSQL ----

def pg(conninfo):
    return psycopg.connect(conninfo, autocommit=True)


def pg_reset(conninfo, extra_tables=()):
    with pg(conninfo) as c:
        for t in ("accounts", "ledger") + tuple(extra_tables):
            c.execute("DROP TABLE IF EXISTS %s" % t)
        for ddl in LEDGER_DDL:
            c.execute(ddl)
        # Progress left by an earlier onceflow pipeline of the same name would be reused.
        c.execute("DROP TABLE IF EXISTS onceflow_progress")


def pg_count(conninfo, distinct=False):
    with pg(conninfo) as c:
        q = "SELECT count(DISTINCT id) FROM ledger" if distinct else "SELECT count(*) FROM ledger"
        return c.execute(q).fetchone()[0]


def pg_check(conninfo, n, expected):
    """Exactness of the PostgreSQL ledger: rows, distinct ids, accounts whose balance is wrong."""
    with pg(conninfo) as c:
        rows, distinct = c.execute("SELECT count(*), count(DISTINCT id) FROM ledger").fetchone()
        bal = dict(c.execute("SELECT id, balance FROM accounts").fetchall())
    wrong = sum(1 for k in set(bal) | set(expected) if bal.get(k, 0) != expected.get(k, 0))
    return {"rows": rows, "duplicates": rows - distinct, "missing": n - distinct,
            "wrong_balances": wrong, "exact": rows == n and distinct == n and wrong == 0}


def pg_commit_times(conninfo, first_id):
    """id -> commit time (ms) of the transaction that wrote its ledger row (needs
    track_commit_timestamp = on); the first commit if a row was written twice."""
    with pg(conninfo) as c:
        rows = c.execute(
            "SELECT id, min(extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000) "
            "FROM ledger WHERE id >= %s GROUP BY id", (first_id,)).fetchall()
    return {i: float(t) for i, t in rows}


# ---- CPU ----

def _stat(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): utime 14, stime 15, cutime 16, cstime 17, session 6.
    return {"ppid": int(fields[1]), "session": int(fields[3]),
            "cpu": int(fields[11]) + int(fields[12]),
            "children": int(fields[13]) + int(fields[14])}


def _pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


class SessionCpu:
    """CPU seconds of every process of one session (a system's process and its children, a
    JVM the Python driver starts included), sampled: the last value seen of each process."""

    def __init__(self):
        self.seen = {}

    def sample(self, sid):
        for pid in _pids():
            st = _stat(pid)
            if st is not None and st["session"] == sid:
                self.seen[pid] = st["cpu"]

    def seconds(self):
        return sum(self.seen.values()) / TICK


def tree_cpu(root_pid):
    """CPU seconds so far of a server: the root process, its reaped children (PostgreSQL's
    ended backends) and its live descendants."""
    st = _stat(root_pid)
    if st is None:
        return 0.0
    total = st["cpu"] + st["children"]
    kids = {}
    for pid in _pids():
        s = _stat(pid)
        if s is not None:
            kids.setdefault(s["ppid"], []).append((pid, s))
    stack = [root_pid]
    while stack:
        for pid, s in kids.get(stack.pop(), []):
            total += s["cpu"]
            stack.append(pid)
    return total / TICK


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])
