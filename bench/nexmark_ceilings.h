// The ceilings of the exactly-once PostgreSQL and Kafka sinks for Nexmark q0, q1 and q2: the
// query's output rows made straight from the event model (no engine), written by plain client
// code as fast as the sink's own path could write them, in the same run as the pipelines.
#pragma once

#include <cstdint>
#include <string>

namespace onceflow::bench {

struct CeilingFigures {
  double rate = 0;      // generator events/s (wall): every event counts, as in the pipelines
  double per_core = 0;  // events/s of this thread's CPU time
  // events/s of this process's CPU time (KafkaCeiling: with librdkafka's own threads, as the
  // pipeline's figure counts them; the bench does nothing else meanwhile). 0: not measured.
  double process_per_core = 0;
};

// q0 (auction, bidder, price, date_time, extra), q1 (the same, price * 0.908), q2 (auction,
// price of the bids with auction % 123 = 0) over the first `events` events.
// The output table's columns for `query` (CREATE TABLE's column list, PostgreSQL types).
std::string PgColumns(const std::string& query);

// The rows COPYed (text format) into a new table `table`, one transaction per
// `rows_per_transaction` rows (the pipeline's batch), each committed durably.
CeilingFigures PgCopyCeiling(const std::string& conninfo, const std::string& query,
                             const std::string& table, int64_t events,
                             int64_t rows_per_transaction);

// The same rows as multi-row INSERTs (1000 rows per statement), the same transactions.
CeilingFigures PgInsertCeiling(const std::string& conninfo, const std::string& query,
                               const std::string& table, int64_t events,
                               int64_t rows_per_transaction);

// The rows as JSON objects (the Kafka sink's record values) produced without a key by a
// plain, non-transactional producer (idempotent, acks=all) into `topic` (4 partitions, must
// exist), then flushed: every record acknowledged.
CeilingFigures KafkaCeiling(const std::string& bootstrap, const std::string& query,
                            const std::string& topic, int64_t events);

}  // namespace onceflow::bench
