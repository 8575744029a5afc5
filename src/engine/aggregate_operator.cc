// Running aggregates and event-time windows.
#include "engine/aggregate_operator.h"

#include <cctype>
#include <cstring>
#include <unordered_map>

#include "engine/value_codec.h"
#include "util/coding.h"

namespace onceflow::engine {
namespace {

using Function = AggregateConfig::Function;
using Emit = AggregateConfig::Window::Emit;

// One aggregate's accumulator. count: n. sum/avg: n, isum (integers), dsum (floats), dbl (a float
// was seen). min/max: best (null until a value is seen).
struct Acc {
  int64_t n = 0;
  int64_t isum = 0;
  double dsum = 0;
  bool dbl = false;
  Value best;
};

bool IsNumber(const Value& v) {
  return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v);
}
double AsDouble(const Value& v) {
  return std::holds_alternative<int64_t>(v) ? static_cast<double>(std::get<int64_t>(v))
                                            : std::get<double>(v);
}

const char* TypeName(const Value& v) {
  switch (v.index()) {
    case 0: return "null";
    case 1: return "a boolean";
    case 2: return "an integer";
    case 3: return "a float";
    default: return "a string";
  }
}

std::string Describe(const AggregateConfig::Aggregate& a) {
  static constexpr const char* kNames[] = {"count", "sum", "min", "max", "avg"};
  std::string s = a.name + " = " + kNames[static_cast<int>(a.function)];
  if (a.function != Function::kCount) s += "(" + a.field + ")";
  return s;
}

// Checks that `row` can be folded into every aggregate (before folding any: a record counts
// wholly or goes to the dead letters).
Status Check(const std::vector<AggregateConfig::Aggregate>& aggs, const Row& row) {
  for (const auto& a : aggs) {
    if (a.function == Function::kCount) continue;
    const Value* v = row.Get(a.field);
    if (v == nullptr || std::holds_alternative<std::monostate>(*v)) continue;  // skipped
    const bool ok = IsNumber(*v) || ((a.function == Function::kMin || a.function == Function::kMax) &&
                                     std::holds_alternative<std::string>(*v));
    if (!ok) {
      return Status::InvalidArgument("aggregate " + Describe(a) + ": field '" + a.field + "' is " +
                                     TypeName(*v));
    }
  }
  return Status::Ok();
}

// Min/max order: numbers by value, strings by bytes; a number and a string do not compare.
Result<bool> Better(Function f, const Value& candidate, const Value& best, const std::string& what) {
  if (std::holds_alternative<std::monostate>(best)) return true;
  if (IsNumber(candidate) && IsNumber(best)) {
    const double a = AsDouble(candidate), b = AsDouble(best);
    return f == Function::kMin ? a < b : a > b;
  }
  if (std::holds_alternative<std::string>(candidate) && std::holds_alternative<std::string>(best)) {
    const auto& a = std::get<std::string>(candidate);
    const auto& b = std::get<std::string>(best);
    return f == Function::kMin ? a < b : a > b;
  }
  return Err(Status::InvalidArgument("aggregate " + what + ": cannot compare " +
                                     TypeName(candidate) + " with " + TypeName(best)));
}

Status Fold(const std::vector<AggregateConfig::Aggregate>& aggs, const Row& row,
            std::vector<Acc>* accs) {
  for (size_t i = 0; i < aggs.size(); ++i) {
    const auto& a = aggs[i];
    Acc& acc = (*accs)[i];
    if (a.function == Function::kCount) {
      ++acc.n;
      continue;
    }
    const Value* v = row.Get(a.field);
    if (v == nullptr || std::holds_alternative<std::monostate>(*v)) continue;
    if (a.function == Function::kMin || a.function == Function::kMax) {
      ASSIGN_OR_RETURN(bool better, Better(a.function, *v, acc.best, Describe(a)));
      if (better) acc.best = *v;
      ++acc.n;
      continue;
    }
    ++acc.n;
    if (std::holds_alternative<int64_t>(*v)) {
      int64_t sum;
      if (__builtin_add_overflow(acc.isum, std::get<int64_t>(*v), &sum)) {
        acc.dsum += static_cast<double>(acc.isum) + static_cast<double>(std::get<int64_t>(*v));
        acc.isum = 0;
        acc.dbl = true;  // overflowed: the sum continues as a float
      } else {
        acc.isum = sum;
      }
    } else {
      acc.dsum += std::get<double>(*v);
      acc.dbl = true;
    }
  }
  return Status::Ok();
}

Value Output(const AggregateConfig::Aggregate& a, const Acc& acc) {
  switch (a.function) {
    case Function::kCount: return acc.n;
    case Function::kSum:
      if (acc.n == 0) return std::monostate();
      if (acc.dbl) return acc.dsum + static_cast<double>(acc.isum);
      return acc.isum;
    case Function::kMin:
    case Function::kMax: return acc.best;
    case Function::kAvg:
      if (acc.n == 0) return std::monostate();
      return (acc.dsum + static_cast<double>(acc.isum)) / static_cast<double>(acc.n);
  }
  return std::monostate();
}

// State value: per aggregate varint n, zigzag isum, fixed64 dsum bits, u8 dbl, value best.
std::string EncodeAccs(const std::vector<Acc>& accs) {
  std::string out;
  for (const Acc& a : accs) {
    coding::PutVarint64(&out, static_cast<uint64_t>(a.n));
    coding::PutVarint64(&out, coding::ZigZag(a.isum));
    uint64_t bits;
    std::memcpy(&bits, &a.dsum, 8);
    coding::PutFixed64(&out, bits);
    out.push_back(a.dbl ? 1 : 0);
    EncodeValue(&out, a.best);
  }
  return out;
}

Status DecodeAccs(std::string_view bytes, std::vector<Acc>* accs) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  for (Acc& a : *accs) {
    uint64_t n = 0, isum = 0;
    if ((p = coding::DecodeVarint64(p, end, &n)) == nullptr ||
        (p = coding::DecodeVarint64(p, end, &isum)) == nullptr || end - p < 9) {
      return Status::Corruption("aggregate state: malformed accumulator");
    }
    a.n = static_cast<int64_t>(n);
    a.isum = coding::UnZigZag(isum);
    const uint64_t bits = coding::DecodeFixed64(p);
    std::memcpy(&a.dsum, &bits, 8);
    a.dbl = p[8] != 0;
    p += 9;
    if (!DecodeValue(&p, end, &a.best)) {
      return Status::Corruption("aggregate state: malformed accumulator");
    }
  }
  if (p != end) return Status::Corruption("aggregate state: malformed accumulator");
  return Status::Ok();
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// A windowed state key: the encoded key, then the window start (8 bytes, big-endian, sign bit
// flipped, so a key's windows sort by time).
std::string WindowKey(const std::string& key, int64_t start) {
  std::string k = key;
  state::PutTimeBe(&k, start);
  return k;
}

}  // namespace

