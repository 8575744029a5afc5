// The Kafka sink: each task's output rows and its progress marker in one Kafka transaction, from
// one transactional producer per (pipeline, task), so that a read_committed consumer of the
// output sees each batch exactly once.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "kafka/kafka_client.h"
#include "onceflow/status.h"
#include "sink/sink.h"

namespace onceflow::sink {

struct KafkaSinkOptions {
  std::string bootstrap;  // host:port[,...]
  std::string topic;      // the output topic; it must exist
  // The field whose value (as text) is the output record's key; "" or a missing field: no key
  // (the default partitioner then spreads records). Value: the row as a JSON object.
  std::string key_field;
  // Compacted, one partition, created at Open() if missing. Key "<pipeline>/<task>", value
  // "batch=N epoch=E ranges=P:FROM-UNTIL,... started=P:OFFSET,... source=SOURCE"; a tombstone
  // once DeleteProgress forgot the task (docs/formats/sink_progress.md).
  std::string progress_topic = "onceflow_progress";
  // Dead letters as JSON objects {pipeline, batch, partition, offset, raw, error}; created at
  // Open() if missing.
  std::string dead_letter_topic = "onceflow_dead_letters";
  // A transaction left open by a crashed process is aborted by the broker after this long, or
  // at once when the task's producer is started again (init_transactions).
  std::chrono::milliseconds transaction_timeout{30000};
  std::chrono::milliseconds request_timeout{30000};
  kafka::Settings extra;  // further librdkafka producer settings
};

// Validates `options` and returns an unopened sink; call Open() before anything else.
//
// Protocol (docs/protocol.md "Step 4: the sink commit", Kafka): the producer of (pipeline, task) has the stable
// transactional.id "onceflow-<pipeline>-<task>" — never a new id per batch. Starting it
// (init_transactions) fences every older producer of the task (a zombie's commit fails) and
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
