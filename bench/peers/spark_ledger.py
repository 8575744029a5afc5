"""The Spark Structured Streaming side of bench/peers: the ledger, Kafka -> PostgreSQL.

  spark_ledger.py BOOTSTRAP TOPIC CONNINFO CHECKPOINT_DIR MAX_OFFSETS_PER_TRIGGER

foreachBatch with a batchId table, the pattern Spark's documentation gives for exactly-once
output: in one PostgreSQL transaction, skip the batch if its id is recorded, else run the
ledger's three statements per transfer and record the id. Spark replays a batch after a crash
with the same id and the same offsets (its checkpoint), so this is exactly once. Runs until
killed.
"""
import os
import re
import sys

import psycopg
from pyspark.sql import SparkSession
from pyspark.sql.functions import col, from_json
from pyspark.sql.types import LongType, StructField, StructType

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers_lib  # noqa: E402

SCHEMA = StructType([StructField(n, LongType()) for n in ("id", "from", "to", "amount")])


def main():
    bootstrap, topic, conninfo, checkpoint, max_offsets = sys.argv[1:6]
    stmts = [re.sub(r":(\w+)", r"%(\1)s", s) for s in peers_lib.LEDGER_STATEMENTS]
    conn = psycopg.connect(conninfo)
    conn.execute("CREATE TABLE IF NOT EXISTS spark_batches(batch_id BIGINT PRIMARY KEY)")
    conn.commit()

    def write(df, batch_id):
        rows = [r.asDict() for r in df.collect()]
        with conn.transaction():
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM spark_batches WHERE batch_id = %s", (batch_id,))
                if cur.fetchone() is not None:
                    return
                for s in stmts:
                    if rows:
                        cur.executemany(s, rows)
                cur.execute("INSERT INTO spark_batches VALUES (%s)", (batch_id,))

    spark = SparkSession.builder.appName("peers-ledger").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    src = (spark.readStream.format("kafka")
           .option("kafka.bootstrap.servers", bootstrap)
           .option("subscribe", topic)
           .option("startingOffsets", "earliest")
           .option("maxOffsetsPerTrigger", max_offsets)
           .load())
    transfers = src.select(from_json(col("value").cast("string"), SCHEMA).alias("t")).select("t.*")
    q = (transfers.writeStream.foreachBatch(write)
         .option("checkpointLocation", checkpoint).start())
    q.awaitTermination()


if __name__ == "__main__":
    main()