// "count", "sum(field)", "min(field)", "max(field)", "avg(field)".
Result<AggregateConfig::Aggregate> ParseAggregateFunction(std::string_view text) {
  using Function = AggregateConfig::Function;
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  text = trim(text);
  AggregateConfig::Aggregate a;
  if (text == "count" || text == "count()" || text == "count(*)") {
    a.function = Function::kCount;
    return a;
  }
  static constexpr std::pair<std::string_view, Function> kFunctions[] = {
      {"sum", Function::kSum}, {"min", Function::kMin}, {"max", Function::kMax},
      {"avg", Function::kAvg}};
  const size_t open = text.find('(');
  if (open == std::string_view::npos || text.back() != ')') {
    return Err(Status::InvalidArgument(
        "expected count, sum(field), min(field), max(field) or avg(field)"));
  }
  std::string_view name = trim(text.substr(0, open));
  std::string_view field = trim(text.substr(open + 1, text.size() - open - 2));
  for (const auto& [fn_name, fn] : kFunctions) {
    if (name != fn_name) continue;
    if (field.empty()) return Err(Status::InvalidArgument(std::string(name) + "() needs a field"));
    a.function = fn;
    a.field = std::string(field);
    return a;
  }
  return Err(Status::InvalidArgument("unknown function '" + std::string(name) +
                                     "' (expected count, sum, min, max or avg)"));
}

