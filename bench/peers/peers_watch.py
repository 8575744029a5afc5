"""Watches a Kafka system's output as a read_committed consumer would see it.

  peers_watch.py BOOTSTRAP STATUS_FILE count TOPIC
      counts the records of TOPIC
  peers_watch.py BOOTSTRAP STATUS_FILE ledger LEDGER_TOPIC BALANCES_TOPIC EXPECTED_JSON
      also keeps the last balance of each account (8-byte big-endian key and value) and
      counts the accounts whose balance differs from EXPECTED_JSON ({account: balance})
  peers_watch.py BOOTSTRAP STATUS_FILE latency TOPIC
      also records when each id (the JSON value's "id") was first seen, in ms

Rewrites STATUS_FILE (JSON) every 100 ms: {"records": N, "wrong": W, "ready": bool}; on
SIGTERM writes a last status and, in latency mode, "seen": {id: ms}. Starts at the topics'
beginning; "ready" turns true once it is assigned and fetching.
"""
import json
import os
import signal
import struct
import sys
import time

from confluent_kafka import KafkaError, TopicPartition

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers_lib  # noqa: E402

stop = False


def on_term(*_):
    global stop
    stop = True


def main():
    bootstrap, status_file, mode = sys.argv[1:4]
    topics = [sys.argv[4]]
    expected = {}
    if mode == "ledger":
        topics.append(sys.argv[5])
        with open(sys.argv[6]) as f:
            expected = {int(k): v for k, v in json.load(f).items()}
    signal.signal(signal.SIGTERM, on_term)
    c = peers_lib.consumer(bootstrap, "peers-watch-%d" % os.getpid())
    c.assign([TopicPartition(t, p, 0) for t in topics for p in range(peers_lib.PARTITIONS)])
    records = 0
    balances = {}
    wrong = sum(1 for v in expected.values() if v != 0)
    seen = {}
    last_write = 0.0

    def write(final=False):
        st = {"records": records, "wrong": wrong, "ready": True}
        if final and mode == "latency":
            st["seen"] = seen
        tmp = status_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f)
        os.replace(tmp, status_file)

    while not stop:
        msgs = c.consume(num_messages=5000, timeout=0.05)
        now_ms = time.time() * 1000
        for m in msgs:
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    print("peers_watch: %s" % m.error(), file=sys.stderr)
                continue
            if m.topic() == topics[0]:
                records += 1
                if mode == "latency":
                    i = json.loads(m.value())["id"]
                    seen.setdefault(i, now_ms)
            else:
                acct = struct.unpack(">q", m.key())[0]
                v = struct.unpack(">q", m.value())[0]
                want = expected.get(acct, 0)
                was_ok = balances.get(acct, 0) == want
                balances[acct] = v
                wrong += (not was_ok and v == want) * -1 + (was_ok and v != want) * 1
        if time.monotonic() - last_write > 0.1:
            write()
            last_write = time.monotonic()
    write(final=True)
    c.close()


if __name__ == "__main__":
    main()
