// ReadKafkaDeadLetters: the dead letters a Kafka sink wrote to its dead-letter topic
// (docs/formats/sink_progress.md), read back with a read_committed consumer, newest first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "onceflow/options.h"
#include "onceflow/status.h"
#include "ui/dead_letter_reader.h"

namespace onceflow::ui {

// How much of the topic one read looks at: the newest records of the topic are read in chunks,
// from its end backwards, until enough of the pipeline's dead letters are found, the start of
// the topic is reached, or this many records were looked at (the topic is shared by every
// pipeline of the cluster that uses it and is never compacted).
constexpr int64_t kKafkaDeadLetterScanLimit = 200000;

// The dead letters of `pipeline` in `options.dead_letter_topic` (one partition; value
// {pipeline, batch, partition, offset, raw, error}), newest first — the reverse of the topic's
// order, which is the order the batches committed in (also after a reset pipeline started its
// batch ids over) — at most query.limit; with query.batch_id, only that batch's. Only
// committed transactions are read (an aborted attempt's dead letters are not shown; those of a
// transaction still open are shown once it commits). A topic that does not exist holds none.
// `*note` (may be null) is set when the answer may be incomplete: the scan limit was reached,
// or records of the topic could not be read as dead letters (named by offset).
// Errors: the broker cannot be reached or the topic read within options.request_timeout
// (retryable io_error naming the topic).
// A batch's dead letters are found by reading back to the first record of an earlier batch of
// the pipeline: a pipeline's batches commit one after another, so its dead letters lie in the
// topic in batch order.
Result<std::vector<StoredDeadLetter>> ReadKafkaDeadLetters(const KafkaSinkOptions& options,
                                                           const std::string& pipeline,
                                                           const DeadLetterQuery& query,
                                                           std::string* note);

}  // namespace onceflow::ui
