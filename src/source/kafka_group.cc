// KafkaGroupMember over librdkafka's subscribe and an eager rebalance callback.
#include "source/kafka_group.h"

#include <algorithm>
#include <cstdio>

namespace onceflow::source {

Result<std::unique_ptr<KafkaGroupMember>> KafkaGroupMember::Join(KafkaGroupOptions options) {
  std::unique_ptr<KafkaGroupMember> member(new KafkaGroupMember(std::move(options)));
  const KafkaGroupOptions& o = member->options_;
  const std::string session = std::to_string(o.session_timeout.count());
  const std::string heartbeat =
      std::to_string(std::max<int64_t>(o.session_timeout.count() / 5, 100));
  kafka::Settings settings = {
      {"group.id", o.group},
      // Eager: a revocation is total before any new assignment, so an assignment always
      // comes with the generation that made it.
      {"partition.assignment.strategy", "roundrobin"},
      {"session.timeout.ms", session},
      {"heartbeat.interval.ms", heartbeat},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"auto.offset.reset", "latest"},
  };
  settings.insert(settings.end(), o.extra.begin(), o.extra.end());
  KafkaGroupMember* self = member.get();
  ONCEFLOW_ASSIGN_OR_RETURN(member->consumer_,
                            kafka::MakeClient(kafka::ClientKind::kConsumer, o.bootstrap, settings,
                                              [self](rd_kafka_conf_t* conf) {
                                                rd_kafka_conf_set_opaque(conf, self);
                                                rd_kafka_conf_set_rebalance_cb(conf, &OnRebalance);
                                              }));
  rd_kafka_poll_set_consumer(member->consumer_.get());
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, o.topic.c_str(), RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(member->consumer_.get(), topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Err(kafka::ErrorStatus(
        "kafka topic '" + o.topic + "': join consumer group '" + o.group + "'", err));
  }
  return member;
}

KafkaGroupMember::~KafkaGroupMember() {
  if (consumer_ != nullptr) rd_kafka_consumer_close(consumer_.get());
}

void KafkaGroupMember::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                   rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* self = static_cast<KafkaGroupMember*>(opaque);
  Assignment next;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_consumer_group_metadata_t* meta = rd_kafka_consumer_group_metadata(rk);
    Result<int32_t> generation = kafka::GenerationOf(meta);
    rd_kafka_consumer_group_metadata_destroy(meta);
    rd_kafka_assign(rk, partitions);
    // Never fetch: the source reads its exact ranges with consumers of its own.
    rd_kafka_pause_partitions(rk, partitions);
    if (generation.has_value()) {
      next.generation = *generation;
      for (int i = 0; i < partitions->cnt; ++i) {
        next.partitions.push_back(partitions->elems[i].partition);
      }
      std::sort(next.partitions.begin(), next.partitions.end());
    } else {
      // Owning partitions without a fencing epoch would be unsafe: own none.
      std::fprintf(stderr, "onceflow: %s\n", generation.error().ToString().c_str());
    }
  } else {
    // Revoked, or an error: own nothing until the next assignment.
    rd_kafka_assign(rk, nullptr);
  }
  std::lock_guard lock(self->mu_);
  self->current_ = std::move(next);
}

KafkaGroupMember::Assignment KafkaGroupMember::Poll() {
  // The partitions are paused, so what comes back is only events and errors.
  while (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_.get(), 0)) {
    rd_kafka_message_destroy(m);
  }
  std::lock_guard lock(mu_);
  return current_;
}

void KafkaGroupMember::CommitForMonitoring(
    const std::vector<std::pair<int32_t, int64_t>>& positions) {
  if (positions.empty()) return;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(positions.size()));
  for (const auto& [partition, offset] : positions) {
    rd_kafka_topic_partition_list_add(list, options_.topic.c_str(), partition)->offset = offset;
  }
  // Best effort: a commit refused after a rebalance changes nothing that matters.
  rd_kafka_commit(consumer_.get(), list, /*async=*/1);
  rd_kafka_topic_partition_list_destroy(list);
}

}  // namespace onceflow::source
