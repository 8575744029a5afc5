// The events workload of the Kafka benchmarks.
#include "kafka_events.h"

#include <librdkafka/rdkafka.h>

#include "fatal.h"

namespace onceflow::bench {

void Check(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}

std::string EventJson(int64_t i) {
  return "{\"id\":" + std::to_string(i) + ",\"account\":" + std::to_string((i * 7919) % 100000) +
         ",\"amount\":" + std::to_string(i % 1000 + 1) +
         ",\"ts\":" + std::to_string(1700000000000 + i) + "}";
}

std::string CreateTable(const std::string& table) {
  return "CREATE TABLE IF NOT EXISTS " + table +
         " (id BIGINT, account BIGINT, amount BIGINT, ts BIGINT)";
}

kafka::Handle Producer(const std::string& bootstrap) {
  auto p = kafka::MakeClient(kafka::ClientKind::kProducer, bootstrap,
                             {{"enable.idempotence", "true"},
                              {"acks", "all"},
                              {"linger.ms", "5"},
                              {"batch.size", "1000000"},
                              {"compression.type", "none"}});
  if (!p.has_value()) Die("producer: " + p.error().ToString());
  return std::move(*p);
}

void CreateTopic(const std::string& bootstrap, const std::string& topic) {
  auto admin = kafka::MakeClient(kafka::ClientKind::kProducer, bootstrap, {});
  if (!admin.has_value()) Die("admin: " + admin.error().ToString());
  Check(
      kafka::CreateTopic(admin->get(), {topic, kPartitions, -1, {}}, /*exist_ok=*/false, kTimeout),
      "create topic " + topic);
}

void Produce(const std::string& bootstrap, const std::string& topic, int64_t n) {
  kafka::Handle p = Producer(bootstrap);
  for (int64_t i = 0; i < n; ++i) {
    const std::string key = std::to_string((i * 7919) % 100000);
    const std::string value = EventJson(i);
    while (true) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          p.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        Die(std::string("produce: ") + rd_kafka_err2str(err));
      rd_kafka_poll(p.get(), 10);
    }
    rd_kafka_poll(p.get(), 0);
  }
  if (rd_kafka_flush(p.get(), 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) Die("flush timed out");
}

}  // namespace onceflow::bench
