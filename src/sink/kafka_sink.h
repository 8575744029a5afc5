// The Kafka sink: each task's output rows and its progress marker in one Kafka transaction, from
// one transactional producer per (pipeline, task), so that a read_committed consumer of the
// output sees each batch exactly once.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "kafka/kafka_client.h"
#include "onceflow/options.h"
#include "onceflow/status.h"
#include "sink/sink.h"

namespace onceflow::sink {

// The options are the public ones (include/onceflow/options.h); `extra` is a kafka::Settings.
using onceflow::KafkaSinkOptions;

// Validates `options` and returns an unopened sink; call Open() before anything else.
//
// Protocol (docs/protocol.md "Step 4: the sink commit", Kafka): the producer of (pipeline, task)
// has the stable transactional.id "onceflow-<pipeline>-<task>" — never a new id per batch. Starting
// it (init_transactions) fences every older producer of the task (a zombie's commit fails) and
// aborts a transaction it left open. The sink then reads the task's marker back with
// read_committed; a batch the marker already holds is kAlreadyCommitted, a newer epoch is
// Fenced, a gap or overlap with the marker's ranges is Aborted. ReadProgress starts the
// producers of every task the progress topic names, so recovery sees no lingering transaction.
//
// Unlike the SQLite sink, a Commit of several tasks is one transaction per task (each task's
// output is atomic with its own marker). Thread-safety: Commit may be called concurrently;
// commits of one task are serialised. When Commit returns kCommitted, the transaction is
// committed (acks=all on every partition it wrote).
Result<std::unique_ptr<Sink>> MakeKafkaSink(KafkaSinkOptions options);

// The transactional.id of a task's producer.
std::string KafkaTransactionalId(const std::string& pipeline, int32_t task);

}  // namespace onceflow::sink
