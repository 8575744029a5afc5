"""The at-least-once consumer of bench/peers: what a user writes by hand without a framework.

  alo_consumer.py BOOTSTRAP TOPIC GROUP CONNINFO [BATCH [auto]]

Polls up to BATCH (5000) transfers, runs the ledger's three statements per transfer in one
PostgreSQL transaction (psycopg's executemany, which pipelines them), commits it, and only then
commits the Kafka offsets (synchronously). A crash between the two commits makes the batch run
again: duplicates, never loss. With `auto`, the client's defaults instead (enable.auto.commit:
offsets of polled records are committed every 5 s whether or not they reached PostgreSQL), as
a user who does not change them gets: duplicates and losses. Runs until SIGTERM or SIGKILL.
"""
import json
import os
import re
import signal
import sys

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers_lib  # noqa: E402

stop = False


def on_term(*_):
    global stop
    stop = True


def main():
    bootstrap, topic, group, conninfo = sys.argv[1:5]
    batch = int(sys.argv[5]) if len(sys.argv) > 5 else 5000
    auto = len(sys.argv) > 6 and sys.argv[6] == "auto"
    signal.signal(signal.SIGTERM, on_term)
    stmts = [re.sub(r":(\w+)", r"%(\1)s", s) for s in peers_lib.LEDGER_STATEMENTS]
    conn = psycopg.connect(conninfo)
    c = peers_lib.consumer(bootstrap, group, **{"isolation.level": "read_uncommitted",
                                                "enable.auto.commit": auto})
    c.subscribe([topic])
    while not stop:
        msgs = c.consume(num_messages=batch, timeout=0.1)
        rows = [json.loads(m.value()) for m in msgs if not m.error()]
        if not rows:
            continue
        with conn.transaction():
            with conn.cursor() as cur:
                for s in stmts:
                    cur.executemany(s, rows)
        if not auto:
            c.commit(asynchronous=False)
    c.close()


if __name__ == "__main__":
    main()
