// Task computation.
#include "engine/task.h"

#include <algorithm>
#include <chrono>

#include "engine/batch_stages.h"
#include "engine/stages.h"
#include "util/check.h"
#include "util/fault_points.h"

namespace onceflow::engine {

Result<TaskOutput> ComputeTask(const TaskContext& ctx, const OffsetRange& range,
                               const std::atomic<bool>& cancel) {
  ONCEFLOW_RETURN_IF_ERROR(faults::Hit("task"));
  TaskOutput out;
  out.partition = range.partition;
  out.visibility =
      history::VisibilitySketch(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  std::unique_ptr<operators::MapCombiner> combiner =
      ctx.keyed != nullptr ? ctx.keyed->NewCombiner(ctx.batch, ctx.watermark_ms, ctx.state_tasks)
                           : nullptr;
  if (combiner == nullptr) out.rows.reserve(static_cast<size_t>(range.size()));
  const PartitionId p = range.partition;
  // The per-record stages run as each record is read; from the first whole-batch stage on,
  // the stages run over all the task's rows once it has read them (and only then are the rows
  // combined).
  size_t first_batch = 0;
  while (first_batch < ctx.stages.size() &&
         ctx.stages[first_batch].kind != internal::Stage::Kind::kBatch) {
    ++first_batch;
  }
  const std::span<const internal::Stage> record_stages = ctx.stages.subspan(0, first_batch);
  const bool batch_stages = first_batch < ctx.stages.size();
  operators::MapCombiner* const loop_combiner = batch_stages ? nullptr : combiner.get();
  Offset current;
  std::vector<Row> record_rows;  // combining: a record's rows, folded once all its stages pass
  // Combining without stages folds the decoded row itself: one row, reused for every record,
  // keeps its fields' memory instead of allocating them per record.
  const bool fold_decoded = loop_combiner != nullptr && record_stages.empty();
  // The digest of a map-only task's output, taken as each record's rows are final (while they
  // are in the cache); after whole-batch stages, which rework the rows, in one pass at the end.
  std::unique_ptr<sink::OutputDigester> digester;
  if (ctx.digest && combiner == nullptr && !batch_stages) {
    digester = std::make_unique<sink::OutputDigester>();
  }
  Row row;
  auto emit = [&](Row&& r) {
    if (loop_combiner != nullptr) {
      record_rows.push_back(std::move(r));
    } else {
      out.rows.push_back({std::move(r), p, current});
    }
  };
  // The record's text for a dead letter: the record itself, or for a source that makes rows,
  // the record it reads at that offset.
  auto text_of = [&](Offset o, const RecordView* rec) -> std::string {
    if (rec != nullptr) return std::string(rec->value);
    std::string text;
    ctx.source
        ->Read(p, o, o + 1,
               [&](Offset, const RecordView& r) {
                 text.assign(r.value);
                 return Status::Ok();
               })
        .IgnoreError();  // a dead letter without its text still names partition and offset
    return text;
  };
  // Everything after decoding: the record-wise stages, then the output or the combiner.
  auto process = [&](Offset o, Row* decoded_row, const RecordView* rec) -> Status {
    if (fold_decoded) {
      loop_combiner->Add(*decoded_row, p, o, &out.dead_letters);
      return Status::Ok();
    }
    const size_t before = out.rows.size();
    record_rows.clear();
    Status st = ApplyStages(record_stages, std::move(*decoded_row), emit);
    if (!st.ok()) {
      if (!st.IsInvalidArgument()) return st;
      out.rows.resize(before);  // a record's rows are all-or-nothing
      out.dead_letters.push_back({p, o, text_of(o, rec), st.message()});
      return Status::Ok();
    }
    if (digester != nullptr) {
      for (size_t i = before; i < out.rows.size(); ++i) digester->Add(out.rows[i]);
    }
    for (const Row& r : record_rows) loop_combiner->Add(r, p, o, &out.dead_letters);
    return Status::Ok();
  };
  auto begin_record = [&](Offset o, int64_t timestamp_ms) -> Status {
    if ((o.value() & 1023) == 0 && cancel.load(std::memory_order_relaxed)) {
      return Status::Aborted("task attempt cancelled: another attempt won");
    }
    ++out.records_in;
    if (ctx.visibility) out.visibility.Add(timestamp_ms);
    current = o;
    return Status::Ok();
  };
  // Only the range's last record is needed; a Kafka range often ends with a transaction
  // marker, so the last two offsets are fingerprinted (one CRC each, not one per record).
  auto mark = [&](Offset o, const RecordView& rec) {
    if (o.value() >= range.until.value() - 2) {
      out.last = {p, o, checkpoint::RecordFingerprint(rec)};
      out.last_timestamp_ms = rec.timestamp_ms;
    }
  };
  Status s;
  if (ctx.source->MakesRows()) {
    // The source hands Rows (the Nexmark generator): no text is made or parsed, except for
    // the fingerprint of the range's last records, read as records afterwards.
    s = ctx.source->ReadRows(p, range.from, range.until,
                             [&](Offset o, Row* made, int64_t timestamp_ms) -> Status {
                               ONCEFLOW_RETURN_IF_ERROR(begin_record(o, timestamp_ms));
                               return process(o, made, nullptr);
                             });
    if (s.ok() && range.until > range.from) {
      const Offset last_from = std::max(range.from, range.until - 2);
      s = ctx.source->Read(p, last_from, range.until, [&](Offset o, const RecordView& rec) {
        mark(o, rec);
        return Status::Ok();
      });
    }
  } else {
    s = ctx.source->Read(
        p, range.from, range.until, [&](Offset o, const RecordView& rec) -> Status {
          ONCEFLOW_RETURN_IF_ERROR(begin_record(o, rec.timestamp_ms));
          mark(o, rec);
          if (!fold_decoded) row = Row();
          auto decoded = ctx.decoder->Decode(p, o, rec, &row);
          if (!decoded.has_value()) {
            // invalid_argument: the record is bad, and stays bad on every attempt. Anything else
            // is not the record's fault: the attempt fails and is retried.
            if (!decoded.error().IsInvalidArgument()) return decoded.error();
            out.dead_letters.push_back({p, o, std::string(rec.value), decoded.error().message()});
            return Status::Ok();
          }
          if (!*decoded) {
            ++out.not_data;  // a csv header
            return Status::Ok();
          }
          return process(o, &row, &rec);
        });
  }
  if (!s.ok()) return Err(s);
  if (batch_stages) {
    ONCEFLOW_CHECK(ctx.batch_ctx != nullptr);
    BatchContext task_ctx = *ctx.batch_ctx;
    task_ctx.task = p.value();
    task_ctx.idempotency_key =
        IdempotencyKey(task_ctx.pipeline, task_ctx.task, task_ctx.batch_id, task_ctx.ranges);
    ONCEFLOW_RETURN_IF_ERROR(
        ApplyBatchStages(ctx.stages.subspan(first_batch), task_ctx, &out.rows, &out.dead_letters));
    if (combiner != nullptr) {
      for (const SinkRow& r : out.rows)
        combiner->Add(r.row, r.partition, r.offset, &out.dead_letters);
      out.rows.clear();
    }
  }
  if (combiner != nullptr) out.combined = combiner->Finish();
  // On the executor's thread, beside the other tasks, rather than on the driver's at the commit.
  if (ctx.digest && combiner == nullptr) {
    out.digest = digester != nullptr ? digester->Finish(out.dead_letters)
                                     : sink::DigestOutput(out.rows, out.dead_letters);
  }
  return out;
}

}  // namespace onceflow::engine
