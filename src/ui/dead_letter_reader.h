// ReadDeadLetters: a pipeline's dead letters as its sink stores them (the table
// onceflow_dead_letters of a SQLite or PostgreSQL sink), latest first, for the UI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "onceflow/status.h"

namespace onceflow::ui {

struct StoredDeadLetter {
  int64_t batch_id = 0;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string error;
  std::string raw;
};

struct DeadLetterQuery {
  int64_t limit = 100;
  std::optional<int64_t> batch_id;  // only the dead letters of this batch
};

// The dead letters of pipeline `config.name` in its sink, newest first, at most query.limit:
// of a SQLite or PostgreSQL sink by batch (then partition and offset), descending — a SQLite
// file that does not exist holds none and is not created; it is opened read-only; of a Kafka
// sink from its dead-letter topic, in the reverse of the topic's order (ReadKafkaDeadLetters,
// ui/kafka_dead_letters.h). `*note` (may be null) is set when the answer may be incomplete or
// the sink keeps none (a blackhole sink).
Result<std::vector<StoredDeadLetter>> ReadDeadLetters(const config::PipelineConfig& config,
                                                      const DeadLetterQuery& query,
                                                      std::string* note = nullptr);

}  // namespace onceflow::ui
