// The Kafka benchmarks' shared setup.
#include "kafka_bench_setup.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "fatal.h"
#include "kafka_events.h"
#include "util/file.h"

namespace onceflow::bench {

std::string KafkaSourceToml(const std::string& bootstrap, const std::string& topic) {
  return "[source]\ntype = \"kafka\"\nbootstrap = \"" + bootstrap + "\"\ntopic = \"" + topic +
         "\"\nformat = \"json\"\n";
}

std::unique_ptr<Pipeline> LoadPipelineToml(const std::string& dir, const std::string& toml) {
  const std::string path = JoinPath(dir, "pipeline.toml");
  Check(WriteFileAtomically(path, toml), "write " + path);
  auto p = Pipeline::FromConfigFile(path);
  if (!p.has_value()) Die("pipeline: " + p.error().ToString());
  return std::move(*p);
}

kafka::Handle AssignedConsumer(const std::string& bootstrap, const std::string& topic,
                               const std::string& group, const kafka::Settings& settings) {
  kafka::Settings all = {{"group.id", group}, {"enable.auto.commit", "false"}};
  all.insert(all.end(), settings.begin(), settings.end());
  auto c = kafka::MakeClient(kafka::ClientKind::kConsumer, bootstrap, all);
  if (!c.has_value()) Check(c.error(), "consumer");
  rd_kafka_poll_set_consumer(c->get());
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(kPartitions);
  for (int p = 0; p < kPartitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(c->get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  return std::move(*c);
}

kafka::Handle ImmediateProducer(const std::string& bootstrap,
                                void (*on_delivery)(rd_kafka_t*, const rd_kafka_message_t*, void*),
                                void* opaque) {
  auto p = kafka::MakeClient(kafka::ClientKind::kProducer, bootstrap,
                             {{"enable.idempotence", "true"}, {"linger.ms", "0"}},
                             [&](rd_kafka_conf_t* conf) {
                               if (on_delivery == nullptr) return;
                               rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
                               rd_kafka_conf_set_opaque(conf, opaque);
                             });
  if (!p.has_value()) Check(p.error(), "producer");
  return std::move(*p);
}

void OfferAtRate(size_t total, int rate, const std::function<void(size_t, size_t)>& send) {
  const size_t per_tick = static_cast<size_t>(std::max(1, rate / 1000));
  auto next = std::chrono::steady_clock::now();
  for (size_t i = 0; i < total; i += per_tick) {
    send(i, std::min(per_tick, total - i));
    next += std::chrono::milliseconds(1);
    std::this_thread::sleep_until(next);
  }
}

void ProduceAtRate(rd_kafka_t* producer, const std::string& topic, size_t total, int rate,
                   const std::function<std::string(size_t)>& value, const std::string& what) {
  OfferAtRate(total, rate, [&](size_t first, size_t n) {
    for (size_t i = first; i < first + n; ++i) {
      const std::string v = value(i);
      const auto partition = static_cast<int32_t>(i % kPartitions);
      if (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()),
                            RD_KAFKA_V_PARTITION(partition),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_VALUE(const_cast<char*>(v.data()), v.size()),
                            RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        Die(what);
      }
    }
    rd_kafka_poll(producer, 0);
  });
  if (rd_kafka_flush(producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) Die(what + ": flush");
}

}  // namespace onceflow::bench
