// KafkaGroupMember: this process's membership of its pipeline's Kafka consumer group, for
// scale-out (docs/protocol.md "Fencing, epochs and claims"). Kafka's group coordinator decides
// which partitions each process of the pipeline owns; the generation of an assignment is the epoch
// with which the driver claims the partitions' progress rows in the sink, so that a process
// that lost them while paused (a zombie) cannot commit them any more. The member never reads a
// record: the partitions it is given are paused, and the source reads exact ranges with its
// own consumers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "kafka/kafka_client.h"

namespace onceflow::source {

struct KafkaGroupOptions {
  std::string bootstrap;
  std::string topic;
  std::string group;
  // How long the coordinator waits for a silent member (a process killed or paused) before it
  // gives its partitions to the others. The broker accepts 6 s to 5 min by default.
  std::chrono::milliseconds session_timeout{10000};
  kafka::Settings extra;
};

class KafkaGroupMember {
 public:
  // The partitions this member owns and the generation that gave them. generation -1: none
  // yet (joining, or revoked and not yet re-assigned).
  struct Assignment {
    int64_t generation = -1;
    std::vector<int32_t> partitions;  // sorted
    bool operator==(const Assignment&) const = default;
  };

  // Subscribes to the topic; joining completes in the background and through Poll().
  static Result<std::unique_ptr<KafkaGroupMember>> Join(KafkaGroupOptions options);
  // Leaves the group, so that the others take the partitions over at once.
  ~KafkaGroupMember();

  // Serves the group protocol: rebalances happen in here (heartbeats run in librdkafka's own
  // thread). Call it at least every max.poll.interval.ms (5 min), e.g. once per batch.
  // Returns the current assignment; an error the group reported is kept for last_error().
  Assignment Poll();

  // Commits the positions of owned partitions to the group, asynchronously, for monitoring
  // tools (consumer lag). The truth about progress stays in the sink's progress rows.
  void CommitForMonitoring(const std::vector<std::pair<int32_t, int64_t>>& positions);

  KafkaGroupMember(const KafkaGroupMember&) = delete;
  KafkaGroupMember& operator=(const KafkaGroupMember&) = delete;

 private:
  explicit KafkaGroupMember(KafkaGroupOptions options) : options_(std::move(options)) {}
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);

  const KafkaGroupOptions options_;
  kafka::Handle consumer_;
  std::mutex mu_;
  Assignment current_;  // set by OnRebalance, on the thread that calls Poll
};

}  // namespace onceflow::source
