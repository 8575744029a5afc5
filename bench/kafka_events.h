// The events workload of the Kafka benchmarks: JSON records {id, account, amount, ts} produced
// into a topic of kPartitions partitions by an idempotent producer (keyed by account), and the
// table they land in.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "kafka/kafka_client.h"
#include "onceflow/status.h"

namespace onceflow::bench {

constexpr int kPartitions = 4;
constexpr std::chrono::milliseconds kTimeout{30000};

// Ends the program (Die) unless `s` is ok, naming `what`.
void Check(const Status& s, const std::string& what);

// Event `i` as JSON: the same `i` gives the same record.
std::string EventJson(int64_t i);

// CREATE TABLE IF NOT EXISTS `table` (id, account, amount, ts), all BIGINT.
std::string CreateTable(const std::string& table);

// An idempotent producer (acks all, linger 5 ms, 1 MB batches, no compression).
kafka::Handle Producer(const std::string& bootstrap);

// Creates `topic` with kPartitions partitions; it must not exist.
void CreateTopic(const std::string& bootstrap, const std::string& topic);

// Produces events 0..n-1 to `topic` and waits until every one is acknowledged.
void Produce(const std::string& bootstrap, const std::string& topic, int64_t n);

}  // namespace onceflow::bench
