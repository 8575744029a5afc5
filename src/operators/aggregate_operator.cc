// Running aggregates and event-time windows.
#include "operators/aggregate_operator.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "checkpoint/batch_intent.h"
#include "operators/aggregate_acc.h"
#include "operators/value_codec.h"
#include "util/coding.h"
#include "util/flat_index.h"

namespace onceflow::operators {

using config::AggregateConfig;

namespace {

using Function = AggregateConfig::Function;
using Emit = AggregateConfig::Window::Emit;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// The starts of the windows that hold event time `t`, latest first, into `starts`.
void WindowStarts(const AggregateConfig::Window& w, int64_t t, std::vector<int64_t>* starts) {
  starts->clear();
  for (int64_t s = FloorDiv(t, w.slide_ms) * w.slide_ms; s > t - w.size_ms; s -= w.slide_ms) {
    starts->push_back(s);
  }
}

// One key (or key and window) of a state task's batch, or of a map task's partial fold; its
// accumulators are kept beside it by the GroupTable. The key is the state key's prefix (all of
// it unwindowed; windowed, the state key is the encoded key, then the window start: 8 bytes,
// big-endian, sign bit flipped, so that a key's windows sort by time).
struct Group {
  std::string state_key;
  size_t key_size = 0;
  int64_t window_start = 0;
  std::string_view key() const { return std::string_view(state_key).substr(0, key_size); }
};

// The groups of one batch of one state task (or one map task), in first-seen order, found by
// state key through a FlatIndex (a map task looks up every record's key), and their
// accumulators, A per aggregate (Acc; a map task's partial sums: SumAcc), in one array in group
// order: no allocation per group.
template <typename A>
class GroupTable {
 public:
  explicit GroupTable(const AggregateConfig& config)
      : config_(config), aggregates_(config.aggregates.size()) {}

  void Reserve(size_t n) {
    groups_.reserve(n);
    accs_.reserve(n * aggregates_);
    index_.Reserve(n);
  }
  // The group of `key` (and window `start`). *created: whether it is new. Allocates nothing
  // for a group that exists (a lookup per row on the map side).
  size_t Find(std::string_view key, int64_t start, bool* created) {
    std::string_view sk = key;
    if (config_.windowed) {
      scratch_.assign(key);
      state::PutTimeBe(&scratch_, start);
      sk = scratch_;
    }
    const size_t g = index_.FindOrAdd(
        FlatIndex::Hash(sk), [&](size_t i) { return groups_[i].state_key == sk; }, created);
    if (*created) {
      groups_.push_back(Group{std::string(sk), key.size(), start});
      accs_.resize(accs_.size() + aggregates_);
    }
    return g;
  }
  std::vector<Group>& groups() { return groups_; }
  // Group g's accumulators, one per aggregate. Valid until the next Find.
  std::span<A> accs(size_t g) { return {accs_.data() + g * aggregates_, aggregates_}; }
  // Empties the table (after its groups were moved out).
  void Clear() {
    groups_.clear();
    accs_.clear();
    index_.Clear();
  }

