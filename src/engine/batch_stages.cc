// Whole-batch operators.
#include "engine/batch_stages.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <utility>

#include "engine/stages.h"

namespace onceflow::engine {
namespace {

using Kind = internal::Stage::Kind;

// A batch function's error: the task attempt fails and is retried (a user function may fail
// for a passing reason; a deterministic failure fails the batch once the retries are spent).
Status FunctionFailed(const internal::Stage& s, size_t index, const std::string& what) {
  return Status::Aborted(s.name + " (operator " + std::to_string(index + 1) + ") failed: " + what)
      .WithRetryable(true);
}

// Runs the batch function of stage `s` over *rows, keeping each output row's source record.
Status RunBatchFunction(const internal::Stage& s, size_t index, const BatchContext& ctx,
                        std::vector<SinkRow>* rows, std::vector<DeadLetter>* dead) {
  std::vector<Row> in;
  std::vector<std::pair<PartitionId, Offset>> from;
  in.reserve(rows->size());
  from.reserve(rows->size());
  for (SinkRow& r : *rows) {
    from.emplace_back(r.partition, r.offset);
    in.push_back(std::move(r.row));
  }
  rows->clear();
  const size_t n = in.size();
  Result<BatchOutput> out = Err(Status::Aborted("not run"));
  try {
    out = s.batch(std::move(in), ctx);
  } catch (const std::exception& e) {
    return FunctionFailed(s, index, std::string("threw: ") + e.what());
  } catch (...) {
    return FunctionFailed(s, index, "threw a non-standard exception");
  }
  if (!out.has_value()) return FunctionFailed(s, index, out.error().message());
  if (!out->from.empty() && out->from.size() != out->rows.size()) {
    return FunctionFailed(s, index,
                          "returned " + std::to_string(out->rows.size()) + " rows but " +
                              std::to_string(out->from.size()) + " source indexes");
  }
  // Where a row came from: an input row's record, or (no input) the task's partition.
  const std::pair<PartitionId, Offset> none{PartitionId(ctx.task), Offset(-1)};
  auto source = [&](size_t i) { return n == 0 ? none : from[std::min(i, n - 1)]; };
  rows->reserve(out->rows.size());
  for (size_t k = 0; k < out->rows.size(); ++k) {
    size_t i = n - 1;
    if (!out->from.empty()) {
      i = out->from[k];
      if (i >= n) {
        return FunctionFailed(s, index,
                              "source index " + std::to_string(i) + " of row " + std::to_string(k) +
                                  " is past the input's " + std::to_string(n) + " rows");
      }
    } else if (out->rows.size() == n) {
      i = k;
    }
    auto [p, o] = source(i);
    rows->push_back({std::move(out->rows[k]), p, o});
  }
  for (BatchOutput::Rejected& r : out->rejected) {
    auto [p, o] = source(r.index);
    dead->push_back({p, o, std::move(r.row), s.name + ": " + r.error});
  }
  return Status::Ok();
}

}  // namespace

std::string IdempotencyKey(std::string_view pipeline, int32_t task, BatchId batch,
                           std::span<const OffsetRange> ranges) {
  // FNV-1a over the ranges' numbers: stable across builds and machines (unlike std::hash).
  uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](int64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= static_cast<uint64_t>(v >> (8 * i)) & 0xff;
      h *= 1099511628211ULL;
    }
  };
  for (const OffsetRange& r : ranges) {
    mix(r.partition.value());
    mix(r.from.value());
    mix(r.until.value());
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  std::string key(pipeline);
  key += ".b" + std::to_string(batch.value());
  key += task < 0 ? std::string(".all") : ".t" + std::to_string(task);
  key += '.';
  key += hex;
  return key;
}

Status ApplyBatchStages(std::span<const internal::Stage> stages, const BatchContext& ctx,
                        std::vector<SinkRow>* rows, std::vector<DeadLetter>* dead) {
  size_t i = 0;
  while (i < stages.size()) {
    if (stages[i].kind == Kind::kBatch) {
      // A task left with no rows (all filtered or dead-lettered) does not call the function.
      if (!rows->empty()) ONCEFLOW_RETURN_IF_ERROR(RunBatchFunction(stages[i], i, ctx, rows, dead));
      ++i;
      continue;
    }
    // The row operators up to the next batch function, row by row.
    size_t j = i;
    while (j < stages.size() && stages[j].kind != Kind::kBatch) ++j;
    const std::span<const internal::Stage> segment = stages.subspan(i, j - i);
    std::vector<SinkRow> next;
    next.reserve(rows->size());
    for (SinkRow& r : *rows) {
      const size_t before = next.size();
      const PartitionId p = r.partition;
      const Offset o = r.offset;
      Status st = ApplyStages(segment, r.row, [&](Row&& out) {
        next.push_back({std::move(out), p, o});
      });
      if (!st.ok()) {
        if (!st.IsInvalidArgument()) return st;
        next.resize(before);  // a row's output is all-or-nothing
        dead->push_back({p, o, r.row.ToJson(), st.message()});
      }
    }
    *rows = std::move(next);
    i = j;
  }
  return Status::Ok();
}

}  // namespace onceflow::engine
