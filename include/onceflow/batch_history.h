// The batch history of a pipeline: one record per batch attempt (committed, failed or fenced),
// written by the engine under the pipeline's checkpoint directory (`history/`), bounded to the
// last `history.max_batches` batches, readable while the pipeline runs. docs/formats/history.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "onceflow/status.h"

namespace onceflow {

// How long each protocol step of a batch took, in microseconds (steady clock). A step the batch
// did not reach is 0.
struct PhaseDurations {
  int64_t planning_us = 0;
  int64_t intent_us = 0;
  int64_t compute_us = 0;
  int64_t sink_commit_us = 0;
  int64_t state_commit_us = 0;
  int64_t commit_record_us = 0;
};

// One input partition read by a batch.
struct PartitionProgress {
  int32_t partition = 0;
  int64_t from = 0;  // the batch's range is [from, until)
  int64_t until = 0;
  int64_t end_offset = 0;   // the source's end when the batch was planned
  int64_t lag_records = 0;  // end_offset - until
  // How far behind the partition is in time after the batch: 0 without lag; else the age (at
  // the batch's end) of the last record it read from the partition, which bounds from above the
  // age of the oldest unread record (reading that record would cost a source read per
  // partition); -1 when unknown (nothing read from it).
  double lag_seconds = -1;
  // lag_records / the recent process rate; -1 when unknown (no rate yet).
  double drain_eta_seconds = -1;
};

// One attempt of one task of a batch.
struct TaskAttemptRecord {
  int32_t task = 0;
  int32_t partition = 0;  // the task's input partition; -1 when the task reads several
  int32_t attempt = 0;
  // "won" | "failed" | "speculative_lost" | "fenced"; "cancelled": still running when another
  // task's failure ended the batch attempt.
  std::string outcome;
  int64_t duration_us = 0;
  std::string error;         // empty unless failed or fenced
  bool speculative = false;  // a twin launched for a slow attempt
};

// One attempt of a batch. A batch id has at most one record whose outcome is "committed" (a
// reader that finds more shows the older ones as "superseded"); "failed" and "fenced" records
// are earlier attempts of the same batch.
struct BatchRecord {
  int64_t batch_id = 0;
  int64_t epoch = 0;
  int64_t batch_time_ms = 0;
  int64_t trigger_time_ms = 0;  // when the batch was due (wall clock, ms since the epoch)
  int64_t start_time_ms = 0;    // when planning started
  int64_t end_time_ms = 0;      // when its commit record was durable (or it failed)
  std::string outcome;          // "committed" | "failed" | "fenced" (| "superseded", see above)
  std::string error;            // failed/fenced: the one-line error
  bool replayed = false;        // re-run at recovery (its intent was found without a commit)
  // Written at recovery for a batch whose commit record is durable but whose history record was
  // lost in a crash: the ranges and counts come from its intent; rows_out and the timings are
  // unknown (-1 and 0).
  bool reconstructed = false;
  int64_t records_in = 0;
  int64_t rows_out = 0;
  int64_t dead_letters = 0;
  int64_t late_records = 0;
  int64_t retries = 0;  // batch retries before this attempt
  // Tasks the sink held already with another output than this attempt's: a non-deterministic
  // re-run (docs/protocol.md, "Replay check"). Absent in older records: 0.
  int64_t replay_mismatches = 0;
  int64_t task_attempts = 0;
  int64_t task_failures = 0;
  int64_t speculative_attempts = 0;
  int64_t fenced_attempts = 0;
  PhaseDurations phases;
  int64_t scheduling_delay_ms = 0;  // start - trigger
  int64_t processing_ms = 0;        // end - start
  int64_t total_delay_ms = 0;       // end - trigger
  // Record timestamp -> batch committed, over the batch's records (-1: no records).
  int64_t visibility_p50_ms = -1;
  int64_t visibility_p99_ms = -1;
  int64_t visibility_max_ms = -1;
  std::vector<PartitionProgress> partitions;
  std::vector<TaskAttemptRecord> tasks;
};

struct HistoryReadResult {
  std::vector<BatchRecord> batches;  // oldest first
  // Empty, or one line naming each damaged history file (and where the damage starts) whose
  // records after the damage were skipped.
  std::string warning;
};

// Reads the history of the pipeline whose checkpoint directory is `checkpoint_dir`
// (<data>/pipelines/<name>), oldest first; at most the last `limit` records (-1: all). Safe
// while the pipeline runs (a record being written is not seen yet). A damaged file is skipped
// from the damage on, named in `warning`; a pipeline without history gives no batches. Errors
// only when the history directory exists but cannot be listed.
Result<HistoryReadResult> ReadBatchHistory(const std::string& checkpoint_dir, int64_t limit = -1);

// The record as one JSON object whose field names are the struct's (nested "phases",
// "partitions", "tasks"). No newline.
std::string BatchRecordToJson(const BatchRecord& record);

// Parses what BatchRecordToJson wrote (unknown fields are ignored, missing ones keep their
// defaults). corruption naming the first bad field on malformed input.
Result<BatchRecord> BatchRecordFromJson(std::string_view json);

}  // namespace onceflow
