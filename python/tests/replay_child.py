"""The child of the replay-check tests: the ledger with a Python map_batch into SQLite, run until
caught up, its stats printed as JSON. ONCEFLOW_TEST_RANDOM=1: the map_batch stamps each row with
random.random() (a non-deterministic function, which must be reported when a batch is re-run);
else with random.Random(ctx.seed).random() (deterministic). ONCEFLOW_TEST_ON_MISMATCH:
on_replay_mismatch. ONCEFLOW_FAULTS arms a crash (exit 86). A run that fails prints
"error: <message>" and exits 1.
"""

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))

import ledger  # noqa: E402
import onceflow  # noqa: E402


def main():
    data_dir, db = sys.argv[1], sys.argv[2]
    noisy = os.environ.get("ONCEFLOW_TEST_RANDOM") == "1"

    def stamp(rows, ctx):
        # The documented way to randomness, random.Random(ctx.seed), is deterministic.
        rng = random if noisy else random.Random(ctx.seed)
        return [dict(r, noise=rng.random()) for r in rows]

    p = (ledger.pipeline("pyreplay", data_dir, db, max_records_per_partition=100,
                         batch_interval_ms=1,
                         on_replay_mismatch=os.environ.get("ONCEFLOW_TEST_ON_MISMATCH", "warn"))
         .map_batch(stamp))
    try:
        stats = p.run(until_caught_up=True)
    except onceflow.Error as e:
        print("error: " + str(e), flush=True)
        print(json.dumps(p.stats()), flush=True)
        sys.exit(1)
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
