"""onceflow: exactly-once stream processing from Python, over the onceflow C++ engine.

Every record a source accepted is processed once, and its effect reaches the sink once —
through task retries, speculative twins, batch retries, ``kill -9`` and restarts — with your
Python functions in the pipeline::

    import onceflow

    log = onceflow.Log("data")
    log.create_topic("transfers", partitions=4)
    log.produce("transfers", [{"id": 1, "from": 7, "to": 9, "amount": 250}])

    def fee(rows, ctx):                      # a whole batch of one task: list of dicts
        return [dict(r, amount=r["amount"] + 1) for r in rows]

    p = (onceflow.Pipeline("ledger", data_dir="data")
         .from_log("transfers")
         .map_batch(fee)
         .to_sqlite("data/bank.db", mode="statements", init=[...], statements=[...]))
    p.run(until_caught_up=True)
    assert p.verify()["ok"]

Functions must be deterministic given (rows, ctx): a batch may be computed more than once. Use
``ctx.batch_time_ms`` instead of the clock and ``random.Random(ctx.seed)`` instead of unseeded
randomness, and key external effects by ``ctx.idempotency_key``.
"""

from ._onceflow import BatchContext, Error
from .log import Log, Record
from .pipeline import Pipeline

Error.__doc__ = ("An engine error, with its one-line message (what `onceflow` prints after "
                 "'onceflow: error:'); from run(), python_traceback holds the last Python "
                 "function's traceback when one failed.")

__all__ = ["BatchContext", "Error", "Log", "Pipeline", "Record"]
__version__ = "0.1.0"
