"""The child of the crash tests: the ledger with a Python map_batch into SQLite, run until
caught up (or, with --forever, until Ctrl-C). Killed with SIGKILL at random moments, or crashing
at a fault point armed by ONCEFLOW_FAULTS (exit 86), it is started again by the test.

ONCEFLOW_TEST_EXIT_IN_FN=N: the process _exits (87) inside the Nth call of the Python function,
as a kill in the middle of Python code would. ONCEFLOW_TEST_BATCH: max_records_per_partition
(100). It prints "running" when its function is first called.
"""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))

import ledger  # noqa: E402
import onceflow  # noqa: E402


def fee(t):
    """What the pipeline books for transfer t: its amount plus a fee that depends on it only."""
    return t["amount"] + t["id"] % 7


def main():
    # As at a terminal: Ctrl-C raises KeyboardInterrupt. A process started in the background
    # of a non-interactive shell (CI running `make test` as a job, say) inherits SIGINT
    # ignored, and Python then installs no handler: the Ctrl-C test's SIGINT would be dropped.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    data_dir, db = sys.argv[1], sys.argv[2]
    forever = "--forever" in sys.argv
    exit_at = int(os.environ.get("ONCEFLOW_TEST_EXIT_IN_FN", "0"))
    calls = [0]

    def add_fee(rows, ctx):
        calls[0] += 1
        if calls[0] == exit_at:
            os._exit(87)
        if calls[0] == 1:
            print("running", flush=True)
        return [dict(r, amount=fee(r)) for r in rows]

    batch = int(os.environ.get("ONCEFLOW_TEST_BATCH", "100"))
    p = (ledger.pipeline("pyledger", data_dir, db, max_records_per_partition=batch,
                         batch_interval_ms=1)
         .map_batch(add_fee))
    try:
        stats = p.run(until_caught_up=not forever)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        stats = p.stats()
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
