// KafkaSource over librdkafka: a pool of read_committed consumers with explicit assignments.
#include "source/kafka_source.h"

#include <algorithm>
#include <thread>

namespace onceflow::source {
namespace {

using Clock = std::chrono::steady_clock;

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

// The consumer's position in `partition`: the offset after the last record or transaction
// marker it passed; -1 before the first.
int64_t PositionOf(rd_kafka_t* consumer, const std::string& topic, int32_t partition) {
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  if (rd_kafka_position(consumer, list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
  const int64_t o = list->elems[0].offset;
  return o < 0 ? -1 : o;
}

}  // namespace

Result<std::unique_ptr<KafkaSource>> KafkaSource::Open(KafkaSourceOptions options) {
  if (options.bootstrap.empty()) {
    return Err(Status::InvalidArgument("kafka source: source.bootstrap is required"));
  }
  if (options.group.empty()) options.group = "onceflow";
  std::unique_ptr<KafkaSource> source(new KafkaSource(std::move(options)));
  ONCEFLOW_ASSIGN_OR_RETURN(source->meta_, source->MakeConsumer(/*waiter=*/false));
  Result<int32_t> partitions = kafka::PartitionCount(source->meta_.get(), source->options_.topic,
                                                     source->options_.request_timeout);
  if (!partitions.has_value()) return Err(partitions.error());
  if (source->options_.assign == KafkaAssignment::kGroup) {
    const KafkaSourceOptions& o = source->options_;
    ONCEFLOW_ASSIGN_OR_RETURN(
        source->member_,
        KafkaGroupMember::Join({o.bootstrap, o.topic, o.group, o.session_timeout, o.extra}));
  }
  return source;
}

std::optional<Source::Ownership> KafkaSource::Owned() {
  if (member_ == nullptr) return std::nullopt;
  KafkaGroupMember::Assignment a = member_->Poll();
  Ownership own;
  own.epoch = Epoch(a.generation);
  for (int32_t p : a.partitions) own.partitions.push_back(PartitionId(p));
  owned_ = std::move(a.partitions);
  return own;
}

void KafkaSource::ReportPositions(const std::vector<Offset>& positions) {
  if (member_ == nullptr) return;
  std::vector<std::pair<int32_t, int64_t>> owned;
  for (int32_t p : owned_) {
    if (static_cast<size_t>(p) < positions.size() &&
        positions[static_cast<size_t>(p)].value() >= 0) {
      owned.emplace_back(p, positions[static_cast<size_t>(p)].value());
    }
  }
  member_->CommitForMonitoring(owned);
}

KafkaSource::~KafkaSource() {
  member_.reset();  // leave the group first: the others take the partitions over at once
  for (kafka::Handle& c : idle_) rd_kafka_consumer_close(c.get());
  if (waiter_ != nullptr) rd_kafka_consumer_close(waiter_.get());
}

std::string KafkaSource::Describe() const { return "kafka topic '" + options_.topic + "'"; }

Result<SourceIdentity> KafkaSource::Identity() {
  char* id = rd_kafka_clusterid(meta_.get(), static_cast<int>(options_.request_timeout.count()));
  if (id == nullptr) {
    return Err(Status::IoError(Describe() + ": the brokers at " + options_.bootstrap +
                               " did not report their cluster id"));
  }
  SourceIdentity identity{"kafka", options_.topic, id};
  rd_kafka_mem_free(meta_.get(), id);
  return identity;
}

size_t KafkaSource::consumers_made() const {
  std::lock_guard lock(mu_);
  return made_;
}

Result<kafka::Handle> KafkaSource::MakeConsumer(bool waiter) const {
  kafka::Settings settings = {
      {"group.id", options_.group},
      {"isolation.level", "read_committed"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      // A range whose start was deleted (retention) must fail, not silently jump.
      {"auto.offset.reset", "error"},
      // How long the broker holds a fetch that has no data yet. A reader's range exists, so
      // short: a pooled consumer's first fetch after a new assignment waits for the previous
      // one (measured: 50 ms -> 49 ms per read of 50 records, 5 ms -> 4.8 ms). The waiter
      // long-polls: an idle pipeline costs ~10 fetches/s, and a record wakes it at once.
      {"fetch.wait.max.ms", waiter ? "100" : "5"},
      // Each pooled consumer prefetches at most this much per partition.
      {"queued.max.messages.kbytes", "16384"},
  };
  settings.insert(settings.end(), options_.extra.begin(), options_.extra.end());
  ONCEFLOW_ASSIGN_OR_RETURN(kafka::Handle c, kafka::MakeClient(kafka::ClientKind::kConsumer,
                                                               options_.bootstrap, settings));
  rd_kafka_poll_set_consumer(c.get());
  return c;
}

Result<kafka::Handle> KafkaSource::TakeConsumer() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      kafka::Handle c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    ++made_;
  }
  return MakeConsumer(/*waiter=*/false);
}

void KafkaSource::ReturnConsumer(kafka::Handle consumer) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(consumer));
}