 private:
  const AggregateConfig& config_;
  const size_t aggregates_;
  FlatIndex index_;
  std::vector<Group> groups_;
  std::vector<A> accs_;  // group g's: [g * aggregates_, (g + 1) * aggregates_)
  std::string scratch_;  // a windowed state key
};

// A map task's partials for one state task: groups in first-seen order, and their sums (one per
// aggregate, in group order).
struct PartialBucket {
  std::vector<Group> groups;
  std::vector<SumAcc> sums;
};

// A map task's partials, per state task.
class AggregateCombined final : public CombinedTask {
 public:
  std::vector<PartialBucket> buckets;
};

}  // namespace

Result<std::unique_ptr<AggregateOperator>> AggregateOperator::Create(AggregateConfig config) {
  if (config.key.empty()) return Err(Status::InvalidArgument("aggregate: no key fields"));
  if (config.aggregates.empty()) return Err(Status::InvalidArgument("aggregate: no aggregates"));
  if (config.windowed) {
    auto& w = config.window;
    if (w.type == AggregateConfig::Window::Type::kTumbling) w.slide_ms = w.size_ms;
    if (w.size_ms < 1 || w.slide_ms < 1 || w.slide_ms > w.size_ms ||
        w.size_ms / w.slide_ms > 1000) {
      return Err(Status::InvalidArgument(
          "aggregate window: need 1 <= slide <= size and size / slide <= 1000"));
    }
    if (w.time_field.empty())
      return Err(Status::InvalidArgument("aggregate window: no time_field"));
    if (w.allowed_lateness_ms < 0) {
      return Err(Status::InvalidArgument("aggregate window: negative allowed_lateness"));
    }
    if (w.idle_timeout_ms < 0) {
      return Err(Status::InvalidArgument("aggregate window: negative idle_timeout"));
    }
    if (w.emit_open_windows_at_end && w.emit != AggregateConfig::Window::Emit::kFinal) {
      return Err(Status::InvalidArgument(
          "aggregate window: emit_open_windows_at_end needs emit = \"final\" (with \"update\" "
          "every window is emitted as it changes)"));
    }
  }
  return std::unique_ptr<AggregateOperator>(new AggregateOperator(std::move(config)));
}

AggregateOperator::AggregateOperator(AggregateConfig config) : config_(std::move(config)) {
  for (const auto& a : config_.aggregates) {
    if (a.function == Function::kMin || a.function == Function::kMax) may_fail_fold_ = true;
  }
}

Result<std::string> AggregateOperator::KeyOf(const Row& row) const {
  std::string key;
  ONCEFLOW_RETURN_IF_ERROR(KeyInto(row, &key));
  return key;
}

Status AggregateOperator::KeyInto(const Row& row, std::string* key) const {
  key->clear();
  Status s = AppendKey(row, config_.key, key);
  return s.ok() ? s : s.WithContext("aggregate");
}

int64_t AggregateOperator::CloseAllWatermark(int64_t max_event_time) const {
  const auto& w = config_.window;
  const int64_t start = FloorDiv(max_event_time, w.slide_ms) * w.slide_ms;
  return start > INT64_MAX - w.size_ms ? INT64_MAX : start + w.size_ms;
}

Result<int64_t> AggregateOperator::EventTime(const Row& row) const {
  const std::string& f = config_.window.time_field;
  const Value* v = row.Get(f);
  if (v == nullptr || !std::holds_alternative<int64_t>(*v)) {
    return Err(Status::InvalidArgument("aggregate window: time field '" + f +
                                       "' must be an integer (milliseconds since the "
                                       "Unix epoch), got " +
                                       (v == nullptr ? std::string("nothing") : TypeName(*v))));
  }
  return std::get<int64_t>(*v);
}

namespace {

// A state task's group of `key` (and window `start`), loaded from the committed state when new.
Result<size_t> GroupOf(const AggregateConfig& config_, GroupTable<Acc>& table, std::string_view key,
                       int64_t start, StateTaskContext& ctx) {
  bool created = false;
  const size_t g = table.Find(key, start, &created);
  if (!created) return g;
  Group& group = table.groups()[g];
  ONCEFLOW_ASSIGN_OR_RETURN(std::optional<std::string> stored, ctx.state->Get(group.state_key));
  if (stored) {
    ONCEFLOW_RETURN_IF_ERROR(DecodeAccs(*stored, table.accs(g)));
  } else if (config_.windowed) {
    ctx.state->SetTimer(start + config_.window.size_ms,
                        group.state_key);  // fires when the watermark passes
  }
  return g;
}

// Writes the batch's groups to the state, emits their rows (update mode), then closes the
// windows the watermark has passed: emitted (final mode) and deleted.
Status EmitGroups(const AggregateConfig& config_, GroupTable<Acc>& table, StateTaskContext& ctx);

}  // namespace

Status AggregateOperator::Run(std::vector<KeyedRow>& rows, StateTaskContext& ctx) const {
  const auto& aggs = config_.aggregates;
  GroupTable<Acc> table(config_);
  table.Reserve(rows.size());
  std::vector<int64_t> starts{0};  // the row's windows; reused, not allocated per row
  for (KeyedRow& r : rows) {
    if (Status s = CheckRow(aggs, r.row.row); !s.ok()) {
      ctx.dead_letters->push_back({r.row.partition, r.row.offset, r.row.row.ToJson(), s.message()});
      continue;
    }
    if (config_.windowed) WindowStarts(config_.window, r.event_time, &starts);
    if (!may_fail_fold_) {
      // No min/max: CheckRow() has made sure the fold cannot fail; fold in place.
      for (int64_t start : starts) {
        ONCEFLOW_ASSIGN_OR_RETURN(size_t g, GroupOf(config_, table, r.key, start, ctx));
        ONCEFLOW_RETURN_IF_ERROR(Fold(aggs, r.row.row, table.accs(g)));
      }
      continue;
    }
    // A record whose values do not compare (min of a string after numbers) is dead-lettered
    // before it touches any accumulator: fold into copies first.
    std::vector<std::pair<size_t, std::vector<Acc>>> folded;
    Status st;
    for (int64_t start : starts) {
      ONCEFLOW_ASSIGN_OR_RETURN(size_t g, GroupOf(config_, table, r.key, start, ctx));
      const std::span<const Acc> held = table.accs(g);
      std::vector<Acc> accs(held.begin(), held.end());
      st = Fold(aggs, r.row.row, accs);
      if (!st.ok()) break;
      folded.emplace_back(g, std::move(accs));
    }
    if (!st.ok()) {
      ctx.dead_letters->push_back(
          {r.row.partition, r.row.offset, r.row.row.ToJson(), st.message()});
      continue;
    }
    for (auto& [g, accs] : folded) std::move(accs.begin(), accs.end(), table.accs(g).begin());
  }
  return EmitGroups(config_, table, ctx);
}

Status AggregateOperator::RunCombined(std::span<const CombinedTask* const> parts, int32_t task,
                                      StateTaskContext& ctx) const {
  const size_t aggregates = config_.aggregates.size();
  GroupTable<Acc> table(config_);
  size_t n = 0;
  for (const CombinedTask* part : parts) {
    n += static_cast<const AggregateCombined*>(part)
             ->buckets[static_cast<size_t>(task)]
             .groups.size();
  }
  table.Reserve(n);
  for (const CombinedTask* part : parts) {
    const PartialBucket& bucket =
        static_cast<const AggregateCombined*>(part)->buckets[static_cast<size_t>(task)];
    for (size_t i = 0; i < bucket.groups.size(); ++i) {
      const Group& p = bucket.groups[i];
      ONCEFLOW_ASSIGN_OR_RETURN(size_t g, GroupOf(config_, table, p.key(), p.window_start, ctx));
      Merge(config_.aggregates, std::span(bucket.sums).subspan(i * aggregates, aggregates),
            table.accs(g));
    }
  }
  return EmitGroups(config_, table, ctx);
}

namespace {

Status EmitGroups(const AggregateConfig& config_, GroupTable<Acc>& table, StateTaskContext& ctx) {
  const auto& aggs = config_.aggregates;
  const auto& w = config_.window;
  auto output_row = [&](std::string_view key, std::span<const Acc> accs, bool windowed,
                        int64_t start) -> Result<Row> {
    Row out;
    out.mutable_fields().reserve(config_.key.size() + aggs.size() + (windowed ? 2 : 0));
    const char* p = key.data();
    const char* end = p + key.size();
    for (const std::string& f : config_.key) {
      Value v;
      if (!DecodeValue(&p, end, &v)) return Err(Status::Corruption("aggregate state: bad key"));
      out.Set(f, std::move(v));
    }
    for (size_t i = 0; i < aggs.size(); ++i) out.Set(aggs[i].name, Output(aggs[i], accs[i]));
    if (windowed) {
      out.Set("window_start", start);
      out.Set("window_end", start + w.size_ms);
    }
    return out;
  };
  std::vector<Group>& groups = table.groups();
  const bool emit_changed = !config_.windowed || w.emit == Emit::kUpdate;
  ctx.state->Reserve(groups.size());
  if (emit_changed) ctx.out->reserve(ctx.out->size() + groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    const Group& g = groups[i];
    ctx.state->Put(g.state_key, EncodeAccs(table.accs(i)));
    if (emit_changed) {
      ONCEFLOW_ASSIGN_OR_RETURN(
          Row out, output_row(g.key(), table.accs(i), config_.windowed, g.window_start));
      ctx.out->push_back({std::move(out), PartitionId(-1), Offset(-1)});
    }
  }
  if (config_.windowed && ctx.watermark_after != INT64_MIN) {
    ONCEFLOW_ASSIGN_OR_RETURN(auto due, ctx.state->DueTimers(ctx.watermark_after));
    for (const auto& [time, state_key] : due) {
      ONCEFLOW_ASSIGN_OR_RETURN(std::optional<std::string> stored, ctx.state->Get(state_key));
      if (stored && w.emit == Emit::kFinal) {
        std::vector<Acc> accs(aggs.size());
        ONCEFLOW_RETURN_IF_ERROR(DecodeAccs(*stored, accs));
        const std::string_view key(state_key.data(), state_key.size() - 8);
        ONCEFLOW_ASSIGN_OR_RETURN(Row out, output_row(key, accs, true, time - w.size_ms));
        ctx.out->push_back({std::move(out), PartitionId(-1), Offset(-1)});
      }
      ctx.state->Remove(state_key);
      ctx.state->ClearTimer(time, state_key);
    }
  }
  return Status::Ok();
}

// The aggregate's map-side fold (no min/max: every fold that passes CheckRow succeeds).
class AggregateCombiner final : public MapCombiner {
 public:
  AggregateCombiner(const AggregateOperator& op, const AggregateConfig& config, BatchId batch,
                    int64_t watermark_ms, int32_t state_tasks)
      : op_(op),
        config_(config),
        batch_(batch),
        watermark_ms_(watermark_ms),
        state_tasks_(state_tasks),
        table_(config) {}

