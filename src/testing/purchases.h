// The keyed-state workload of the tests: purchases (user, amount, event time) in a topic of the
// embedded log, and the exact results a count/sum per user or per tumbling window must show.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace onceflow::testing {

// The issue's spend-per-user pipeline over the `purchases` topic: a running count and sum per
// user (keyed state), upserted into state.db beside the file, in batches of 5 records per
// partition.
inline constexpr std::string_view kSpendPerUserToml = R"toml(name = "spend-per-user"
batch_interval_ms = 20
max_records_per_partition = 5
[source]
type = "log"
topic = "purchases"
format = "json"
[[transform]]
type = "aggregate"
key = ["user"]
aggregates = { purchases = "count", spent = "sum(amount)" }
[sink]
type = "sqlite"
path = "state.db"
init = ["CREATE TABLE IF NOT EXISTS spend(user TEXT PRIMARY KEY, purchases INTEGER, spent INTEGER)"]
mode = "upsert"
table = "spend"
key = ["user"]
)toml";

struct Purchase {
  std::string user;
  int64_t amount;
  int64_t ts;  // event time, ms
};

// Appends purchases to `topic` (created with `partitions` if new), partitioned by user, in
// the given order.
void ProducePurchases(const std::string& data_dir, const std::string& topic, int partitions,
                      const std::vector<Purchase>& purchases);

// n purchases by `users` users; event times increase by about `step_ms` per record, with a
// jitter of up to `disorder_ms` backwards (out-of-order input).
std::vector<Purchase> MakePurchases(int n, int users, uint64_t seed, int64_t start_ts = 0,
                                    int64_t step_ms = 10, int64_t disorder_ms = 0);

// user -> (count, sum).
std::map<std::string, std::pair<int64_t, int64_t>> CountAndSum(
    const std::vector<Purchase>& purchases);

// The start of the tumbling window of `size` that holds `t` (rounding down, also below 0).
int64_t FloorTo(int64_t t, int64_t size);

// (user, window_start) -> (count, sum) for tumbling windows of `size`.
std::map<std::tuple<std::string, int64_t>, std::pair<int64_t, int64_t>> WindowSums(
    const std::vector<Purchase>& purchases, int64_t size);

}  // namespace onceflow::testing
