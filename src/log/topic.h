// Topic: a named set of partition logs under `<data>/topics/<name>/`, with its configuration in
// `topic.meta`. The entry point for producing to and consuming from the embedded log.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "log/log_options.h"
#include "log/partition_log.h"
#include "onceflow/ids.h"
#include "onceflow/status.h"

namespace onceflow::log {

struct TopicConfig {
  int32_t partitions = 1;
  LogOptions log;  // read_only is not stored: it is how a process opens the topic
  // The topic's creation identity: 32 random hex digits chosen by Create, so that a topic
  // deleted and created again under the same name is a different topic to the pipelines that
  // read it. Empty for topics created before onceflow recorded one (topic.meta version 1).
  std::string id;
};

// Lifecycle: Create writes topic.meta atomically and opens every partition; Open reads it.
// Thread-safety: the partition logs are thread-safe; the Topic itself is immutable after open.
class Topic {
 public:
  static constexpr int32_t kMaxPartitions = 10000;

  // Creates the topic; already_exists is invalid_argument naming the topic.
  static Result<std::unique_ptr<Topic>> Create(const std::string& data_dir, std::string_view name,
                                               const TopicConfig& config);
  // Opens an existing topic (not_found naming it otherwise). With read_only, no partition is
  // locked or changed and another process may be appending.
  static Result<std::unique_ptr<Topic>> Open(const std::string& data_dir, std::string_view name,
                                             bool read_only = false);

  const std::string& name() const { return name_; }
  const std::string& dir() const { return dir_; }
  const TopicConfig& config() const { return config_; }
  int32_t partition_count() const { return config_.partitions; }
  // The creation identity (TopicConfig::id); empty for a topic created before ids existed.
  const std::string& id() const { return config_.id; }

  // The partition's log, or invalid_argument naming the topic's partition count.
  Result<PartitionLog*> partition(PartitionId p) const;
  // The partition for a key: murmur2 as Kafka's default partitioner, so a key lands on the
  // same partition number here as in a Kafka topic with as many partitions.
  PartitionId PartitionForKey(std::string_view key) const;

 private:
  Topic(std::string name, std::string dir, TopicConfig config)
      : name_(std::move(name)), dir_(std::move(dir)), config_(std::move(config)) {}
  Status OpenPartitions(bool read_only);

  std::string name_;
  std::string dir_;
  TopicConfig config_;
  std::vector<std::unique_ptr<PartitionLog>> partitions_;
};

// Kafka's murmur2 hash (org.apache.kafka.common.utils.Utils.murmur2).
uint32_t Murmur2(std::string_view data);

// A topic name is 1-249 characters of [A-Za-z0-9._-], not "." or "..".
Status ValidateTopicName(std::string_view name);
// A new random topic id: 32 lowercase hex digits.
std::string NewTopicId();
// The names of the topics in a data directory, sorted.
Result<std::vector<std::string>> ListTopics(const std::string& data_dir);
std::string TopicDir(const std::string& data_dir, std::string_view name);

// topic.meta: `key=value` lines (format_version, partitions, durability, segment_bytes,
// index_interval_bytes, retention_bytes, retention_ms, preallocate, topic_id). Written as version
// 2 (which adds topic_id); versions 1 and 2 are read. Unknown keys and versions are refused.
std::string EncodeTopicMeta(const TopicConfig& config);
Result<TopicConfig> DecodeTopicMeta(std::string_view text, const std::string& path);

}  // namespace onceflow::log
