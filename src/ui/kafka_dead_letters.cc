// ReadKafkaDeadLetters: chunks of the dead-letter topic read from its end backwards with a
// read_committed consumer (assigned, never joining a group, committing nothing).
#include "ui/kafka_dead_letters.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "kafka/kafka_client.h"
#include "util/json_escape.h"

namespace onceflow::ui {
namespace {

using Clock = std::chrono::steady_clock;

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};

// The first chunk read from the end, and the largest (each further chunk doubles).
constexpr int64_t kFirstChunk = 1000;
constexpr int64_t kMaxChunk = 64000;

// The text with every byte that is not valid UTF-8 replaced by U+FFFD: a sink writes a
// dead letter's raw bytes as they were (InvalidUtf8::kKeep), which a JSON parser refuses; the
// UI shows them as its JSON writer would.
std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const size_t n = Utf8SequenceLength(s);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      s.remove_prefix(1);
    } else {
      out.append(s.substr(0, n));
      s.remove_prefix(n);
    }
  }
  return out;
}

struct ParsedDeadLetter {
  std::string pipeline;
  StoredDeadLetter letter;
};

Result<ParsedDeadLetter> ParseDeadLetter(simdjson::dom::parser& parser, std::string_view value) {
  const std::string text = ValidUtf8(value);
  simdjson::dom::element doc;
  if (auto err = parser.parse(text).get(doc); err != simdjson::SUCCESS) {
    return Err(Status::Corruption(std::string("not JSON: ") + simdjson::error_message(err)));
  }
  ParsedDeadLetter d;
  std::string_view pipeline, raw, error;
  int64_t partition = 0;
  if (doc["pipeline"].get(pipeline) != simdjson::SUCCESS ||
      doc["batch"].get(d.letter.batch_id) != simdjson::SUCCESS ||
      doc["partition"].get(partition) != simdjson::SUCCESS ||
      doc["offset"].get(d.letter.offset) != simdjson::SUCCESS ||
      doc["raw"].get(raw) != simdjson::SUCCESS || doc["error"].get(error) != simdjson::SUCCESS) {
    return Err(
        Status::Corruption("not a dead letter (pipeline, batch, partition, offset, raw, error)"));
  }
  d.pipeline = pipeline;
  d.letter.partition = static_cast<int32_t>(partition);
  d.letter.raw = raw;
  d.letter.error = error;
  return d;
}

}  // namespace

Result<std::vector<StoredDeadLetter>> ReadKafkaDeadLetters(const KafkaSinkOptions& options,
                                                           const std::string& pipeline,
                                                           const DeadLetterQuery& query,
                                                           std::string* note) {
  const std::string& topic = options.dead_letter_topic;
  const std::string who = "kafka " + options.bootstrap + ": dead-letter topic '" + topic + "'";
  kafka::Settings settings = {{"group.id", "onceflow-ui-dead-letters"},
                              {"isolation.level", "read_committed"},
                              {"enable.auto.commit", "false"},
                              {"enable.partition.eof", "false"},
                              {"fetch.wait.max.ms", "10"}};
  // The sink's connection settings (security) apply to this consumer too; producer ones do not.
  for (const auto& [key, value] : options.extra) {
    if (key.starts_with("security.") || key.starts_with("sasl.") || key.starts_with("ssl.")) {
      settings.emplace_back(key, value);
    }
  }
  ONCEFLOW_ASSIGN_OR_RETURN(kafka::Handle consumer, kafka::MakeClient(kafka::ClientKind::kConsumer,
                                                                      options.bootstrap, settings));
  rd_kafka_poll_set_consumer(consumer.get());
  std::vector<StoredDeadLetter> out;
  Result<int32_t> partitions =
      kafka::PartitionCount(consumer.get(), topic, options.request_timeout);
  if (!partitions.has_value()) {
    if (partitions.error().IsNotFound()) return out;  // no dead letter was ever written
    return Err(Status::IoError(who + ": " + partitions.error().message()));
  }
  // The start, and the end of what committed (the last stable offset: read_committed).
  Result<std::pair<int64_t, int64_t>> marks =
      kafka::Watermarks(consumer.get(), topic, 0, options.request_timeout);
  if (!marks.has_value()) {
    return Err(Status::IoError(who + ": " + marks.error().message()));
  }
  const auto [low, end] = *marks;
  std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter> list(
      rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), 0);
  simdjson::dom::parser parser;
  int64_t unreadable = 0, first_unreadable = -1;
  std::string unreadable_why;
  int64_t hi = end, chunk = kFirstChunk, scanned = 0;
  bool done = false;
  while (!done && hi > low) {
    if (scanned >= kKafkaDeadLetterScanLimit) {
      if (note != nullptr) {
        *note = "only the newest " + std::to_string(scanned) + " records of topic " + topic +
                " were read (offsets " + std::to_string(hi) + " to " + std::to_string(end) +
                "); older dead letters are not shown";
      }
      break;
    }
    const int64_t lo = std::max(low, hi - chunk);
    chunk = std::min(chunk * 2, kMaxChunk);
    list->elems[0].offset = lo;
    if (rd_kafka_resp_err_t err = rd_kafka_assign(consumer.get(), list.get()); err) {
      return Err(kafka::ErrorStatus(who + ": assign", err));
    }
    std::vector<StoredDeadLetter> found;  // this chunk's, in topic order
    auto deadline = Clock::now() + options.request_timeout;
    while (true) {
      list->elems[0].offset = RD_KAFKA_OFFSET_INVALID;
      rd_kafka_position(consumer.get(), list.get());
      if (list->elems[0].offset >= hi) break;
      std::unique_ptr<rd_kafka_message_t, MessageDeleter> m(
          rd_kafka_consumer_poll(consumer.get(), 100));
      if (m == nullptr) {
        if (Clock::now() > deadline) {
          rd_kafka_assign(consumer.get(), nullptr);
          return Err(Status::IoError(who + ": offsets " + std::to_string(lo) + " to " +
                                     std::to_string(hi) + " not read in time"));
        }
        continue;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_assign(consumer.get(), nullptr);
        return Err(kafka::ErrorStatus(who + ": read", m->err));
      }
      deadline = Clock::now() + options.request_timeout;
      if (m->offset >= hi) break;
      ++scanned;
      if (m->payload == nullptr) continue;
      Result<ParsedDeadLetter> d =
          ParseDeadLetter(parser, std::string_view(static_cast<const char*>(m->payload), m->len));
      if (!d.has_value()) {
        if (unreadable++ == 0) {
          first_unreadable = m->offset;
          unreadable_why = d.error().message();
        }
        continue;
      }
      if (d->pipeline != pipeline) continue;
      if (query.batch_id) {
        // Older batches of the pipeline lie before this one's: nothing further back is its.
        if (d->letter.batch_id < *query.batch_id) done = true;
        if (d->letter.batch_id != *query.batch_id) continue;
      }
      found.push_back(std::move(d->letter));
    }
    rd_kafka_assign(consumer.get(), nullptr);
    for (auto it = found.rbegin(); it != found.rend(); ++it) out.push_back(std::move(*it));
    if (static_cast<int64_t>(out.size()) >= query.limit) done = true;
    hi = lo;
  }
  if (static_cast<int64_t>(out.size()) > query.limit) out.resize(query.limit);
  if (unreadable > 0 && note != nullptr) {
    if (!note->empty()) *note += "; ";
    *note += std::to_string(unreadable) + " record(s) of topic " + topic +
             " are not dead letters (the first at offset " + std::to_string(first_unreadable) +
             ": " + unreadable_why + ")";
  }
  return out;
}

}  // namespace onceflow::ui
