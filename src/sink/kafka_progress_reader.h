// KafkaProgressReader: reads the Kafka sink's progress markers back from the compacted progress
// topic (docs/formats/sink_progress.md), as committed or as written.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "kafka/kafka_client.h"
#include "onceflow/status.h"
#include "sink/sink.h"

namespace onceflow::sink {

// Two consumers of the progress topic's one partition: read_committed (the markers of
// committed transactions) and read_uncommitted (every marker written, committed, aborted or
// still open). Lifecycle: Open() once (the topic must exist), then Scan from any thread; scans
// run one at a time.
class KafkaProgressReader {
 public:
  // `describe` starts every message ("kafka topic 'out'").
  static Result<std::unique_ptr<KafkaProgressReader>> Open(
      const std::string& bootstrap, const std::string& topic,
      std::chrono::milliseconds request_timeout, std::chrono::milliseconds transaction_timeout,
      const std::string& describe);

  // The markers of `pipeline` (all of them: ""), by task, read from the start of the topic up
  // to its high watermark: the last committed one when `committed`, else the last written one.
  // nullopt: a tombstone (the task's progress was deleted). An open transaction of another
  // producer may hold back a read_committed scan until the broker aborts it; past
  // transaction_timeout + request_timeout the scan is a retryable IoError.
  Result<std::map<int32_t, std::optional<TaskProgress>>> Scan(const std::string& pipeline,
                                                              bool committed);

  KafkaProgressReader(const KafkaProgressReader&) = delete;
  KafkaProgressReader& operator=(const KafkaProgressReader&) = delete;

 private:
  struct TopicDeleter {
    void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
  };
  using Topic = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;

  KafkaProgressReader(std::string topic, std::chrono::milliseconds request_timeout,
                      std::chrono::milliseconds transaction_timeout, std::string describe)
      : topic_name_(std::move(topic)),
        request_timeout_(request_timeout),
        transaction_timeout_(transaction_timeout),
        describe_(std::move(describe)) {}

  const std::string topic_name_;
  const std::chrono::milliseconds request_timeout_;
  const std::chrono::milliseconds transaction_timeout_;
  const std::string describe_;

  std::mutex mu_;  // one scan of the progress topic at a time
  kafka::Handle committed_reader_;
  kafka::Handle uncommitted_reader_;
  // The topic's handles, with its metadata loaded at Open(): a topic a client first meets at
  // read time waits for librdkafka's 1 s metadata scan. Declared after the readers: destroyed
  // first.
  Topic committed_topic_, uncommitted_topic_;
};

}  // namespace onceflow::sink
