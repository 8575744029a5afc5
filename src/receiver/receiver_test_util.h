// Helpers shared by the receiver's unit tests: a data directory with a topic, an Ingestor over
// it, requests from string vectors, and the values the topic holds.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "log/log_test_util.h"
#include "log/topic.h"
#include "receiver/ingest.h"
#include "testing/topic_read.h"

namespace onceflow::receiver::testing {

using log::testing::TempDir;

inline void CreateTopic(const std::string& data, const std::string& name, int32_t partitions = 1) {
  log::TopicConfig config;
  config.partitions = partitions;
  ASSERT_TRUE(log::Topic::Create(data, name, config).has_value());
}

inline std::unique_ptr<Ingestor> OpenIngestor(const std::string& data, IngestOptions options = {}) {
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
inline constexpr auto ReadAll = &::onceflow::testing::TopicValues;

}  // namespace onceflow::receiver::testing
