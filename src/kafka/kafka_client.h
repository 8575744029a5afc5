// Thin RAII and error helpers over librdkafka's C API, shared by the Kafka source, the Kafka
// sink and the CLI: client handles, librdkafka errors as Status, topic metadata and admin.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "onceflow/status.h"

namespace onceflow::kafka {

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
// A producer or consumer handle; destroying it closes its connections and threads.
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

// librdkafka properties ("isolation.level" -> "read_committed"), applied in order.
using Settings = std::vector<std::pair<std::string, std::string>>;

enum class ClientKind { kProducer, kConsumer };

// Makes a client of `kind` for `bootstrap` (host:port[,...]) with `settings`. A bad setting is
// invalid_argument naming it. Connecting happens in the background: this does not block.
// `customize`, if set, runs on the configuration last (callbacks such as a rebalance callback).
Result<Handle> MakeClient(ClientKind kind, const std::string& bootstrap, const Settings& settings,
                          const std::function<void(rd_kafka_conf_t*)>& customize = nullptr);

// The generation of a consumer group's metadata (rd_kafka_consumer_group_metadata): the
// number the coordinator gives each round of assignments, which only grows while the group
// exists. librdkafka has no getter, so this reads its serialised form ("CGMDv2:" and the
// generation as a native int32); another form is an error, never a guess.
Result<int32_t> GenerationOf(const rd_kafka_consumer_group_metadata_t* metadata);

// `what: <librdkafka's message>`; retryable for errors librdkafka or Kafka call transient
// (timeouts, a broker down, a leader moving).
Status ErrorStatus(std::string_view what, rd_kafka_resp_err_t err);
// Same for a rd_kafka_error_t, which it destroys. Fatal errors (a fenced producer) are Fenced.
Status ErrorStatus(std::string_view what, rd_kafka_error_t* error);

// The number of partitions of `topic`; not_found when the cluster has no such topic.
Result<int32_t> PartitionCount(rd_kafka_t* rk, const std::string& topic,
                               std::chrono::milliseconds timeout);

// The topics of the cluster (internal ones, starting with "__", left out), sorted.
Result<std::vector<std::string>> ListTopics(rd_kafka_t* rk, std::chrono::milliseconds timeout);

struct TopicSpec {
  std::string name;
  int32_t partitions = 1;
  int32_t replication = -1;  // -1: the broker's default.replication.factor
  Settings configs;          // topic configs, e.g. {"cleanup.policy", "compact"}
};

// Creates a topic through the Admin API and waits until its metadata shows every partition.
// A topic that already exists is an error unless `exist_ok` (then its partitions are left as
// they are).
Status CreateTopic(rd_kafka_t* rk, const TopicSpec& spec, bool exist_ok,
                   std::chrono::milliseconds timeout);

// Grows `topic` to `partitions` partitions (Kafka cannot shrink a topic).
Status AddPartitions(rd_kafka_t* rk, const std::string& topic, int32_t partitions,
                     std::chrono::milliseconds timeout);

// The low watermark and the end of `partition`: the high watermark for a read_uncommitted
// client, the last stable offset for a read_committed one (ListOffsets honours the client's
// isolation.level).
Result<std::pair<int64_t, int64_t>> Watermarks(rd_kafka_t* rk, const std::string& topic,
                                               int32_t partition,
                                               std::chrono::milliseconds timeout);

}  // namespace onceflow::kafka
