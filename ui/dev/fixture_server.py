#!/usr/bin/env python3
"""Development only (not a test): serves ui/ as `onceflow ui` does, with made-up JSON in the
shapes of docs/api.md, growing by one batch a second, so the pages can be worked on without a
build. Usage: python3 ui/dev/fixture_server.py [PORT]  (then open http://127.0.0.1:PORT/)."""
import json, math, os, sys, time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

UI = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = time.time() - 120

def batch(i):
    t = int((START + i) * 1000)
    n = 900 + int(300 * math.sin(i / 7))
    phases = dict(planning_us=300, intent_us=800 + i % 5 * 40, compute_us=9000 + n * 3,
                  sink_commit_us=4000 + i % 7 * 300, state_commit_us=600, commit_record_us=700)
    proc = sum(phases.values()) // 1000
    return dict(batch_id=i, epoch=1, batch_time_ms=t, trigger_time_ms=t, start_time_ms=t + 2,
                end_time_ms=t + 2 + proc, outcome="failed" if i % 37 == 5 else "committed",
                error="sink: database is locked" if i % 37 == 5 else "", replayed=i == 3,
                records_in=n, rows_out=n - (1 if i % 10 == 0 else 0),
                dead_letters=1 if i % 10 == 0 else 0, late_records=0, retries=0,
                task_attempts=4, task_failures=0, speculative_attempts=0, fenced_attempts=0,
                phases=phases, scheduling_delay_ms=2, processing_ms=proc, total_delay_ms=proc + 2,
                visibility_p50_ms=400 + proc, visibility_p99_ms=980 + proc, visibility_max_ms=1000 + proc,
                input_rate=float(n),
                partitions=[dict(partition=p, from_=0, until=0, end_offset=0, lag_records=0,
                                 lag_seconds=0.0, drain_eta_seconds=0.0) for p in range(4)],
                tasks=[dict(task=p, partition=p, attempt=0, outcome="won", duration_us=8000 + p * 100,
                            error="") for p in range(4)])

def fix_partitions(b):
    for k, p in enumerate(b["partitions"]):
        p["from"] = b["batch_id"] * 250 + k; p["until"] = p["from"] + 250; del p["from_"]
        p["end_offset"] = p["until"] + 40; p["lag_records"] = 40; p["lag_seconds"] = 0.05
        p["drain_eta_seconds"] = 0.04
    return b

def count(): return int(time.time() - START)
def summary(b): return {k: v for k, v in b.items() if k != "tasks"}

def dead(i): return dict(batch_id=i, partition=i % 4, offset=i * 250, error=f"json: expected a value at byte 0 of record {i * 250}", raw="{not json")

class Handler(SimpleHTTPRequestHandler):
    def json(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)

    def file(self, path, ctype):
        body = open(path, "rb").read()
        self.send_response(200); self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path); q = parse_qs(url.query); parts = url.path.strip("/").split("/")
        n = count()
        if url.path.startswith("/assets/"):
            name = parts[1]
            path = os.path.join(UI, name) if not name.startswith("uPlot") else os.path.join(UI, "node_modules/uplot/dist", name)
            ctype = {"js": "text/javascript", "css": "text/css"}[name.rsplit(".", 1)[1]]
            return self.file(path, ctype)
        if parts[:2] != ["api", "v1"]:
            return self.file(os.path.join(UI, "index.html"), "text/html")
        rest = parts[2:]
        last = fix_partitions(batch(n - 1))
        if rest == ["pipelines"]:
            return self.json({"pipelines": [dict(name="ledger", status="running", last_batch=summary(last),
                input_rate=1000.0, process_rate=1200.5, lag_records=160, last_error=""),
                dict(name="idle", status="stopped", last_batch=None, input_rate=0, process_rate=0,
                lag_records=0, last_error="sink: no such table: accounts")]})
        name = rest[1]
        if len(rest) == 2:
            return self.json(dict(name=name, status="running", config_toml='name = "ledger"\n[sink]\nconninfo = "password=***"\n',
                totals=dict(batches=n, records_in=n * 1000, rows_out=n * 999, dead_letters=n // 10, late_records=0),
                partitions=last["partitions"], history_warning="", last_batch=summary(last),
                input_rate=1000.0, process_rate=1200.5, last_error="",
                checkpoint=dict(epoch=1, last_committed_batch=n - 1, unfinished_batch=n, watermark_ms=None)))
        what = rest[2]
        limit = int(q.get("limit", ["20"])[0])
        if what == "batches" and len(rest) == 3:
            before = int(q["before"][0]) if "before" in q else n
            ids = list(range(before - 1, max(-1, before - 1 - limit), -1))
            return self.json(dict(batches=[summary(fix_partitions(batch(i))) for i in ids],
                                  next_before=ids[-1] if ids and ids[-1] > 0 else None))
        if what == "batches":
            b = fix_partitions(batch(int(rest[3]))); b["dead_letter_records"] = [dead(b["batch_id"])] if b["batch_id"] % 10 == 0 else []
            return self.json(b)
        if what == "timeline":
            return self.json(dict(batches=[batch(i) for i in range(max(0, n - limit), n)]))
        if what == "audit":
            return self.json(dict(ok=True, running=True, violations=[], summary=["4 progress rows cover batches 0..%d" % (n - 1)],
                unfinished="none", progress_rows=4, partitions_checked=4,
                committed=[dict(partition=p, committed=n * 250 + p, end=n * 250 + p + 40, lag=40) for p in range(4)],
                sink_progress=[dict(task=p, last_batch=n - 1, epoch=1, ranges=[dict(partition=p, **{"from": (n - 1) * 250 + p}, until=n * 250 + p)]) for p in range(4)],
                status_error="", history=dict(batches_checked=n, contiguous=True, first_gap="",
                records_in=n * 1000, rows_out=n * 999, dead_letters=n // 10)))
        if what == "dead_letters":
            return self.json(dict(dead_letters=[dead(i) for i in range(n - n % 10, -1, -10)][:limit]))
        if what == "state":
            return self.json(dict(operators=[dict(name="aggregate[0]", keys=10000, bytes=1 << 20, watermark_ms=int(time.time() * 1000))]))
        self.send_error(404)

    def log_message(self, *args): pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 4041), Handler).serve_forever()
