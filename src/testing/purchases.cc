// The purchases workload.
#include "testing/purchases.h"

#include <random>

#include "log/topic.h"

namespace onceflow::testing {

void ProducePurchases(const std::string& data_dir, const std::string& topic, int partitions,
                      const std::vector<Purchase>& purchases) {
  auto t = log::Topic::Open(data_dir, topic);
  if (!t.has_value()) {
    log::TopicConfig c;
    c.partitions = partitions;
    c.log.segment_bytes = 256 * 1024;
    t = log::Topic::Create(data_dir, topic, c);
  }
  std::map<int32_t, log::BatchBuilder> builders;
  for (const Purchase& p : purchases) {
    const std::string value = "{\"user\":\"" + p.user +
                              "\",\"amount\":" + std::to_string(p.amount) +
                              ",\"ts\":" + std::to_string(p.ts) + "}";
    RecordView r;
    r.key = p.user;
    r.value = value;
    r.timestamp_ms = p.ts;
    auto& b = builders[(*t)->PartitionForKey(p.user).value()];
    b.Add(r);
    if (b.size_bytes() > 16384) {
      (void)(*(*t)->partition((*t)->PartitionForKey(p.user)))->Append(b.Finish());
    }
  }
  for (auto& [p, b] : builders) {
    if (!b.empty()) (void)(*(*t)->partition(PartitionId(p)))->Append(b.Finish());
  }
}

std::vector<Purchase> MakePurchases(int n, int users, uint64_t seed, int64_t start_ts,
                                    int64_t step_ms, int64_t disorder_ms) {
  std::mt19937_64 rng(seed);
  std::vector<Purchase> out;
  for (int i = 0; i < n; ++i) {
    const int64_t jitter = disorder_ms > 0 ? static_cast<int64_t>(rng() % disorder_ms) : 0;
    out.push_back({"u" + std::to_string(rng() % users), static_cast<int64_t>(rng() % 100 + 1),
                   start_ts + i * step_ms - jitter});
  }
  return out;
}

std::map<std::string, std::pair<int64_t, int64_t>> CountAndSum(
    const std::vector<Purchase>& purchases) {
  std::map<std::string, std::pair<int64_t, int64_t>> m;
  for (const Purchase& p : purchases) {
    ++m[p.user].first;
    m[p.user].second += p.amount;
  }
  return m;
}

int64_t FloorTo(int64_t t, int64_t size) {
  return (t / size - ((t % size != 0) && (t < 0))) * size;
}

std::map<std::tuple<std::string, int64_t>, std::pair<int64_t, int64_t>> WindowSums(
    const std::vector<Purchase>& purchases, int64_t size) {
  std::map<std::tuple<std::string, int64_t>, std::pair<int64_t, int64_t>> m;
  for (const Purchase& p : purchases) {
    auto& v = m[{p.user, FloorTo(p.ts, size)}];
    ++v.first;
    v.second += p.amount;
  }
  return m;
}

}  // namespace onceflow::testing