  void Add(const Row& row, PartitionId p, Offset o,
           std::vector<DeadLetter>* dead_letters) override {
    auto dead = [&](const std::string& why) { dead_letters->push_back({p, o, row.ToJson(), why}); };
    if (Status s = op_.KeyInto(row, &key_); !s.ok()) return dead(s.message());
    if (config_.windowed) {
      Result<int64_t> t = op_.EventTime(row);
      if (!t.has_value()) return dead(t.error().message());
      if (watermark_ms_ != checkpoint::kNoWatermark && *t < watermark_ms_) {
        ++late_;
        return dead(LateMessage(*t, watermark_ms_, batch_));
      }
      max_time_ = std::max(max_time_, *t);
      WindowStarts(config_.window, *t, &starts_);
    }
    if (Status s = CheckRow(config_.aggregates, row); !s.ok()) return dead(s.message());
    for (int64_t start : starts_) {
      bool created = false;
      const size_t g = table_.Find(key_, start, &created);
      FoldSums(config_.aggregates, row, table_.accs(g));  // no min/max, and CheckRow passed
    }
  }

  std::unique_ptr<CombinedTask> Finish() override {
    auto out = std::make_unique<AggregateCombined>();
    out->max_event_time = max_time_;
    out->late = late_;
    out->buckets.resize(static_cast<size_t>(state_tasks_));
    std::vector<Group>& groups = table_.groups();
    // Keys spread evenly over the state tasks: room for an even share and a little more.
    const size_t share = groups.size() / out->buckets.size() + groups.size() / 32 + 16;
    for (PartialBucket& b : out->buckets) {
      b.groups.reserve(share);
      b.sums.reserve(share * config_.aggregates.size());
    }
    for (size_t i = 0; i < groups.size(); ++i) {
      PartialBucket& bucket =
          out->buckets[static_cast<size_t>(StateTaskOf(groups[i].key(), state_tasks_))];
      bucket.groups.push_back(std::move(groups[i]));
      const std::span<const SumAcc> sums = table_.accs(i);
      bucket.sums.insert(bucket.sums.end(), sums.begin(), sums.end());
    }
    table_.Clear();
    return out;
  }

 private:
  const AggregateOperator& op_;
  const AggregateConfig& config_;
  const BatchId batch_;
  const int64_t watermark_ms_;
  const int32_t state_tasks_;
  GroupTable<SumAcc> table_;
  std::string key_;  // the record's encoded key; reused, not allocated per record
  std::vector<int64_t> starts_{0};
  int64_t max_time_ = INT64_MIN;
  int64_t late_ = 0;
};

}  // namespace

std::unique_ptr<MapCombiner> AggregateOperator::NewCombiner(BatchId batch, int64_t watermark_ms,
                                                            int32_t state_tasks) const {
  if (may_fail_fold_ || !config_.combine) return nullptr;
  return std::make_unique<AggregateCombiner>(*this, config_, batch, watermark_ms, state_tasks);
}

}  // namespace onceflow::operators
