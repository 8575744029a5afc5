// Accumulators of the running aggregates (count, sum, min, max, avg): folding a row into them,
// merging a partial fold into them (map-side combining), their stored encoding and their output
// value. AggregateOperator keeps one vector of them per key (or key and window).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "onceflow/row.h"
#include "onceflow/status.h"

namespace onceflow::operators {

// What count, sum and avg accumulate: n, isum (integers), dsum (floats), dbl (a float was seen,
// or the integer sum overflowed). All that a map-side partial holds (combining excludes min and
// max), in 32 bytes.
struct SumAcc {
  int64_t n = 0;
  int64_t isum = 0;
  double dsum = 0;
  bool dbl = false;
};

// One aggregate's accumulator: the sums, and for min/max best (null until a value is seen).
struct Acc : SumAcc {
  Value best;
};

using Aggregates = std::vector<config::AggregateConfig::Aggregate>;

// "name = sum(field)", for errors.
std::string Describe(const config::AggregateConfig::Aggregate& a);

// Checks that `row` can be folded into every aggregate (before folding any: a record counts
// wholly or goes to the dead letters). invalid_argument names the aggregate and the field.
Status CheckRow(const Aggregates& aggs, const Row& row);

// Folds `row` into `accs` (one per aggregate). Fails only for a min/max whose value does not
// compare with the accumulated one (a string after numbers); `accs` may then be half-folded.
Status Fold(const Aggregates& aggs, const Row& row, std::span<Acc> accs);

// Folds `row` into partial sums (one per aggregate), as Fold does.
// REQUIRES: no min/max, and CheckRow(aggs, row) passed: then it cannot fail.
void FoldSums(const Aggregates& aggs, const Row& row, std::span<SumAcc> sums);

// Merges `part` — a fold of later rows of the same key — into `accs`. A count, and a sum of
// integers that does not overflow, come out exactly as folding the rows one by one; a float
// sum may differ in its last bits (float addition is not associative), and an integer sum
// turns float where its partial sums overflow. REQUIRES: no min/max (their fold can refuse a
// row, which a partial cannot undo).
void Merge(const Aggregates& aggs, std::span<const SumAcc> part, std::span<Acc> accs);

// The aggregate's value: count and sum as integers (a sum turns float once a float is seen or
// the integer sum would overflow), avg as a float, null for a sum/avg/min/max of no values.
Value Output(const config::AggregateConfig::Aggregate& a, const Acc& acc);

// The stored form: per aggregate varint n, zigzag isum, fixed64 dsum bits, u8 dbl, value best.
std::string EncodeAccs(std::span<const Acc> accs);
Status DecodeAccs(std::string_view bytes, std::span<Acc> accs);

}  // namespace onceflow::operators