Result<std::unique_ptr<AggregateOperator>> AggregateOperator::Create(AggregateConfig config) {
  if (config.key.empty()) return Err(Status::InvalidArgument("aggregate: no key fields"));
  if (config.aggregates.empty()) return Err(Status::InvalidArgument("aggregate: no aggregates"));
  if (config.windowed) {
    auto& w = config.window;
    if (w.type == AggregateConfig::Window::Type::kTumbling) w.slide_ms = w.size_ms;
    if (w.size_ms < 1 || w.slide_ms < 1 || w.slide_ms > w.size_ms || w.size_ms / w.slide_ms > 1000) {
      return Err(Status::InvalidArgument(
          "aggregate window: need 1 <= slide <= size and size / slide <= 1000"));
    }
    if (w.time_field.empty()) return Err(Status::InvalidArgument("aggregate window: no time_field"));
    if (w.allowed_lateness_ms < 0) {
      return Err(Status::InvalidArgument("aggregate window: negative allowed_lateness"));
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
  auto key = EncodeKey(row, config_.key);
  if (!key.has_value()) return Err(key.error().WithContext("aggregate"));
  return key;
}

Result<int64_t> AggregateOperator::EventTime(const Row& row) const {
  const std::string& f = config_.window.time_field;
  const Value* v = row.Get(f);
  if (v == nullptr || !std::holds_alternative<int64_t>(*v)) {
    return Err(Status::InvalidArgument(
        "aggregate window: time field '" + f + "' must be an integer (milliseconds since the "
        "Unix epoch), got " + (v == nullptr ? std::string("nothing") : TypeName(*v))));
  }
  return std::get<int64_t>(*v);
}

Status AggregateOperator::Run(std::vector<KeyedRow>& rows, StateTaskContext& ctx) const {
  const auto& aggs = config_.aggregates;
  const auto& w = config_.window;
  struct Group {
    std::string state_key;
    const std::string* key;  // into rows
    int64_t window_start = 0;
    std::vector<Acc> accs;
  };
  std::vector<Group> groups;
  std::unordered_map<std::string, size_t> index;
  auto group_of = [&](const KeyedRow& r, int64_t start) -> Result<size_t> {
    if (!config_.windowed) {
      if (auto it = index.find(r.key); it != index.end()) return it->second;
    }
    std::string sk = config_.windowed ? WindowKey(r.key, start) : r.key;
    auto [it, inserted] = index.emplace(sk, groups.size());
    if (!inserted) return it->second;
    Group g{std::move(sk), &r.key, start, std::vector<Acc>(aggs.size())};
    ASSIGN_OR_RETURN(std::optional<std::string> stored, ctx.state->Get(g.state_key));
    if (stored) {
      RETURN_IF_ERROR(DecodeAccs(*stored, &g.accs));
    } else if (config_.windowed) {
      ctx.state->SetTimer(start + w.size_ms, g.state_key);  // fires when the watermark passes
    }
    groups.push_back(std::move(g));
    return groups.size() - 1;
  };
  index.reserve(rows.size());
  std::vector<int64_t> starts;  // the row's windows; reused, not allocated per row
  for (KeyedRow& r : rows) {
    if (Status s = Check(aggs, r.row.row); !s.ok()) {
      ctx.dead_letters->push_back({r.row.partition, r.row.offset, r.row.row.ToJson(), s.message()});
      continue;
    }
    starts.clear();
    if (config_.windowed) {
      for (int64_t s = FloorDiv(r.event_time, w.slide_ms) * w.slide_ms; s > r.event_time - w.size_ms;
           s -= w.slide_ms) {
        starts.push_back(s);
      }
    } else {
      starts.push_back(0);
    }
    if (!may_fail_fold_) {
      // No min/max: Check() has made sure the fold cannot fail; fold in place.
      for (int64_t start : starts) {
        ASSIGN_OR_RETURN(size_t g, group_of(r, start));
        RETURN_IF_ERROR(Fold(aggs, r.row.row, &groups[g].accs));
      }
      continue;
    }
    // A record whose values do not compare (min of a string after numbers) is dead-lettered
    // before it touches any accumulator: fold into copies first.
    std::vector<std::pair<size_t, std::vector<Acc>>> folded;
    Status st;
    for (int64_t start : starts) {
      ASSIGN_OR_RETURN(size_t g, group_of(r, start));
      std::vector<Acc> accs = groups[g].accs;
      st = Fold(aggs, r.row.row, &accs);
      if (!st.ok()) break;
      folded.emplace_back(g, std::move(accs));
    }
    if (!st.ok()) {
      ctx.dead_letters->push_back({r.row.partition, r.row.offset, r.row.row.ToJson(), st.message()});
      continue;
    }
    for (auto& [g, accs] : folded) groups[g].accs = std::move(accs);
  }
  auto output_row = [&](std::string_view key, const std::vector<Acc>& accs, bool windowed,
                        int64_t start) -> Result<Row> {
    Row out;
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
  ctx.state->Reserve(groups.size());
  for (const Group& g : groups) {
    ctx.state->Put(g.state_key, EncodeAccs(g.accs));
    if (!config_.windowed || w.emit == Emit::kUpdate) {
      ASSIGN_OR_RETURN(Row out, output_row(*g.key, g.accs, config_.windowed, g.window_start));
      ctx.out->push_back({std::move(out), PartitionId(-1), Offset(-1)});
    }
  }
  // Windows the watermark has passed: emitted (final mode) and deleted.
  if (config_.windowed && ctx.watermark_after != INT64_MIN) {
    ASSIGN_OR_RETURN(auto due, ctx.state->DueTimers(ctx.watermark_after));
    for (const auto& [time, state_key] : due) {
      ASSIGN_OR_RETURN(std::optional<std::string> stored, ctx.state->Get(state_key));
      if (stored && w.emit == Emit::kFinal) {
        std::vector<Acc> accs(aggs.size());
        RETURN_IF_ERROR(DecodeAccs(*stored, &accs));
        const std::string_view key(state_key.data(), state_key.size() - 8);
        ASSIGN_OR_RETURN(Row out, output_row(key, accs, true, time - w.size_ms));
        ctx.out->push_back({std::move(out), PartitionId(-1), Offset(-1)});
      }
      ctx.state->Remove(state_key);
      ctx.state->ClearTimer(time, state_key);
    }
  }
  return Status::Ok();
}

}  // namespace onceflow::engine
