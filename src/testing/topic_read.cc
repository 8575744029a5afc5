// TopicValues and CheckExactlyOnce.
#include "testing/topic_read.h"

#include <gtest/gtest.h>

#include <map>

#include "log/partition_reader.h"
#include "log/topic.h"

namespace onceflow::testing {

std::vector<std::string> TopicValues(const std::string& data, const std::string& topic) {
  std::vector<std::string> out;
  auto t = log::Topic::Open(data, topic, /*read_only=*/true);
  EXPECT_TRUE(t.has_value()) << (t.has_value() ? "" : t.error().ToString());
  if (!t.has_value()) return out;
  for (int32_t p = 0; p < (*t)->partition_count(); ++p) {
    log::PartitionLog* plog = *(*t)->partition(PartitionId(p));
    log::PartitionReader reader(plog, plog->earliest_offset());
    RecordView rec;
    Offset off;
    while (true) {
      auto more = reader.Next(&rec, &off);
      EXPECT_TRUE(more.has_value()) << (more.has_value() ? "" : more.error().ToString());
      if (!more.has_value() || !*more) break;
      out.emplace_back(rec.value);
    }
  }
  return out;
}

std::string CheckExactlyOnce(const std::vector<std::string>& stored,
                             const std::set<std::string>& acked) {
  std::map<std::string, int> count;
  for (const std::string& v : stored) ++count[v];
  std::string problems;
  int shown = 0;
  for (const auto& [v, n] : count) {
    if (n > 1 && shown++ < 10) problems += "'" + v + "' stored " + std::to_string(n) + " times\n";
  }
  for (const std::string& v : acked) {
    if (!count.contains(v) && shown++ < 10) problems += "acknowledged '" + v + "' is missing\n";
  }
  return problems;
}

}  // namespace onceflow::testing
