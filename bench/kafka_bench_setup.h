// The setup the Kafka benchmarks share (kafka_pg, visibility), as pg_pipeline_setup is for
// PostgreSQL: a pipeline file's Kafka source and loading that file, a consumer assigned every
// partition of a topic from its start, an idempotent producer that sends each record at once,
// and records offered at a fixed rate in 1 ms ticks. Every error ends the program (Die).
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "kafka/kafka_client.h"
#include "onceflow/pipeline.h"

namespace onceflow::bench {

// The [source] section of a pipeline file: the JSON records of `topic` at the broker `bootstrap`.
std::string KafkaSourceToml(const std::string& bootstrap, const std::string& topic);

// Writes `toml` to `dir`/pipeline.toml and loads that pipeline.
std::unique_ptr<Pipeline> LoadPipelineToml(const std::string& dir, const std::string& toml);

// A consumer of group `group`, polled through its consumer queue, assigned every partition
// (kPartitions) of `topic` from its start; it commits no offsets (enable.auto.commit false).
// `settings` are added to its configuration.
kafka::Handle AssignedConsumer(const std::string& bootstrap, const std::string& topic,
                               const std::string& group, const kafka::Settings& settings = {});

// An idempotent producer that sends each record at once (linger.ms 0). `on_delivery`, if set,
// is its delivery report callback and gets `opaque` (called from rd_kafka_poll and flush).
kafka::Handle ImmediateProducer(const std::string& bootstrap,
                                void (*on_delivery)(rd_kafka_t*, const rd_kafka_message_t*,
                                                    void*) = nullptr,
                                void* opaque = nullptr);

// Offers `total` records at `rate`/s: `send(first, n)` once per 1 ms tick with the next
// n = rate/1000 records (at least 1; the last tick may have fewer), then sleeps to the next tick.
void OfferAtRate(size_t total, int rate, const std::function<void(size_t first, size_t n)>& send);

// Sends records 0..total-1 to `topic` through `producer` at `rate`/s (OfferAtRate): record i to
// partition i % kPartitions, with the value `value(i)` made when its tick comes (a stamp is the
// time it was offered), then waits up to 30 s until every one is delivered. A send that fails
// ends the program naming `what`.
void ProduceAtRate(rd_kafka_t* producer, const std::string& topic, size_t total, int rate,
                   const std::function<std::string(size_t i)>& value, const std::string& what);

}  // namespace onceflow::bench
