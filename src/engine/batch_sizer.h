// BatchSizer: how many records per partition the planner gives the next batch — a feedback
// controller that finds the batch size the sink commits fastest (issue 19: the PostgreSQL
// ledger ran 12x slower at the old fixed default than at its best size).
#pragma once

#include <cstdint>
#include <map>

namespace onceflow::engine {

// It climbs, then settles. Climbing: sizes double (from the floor) while throughput (records /
// seconds from plan to commit) beats the size before by more than kTolerance (a flat stretch
// is noise, and a smaller batch commits sooner); otherwise, or at a bound, it settles on the
// better of the last two. Settled: it plans the best
// size, and every kProbeEvery batches one batch of a neighbour (twice or half, in turn); a
// neighbour faster by more than kTolerance starts a climb that way — so it grows while larger
// batches are cheaper per record and shrinks when the commit time per record grows. Only full
// batches (some partition had more records than the batch took) count: a batch cut short by
// the end of the data says nothing about its size.
//
// The limit is an input of planning only: the planned ranges are recorded in the intent, and
// recovery re-runs exactly those, never a size recomputed from here. Deterministic given the
// observations fed to it (tests feed synthetic timings). Thread-safety: none (the driver's).
class BatchSizer {
 public:
  // The first size and the smallest: min(ceiling, kFloor). A ceiling at or below it is fixed.
  static constexpr int64_t kFloor = 1000;
  // A change of throughput smaller than this fraction is noise, not a better or worse size.
  static constexpr double kTolerance = 0.05;
  // Settled, one batch in this many tries a neighbouring size.
  static constexpr int kProbeEvery = 8;

  // `adaptive` false: the limit is always `ceiling` (batch_sizing = "fixed").
  BatchSizer(int64_t ceiling, bool adaptive);

  // Records per partition for the next batch to plan.
  int64_t limit() const { return limit_; }

  // A batch planned with `limit` records per partition committed `records` in `seconds` (from
  // plan to commit); `full`: some partition had more records than the batch took. A batch
  // planned ahead, before the previous observation, may bring an older limit: its rate is
  // kept, but only the size the controller is at moves it.
  void Observe(int64_t limit, int64_t records, bool full, double seconds);

 private:
  int64_t Step(int64_t limit, int direction) const;
  double RateOf(int64_t limit) const;  // the last rate seen at `limit`, 0 if none
  void Settle(int64_t best);

  const int64_t ceiling_;
  const int64_t floor_;
  const bool adaptive_;
  int64_t limit_;
  bool climbing_ = true;
  int direction_ = 1;                // climbing: +1 grow, -1 shrink
  int64_t best_ = 0;                 // settled: the size planned between probes
  int64_t probe_ = 0;                // settled: the neighbour being tried (0: none)
  int since_probe_ = 0;              // settled: batches at best_ since the last probe
  bool probe_up_ = true;             // the next probe: twice (true) or half best_
  std::map<int64_t, double> rates_;  // records/s of the last full batch of each size
};

}  // namespace onceflow::engine