Result<Source::Bounds> KafkaSource::OffsetBounds() {
  ONCEFLOW_ASSIGN_OR_RETURN(
      int32_t n, kafka::PartitionCount(meta_.get(), options_.topic, options_.request_timeout));
  Bounds b;
  b.earliest.reserve(static_cast<size_t>(n));
  b.end.reserve(static_cast<size_t>(n));
  for (int32_t p = 0; p < n; ++p) {
    // A partition just added, or whose leader moves, answers "not leader" for a moment:
    // transient errors are retried until the request timeout.
    const auto deadline = Clock::now() + options_.request_timeout;
    Result<std::pair<int64_t, int64_t>> marks;
    while (true) {
      marks = kafka::Watermarks(meta_.get(), options_.topic, p, options_.request_timeout);
      if (marks.has_value() || !marks.error().retryable() || Clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!marks.has_value()) return Err(marks.error());
    b.earliest.push_back(Offset(marks->first));
    b.end.push_back(Offset(marks->second));
  }
  return b;
}

Status KafkaSource::Read(PartitionId partition, Offset from, Offset until, const RecordFn& fn) {
  if (until <= from) return Status::Ok();
  ONCEFLOW_ASSIGN_OR_RETURN(kafka::Handle consumer, TakeConsumer());
  Status s = ReadWith(consumer.get(), partition, from, until, fn);
  // Unassigning drops what was prefetched; a consumer whose unassign fails, or whose read
  // failed, is not reused (nothing of a failed read may reach the next one).
  if (s.ok() && rd_kafka_assign(consumer.get(), nullptr) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ReturnConsumer(std::move(consumer));
  }
  return s;
}

Status KafkaSource::ReadWith(rd_kafka_t* consumer, PartitionId partition, Offset from, Offset until,
                             const RecordFn& fn) {
  const std::string where = Describe() + " partition " + partition.ToString();
  const std::string range = "[" + from.ToString() + ", " + until.ToString() + ")";
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), partition.value())->offset =
      from.value();
  rd_kafka_resp_err_t err = rd_kafka_assign(consumer, list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka::ErrorStatus(where + ": assign", err);

  std::vector<HeaderView> headers;
  int64_t next = from.value();  // records below this were delivered (or skipped as stale)
  constexpr int kMaxRefetches = 3;
  int refetches = 0;
  auto deadline = Clock::now() + options_.read_timeout;
  while (true) {
    // The position moves past transaction markers and aborted records too, so it is what
    // tells that the range is complete when its last offsets are not records.
    const int64_t position = PositionOf(consumer, options_.topic, partition.value());
    if (position >= until.value()) return Status::Ok();
    Message m(rd_kafka_consumer_poll(consumer, 100));
    if (m == nullptr) {
      if (Clock::now() >= deadline) {
        return Status::OutOfRange(where + ": the range " + range +
                                  " could not be read: nothing past offset " +
                                  std::to_string(std::max(position, next)) + " arrived within " +
                                  std::to_string(options_.read_timeout.count()) + " ms");
      }
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      const std::string detail = rd_kafka_message_errstr(m.get());
      if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
          m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        // Seen once under ASan for a range well inside the partition: an out-of-range answer
        // to a fetch the consumer made for an earlier assignment. Only the broker's
        // watermarks say whether the range is really gone: if they hold it, the fetch starts
        // again where the delivered records end (a few times at most); if not, or they cannot
        // be read, the range is out of range.
        Result<std::pair<int64_t, int64_t>> marks = kafka::Watermarks(
            meta_.get(), options_.topic, partition.value(), options_.request_timeout);
        const bool held =
            marks.has_value() && marks->first <= next && until.value() <= marks->second;
        if (held && ++refetches <= kMaxRefetches) {
          PartitionList again(rd_kafka_topic_partition_list_new(1));
          rd_kafka_topic_partition_list_add(again.get(), options_.topic.c_str(), partition.value())
              ->offset = next;
          err = rd_kafka_assign(consumer, again.get());
          if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka::ErrorStatus(where + ": assign", err);
          continue;
        }
        return Status::OutOfRange(where + ": the range " + range +
                                  " is no longer (or not yet) "
                                  "in the topic: " +
                                  detail);
      }
      return kafka::ErrorStatus(where + ": read " + range, m->err).WithContext(detail);
    }
    if (m->partition != partition.value() || m->offset < next) continue;  // stale prefetch
    if (m->offset >= until.value()) return Status::Ok();
    deadline = Clock::now() + options_.read_timeout;
    RecordView r;
    if (m->key != nullptr) {
      r.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
    }
    r.value = std::string_view(static_cast<const char*>(m->payload), m->len);
    rd_kafka_timestamp_type_t type;
    const int64_t ts = rd_kafka_message_timestamp(m.get(), &type);
    r.timestamp_ms = ts < 0 ? 0 : ts;
    headers.clear();
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m.get(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        headers.push_back({name, value == nullptr
                                     ? std::string_view()
                                     : std::string_view(static_cast<const char*>(value), size)});
      }
    }
    r.headers = headers;
    ONCEFLOW_RETURN_IF_ERROR(fn(Offset(m->offset), r));
    next = m->offset + 1;
  }
}

void KafkaSource::WaitForData(const std::vector<Offset>& positions,
                              std::chrono::milliseconds timeout) {
  Result<int32_t> n = kafka::PartitionCount(meta_.get(), options_.topic, options_.request_timeout);
  if (!n.has_value() || static_cast<size_t>(*n) > positions.size()) return;  // let Plan look
  std::lock_guard lock(wait_mu_);
  if (waiter_ == nullptr) {
    Result<kafka::Handle> made = MakeConsumer(/*waiter=*/true);
    if (!made.has_value()) return;  // the caller plans again, and reports what fails for good
    waiter_ = std::move(made).value();
  }
  PartitionList list(rd_kafka_topic_partition_list_new(*n));
  for (int32_t p = 0; p < *n; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p)->offset =
        positions[static_cast<size_t>(p)].value();
  }
  if (rd_kafka_assign(waiter_.get(), list.get()) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    Message m(rd_kafka_consumer_poll(waiter_.get(), static_cast<int>(timeout.count())));
  }
  if (rd_kafka_assign(waiter_.get(), nullptr) != RD_KAFKA_RESP_ERR_NO_ERROR) waiter_.reset();
}

}  // namespace onceflow::source
