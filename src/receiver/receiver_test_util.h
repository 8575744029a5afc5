// Helpers shared by the receiver's unit tests: a data directory with a topic, an Ingestor over
// it, requests from string vectors, and the values the topic holds.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "log/log_test_util.h"
#include "log/partition_reader.h"
#include "log/topic.h"
#include "receiver/ingest.h"

namespace onceflow::receiver::testing {

using log::testing::TempDir;

inline void CreateTopic(const std::string& data, const std::string& name, int32_t partitions = 1) {
  log::TopicConfig config;
  config.partitions = partitions;
  ASSERT_TRUE(log::Topic::Create(data, name, config).has_value());
}

inline std::unique_ptr<Ingestor> OpenIngestor(const std::string& data,
                                              IngestOptions options = {}) {
  options.data_dir = data;
  auto i = Ingestor::Open(options);
  EXPECT_TRUE(i.has_value()) << i.error().ToString();
  return i.has_value() ? std::move(*i) : nullptr;
}

// A request holding views of `values` (which must outlive it).
inline IngestRequest Request(std::string_view topic, const std::vector<std::string>& values,
                             std::string_view producer = "", std::optional<int64_t> seq = {}) {
  IngestRequest r;
  r.topic = topic;
  r.producer_id = producer;
  r.sequence = seq;
  for (const std::string& v : values) r.values.push_back(v);
  return r;
}

// Every value of every partition of the topic, partition by partition (read-only open).
inline std::vector<std::string> ReadAll(const std::string& data, const std::string& topic) {
  std::vector<std::string> out;
  auto t = log::Topic::Open(data, topic, /*read_only=*/true);
  EXPECT_TRUE(t.has_value());
  if (!t.has_value()) return out;
  for (int32_t p = 0; p < (*t)->partition_count(); ++p) {
    log::PartitionLog* plog = *(*t)->partition(PartitionId(p));
    log::PartitionReader reader(plog, plog->earliest_offset());
    RecordView rec;
    Offset off;
    while (true) {
      auto more = reader.Next(&rec, &off);
      EXPECT_TRUE(more.has_value());
      if (!more.has_value() || !*more) break;
      out.emplace_back(rec.value);
    }
  }
  return out;
}

}  // namespace onceflow::receiver::testing
