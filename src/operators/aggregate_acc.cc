// Accumulators of the running aggregates.
#include "operators/aggregate_acc.h"

#include <cstring>

#include "operators/value_codec.h"
#include "util/coding.h"

namespace onceflow::operators {

using config::AggregateConfig;

namespace {

using Function = AggregateConfig::Function;

bool IsNumber(const Value& v) {
  return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v);
}
double AsDouble(const Value& v) {
  return std::holds_alternative<int64_t>(v) ? static_cast<double>(std::get<int64_t>(v))
                                            : std::get<double>(v);
}

}  // namespace

std::string Describe(const AggregateConfig::Aggregate& a) {
  static constexpr const char* kNames[] = {"count", "sum", "min", "max", "avg"};
  std::string s = a.name + " = " + kNames[static_cast<int>(a.function)];
  if (a.function != Function::kCount) s += "(" + a.field + ")";
  return s;
}

Status CheckRow(const Aggregates& aggs, const Row& row) {
  for (const auto& a : aggs) {
    if (a.function == Function::kCount) continue;
    const Value* v = row.Get(a.field);
    if (v == nullptr || std::holds_alternative<std::monostate>(*v)) continue;  // skipped
    const bool ok =
        IsNumber(*v) || ((a.function == Function::kMin || a.function == Function::kMax) &&
                         std::holds_alternative<std::string>(*v));
    if (!ok) {
      return Status::InvalidArgument("aggregate " + Describe(a) + ": field '" + a.field + "' is " +
                                     TypeName(*v));
    }
  }
  return Status::Ok();
}

namespace {

// Min/max order: numbers by value, strings by bytes; a number and a string do not compare.
Result<bool> Better(Function f, const Value& candidate, const Value& best,
                    const std::string& what) {
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

// The integer sum continues as a float from the first addition that would overflow.
void AddInt(SumAcc* acc, int64_t v) {
  int64_t sum;
  if (__builtin_add_overflow(acc->isum, v, &sum)) {
    acc->dsum += static_cast<double>(acc->isum) + static_cast<double>(v);
    acc->isum = 0;
    acc->dbl = true;
  } else {
    acc->isum = sum;
  }
}

// Folds the number `v` into a sum or avg.
void AddNumber(SumAcc* acc, const Value& v) {
  ++acc->n;
  if (const auto* i = std::get_if<int64_t>(&v)) {
    AddInt(acc, *i);
  } else {
    acc->dsum += std::get<double>(v);
    acc->dbl = true;
  }
}

}  // namespace

Status Fold(const Aggregates& aggs, const Row& row, std::span<Acc> accs) {
  for (size_t i = 0; i < aggs.size(); ++i) {
    const auto& a = aggs[i];
    Acc& acc = accs[i];
    if (a.function == Function::kCount) {
      ++acc.n;
      continue;
    }
    const Value* v = row.Get(a.field);
    if (v == nullptr || std::holds_alternative<std::monostate>(*v)) continue;
    if (a.function == Function::kMin || a.function == Function::kMax) {
      ONCEFLOW_ASSIGN_OR_RETURN(bool better, Better(a.function, *v, acc.best, Describe(a)));
      if (better) acc.best = *v;
      ++acc.n;
      continue;
    }
    AddNumber(&acc, *v);
  }
  return Status::Ok();
}

void FoldSums(const Aggregates& aggs, const Row& row, std::span<SumAcc> sums) {
  for (size_t i = 0; i < aggs.size(); ++i) {
    const auto& a = aggs[i];
    if (a.function == Function::kCount) {
      ++sums[i].n;
      continue;
    }
    const Value* v = row.Get(a.field);
    if (v == nullptr || std::holds_alternative<std::monostate>(*v)) continue;
    AddNumber(&sums[i], *v);
  }
}

void Merge(const Aggregates& aggs, std::span<const SumAcc> part, std::span<Acc> accs) {
  for (size_t i = 0; i < aggs.size(); ++i) {
    Acc& acc = accs[i];
    const SumAcc& p = part[i];
    acc.n += p.n;
    if (aggs[i].function == Function::kCount) continue;
    AddInt(&acc, p.isum);
    acc.dsum += p.dsum;
    acc.dbl = acc.dbl || p.dbl;
  }
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

std::string EncodeAccs(std::span<const Acc> accs) {
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

Status DecodeAccs(std::string_view bytes, std::span<Acc> accs) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  for (Acc& a : accs) {
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

}  // namespace onceflow::operators
