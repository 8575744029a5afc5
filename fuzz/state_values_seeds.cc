// Writes the seed corpus of state_values_fuzz (fuzz/corpus/state_values/): timer keys, encoded
// keys and rows, update_state values, aggregate accumulators and event times, each behind the
// target's mode byte (the number of accumulators).
//
// Usage: state_values_seeds DIR
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "operators/aggregate_acc.h"
#include "operators/value_codec.h"
#include "operators/watermark.h"
#include "seed_writer.h"
#include "state/state_format.h"
#include "util/coding.h"

namespace onceflow {
namespace {

using fuzz::WithMode;

int Main(int argc, char** argv) {
  fuzz::Seeds seeds;
  seeds.emplace_back("timer-key", WithMode(0, state::TimerKey(0, 3, 1700000060000, "user-7")));
  seeds.emplace_back("timer-key-negative-time", WithMode(0, state::TimerKey(1, 0, -5, "")));

  std::string key;
  operators::EncodeValue(&key, Value(std::string("alice")));
  operators::EncodeValue(&key, Value(int64_t{-42}));
  operators::EncodeValue(&key, Value(true));
  operators::EncodeValue(&key, Value(std::monostate()));
  operators::EncodeValue(&key, Value(2.5));
  seeds.emplace_back("key-values", WithMode(0, key));

  Row row;
  row.Set("user", std::string("alice"));
  row.Set("spent", int64_t{1250});
  row.Set("mean", 3.25);
  row.Set("vip", false);
  row.Set("note", std::monostate());
  std::string encoded_row;
  operators::EncodeRow(&encoded_row, row);
  seeds.emplace_back("row", WithMode(0, encoded_row));
  // update_state's value: zigzag deadline, then the row (the row decoders see it whole too).
  std::string update_state;
  coding::PutVarint64(&update_state, coding::ZigZag(std::numeric_limits<int64_t>::min()));
  update_state += encoded_row;
  seeds.emplace_back("update-state-value", WithMode(0, update_state));

  std::vector<operators::Acc> accs(3);
  accs[0].n = 12;
  accs[0].isum = -340;
  accs[1].n = 3;
  accs[1].dsum = 7.75;
  accs[1].dbl = true;
  accs[2].n = 5;
  accs[2].best = Value(std::string("zeta"));
  seeds.emplace_back("accumulators-3", WithMode(3, operators::EncodeAccs(accs)));
  std::vector<operators::Acc> one(1);
  one[0].n = 1;
  one[0].best = Value(int64_t{9});
  seeds.emplace_back("accumulators-1", WithMode(1, operators::EncodeAccs(one)));

  operators::EventTimes times;
  times.watermark = 1700000000000;
  times.partitions[0] = {1700000005000, 1700000006000};
  times.partitions[3] = {operators::kNoTime, 1700000001000};
  seeds.emplace_back("event-times", WithMode(0, times.Encode()));
  seeds.emplace_back("event-times-empty", WithMode(0, operators::EventTimes().Encode()));
  return fuzz::WriteSeeds(argc, argv, seeds);
}

}  // namespace
}  // namespace onceflow

int main(int argc, char** argv) { return onceflow::Main(argc, argv); }
