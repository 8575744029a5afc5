// KafkaPartitionStream over librdkafka: one consumer, one partition, assigned once.
#include "source/kafka_stream.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace onceflow::source {
namespace {

using StreamClock = std::chrono::steady_clock;

struct StreamPartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using StreamPartitionList =
    std::unique_ptr<rd_kafka_topic_partition_list_t, StreamPartitionListDeleter>;

StreamPartitionList OnePartition(const std::string& topic, PartitionId partition, Offset at) {
  StreamPartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition.value())->offset =
      at.value();
  return list;
}

// rd_kafka_seek_partitions' timeout argument for `timeout`: librdkafka before 2.1.0 waits that
// many microseconds instead of milliseconds (its changelog for 2.1.0, #4230), so a seek would
// time out after a thousandth of the time asked.
int SeekTimeoutArgument(std::chrono::milliseconds timeout) {
  int64_t arg = timeout.count();
  if (rd_kafka_version() < 0x020100ff) arg *= 1000;
  return static_cast<int>(std::min<int64_t>(arg, std::numeric_limits<int>::max()));
}

}  // namespace

Result<std::unique_ptr<KafkaPartitionStream>> KafkaPartitionStream::Open(kafka::Handle consumer,
                                                                         std::string topic,
                                                                         PartitionId partition,
                                                                         Offset from,
                                                                         std::string where) {
  std::unique_ptr<KafkaPartitionStream> stream(
      new KafkaPartitionStream(std::move(consumer), std::move(topic), partition, std::move(where)));
  StreamPartitionList list = OnePartition(stream->topic_, partition, from);
  const rd_kafka_resp_err_t err = rd_kafka_assign(stream->consumer_.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Err(kafka::ErrorStatus(stream->where_ + ": assign", err));
  }
  stream->next_ = from;
  return stream;
}

KafkaPartitionStream::~KafkaPartitionStream() {
  // Leaves nothing behind at the broker (no group is joined: the consumer only assigns), but
  // stops the fetcher before the handle is destroyed.
  pending_.reset();
  rd_kafka_consumer_close(consumer_.get());
}

int64_t KafkaPartitionStream::Position() const {
  StreamPartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition_.value());
  if (rd_kafka_position(consumer_.get(), list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
  const int64_t o = list->elems[0].offset;
  return o < 0 ? -1 : o;
}

Status KafkaPartitionStream::Seek(Offset from, std::chrono::milliseconds timeout) {
  pending_.reset();
  next_ = Offset(-1);
  StreamPartitionList list = OnePartition(topic_, partition_, from);
  // With a timeout the call returns once the partition took the new fetch position and
  // forgot its consumed position; the version barrier that makes older fetches stale is
  // raised before that.
  rd_kafka_error_t* error =
      rd_kafka_seek_partitions(consumer_.get(), list.get(), SeekTimeoutArgument(timeout));
  if (error != nullptr) return kafka::ErrorStatus(where_ + ": seek", error);
  if (list->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::ErrorStatus(where_ + ": seek to offset " + from.ToString(), list->elems[0].err);
  }
  // The read's end is told by the position: one left from before the seek would end it early.
  if (const int64_t position = Position(); position != -1) {
    return Status::IoError(where_ + ": seek to offset " + from.ToString() +
                           " left the consumer's position at " + std::to_string(position));
  }
  return Status::Ok();
}

Status KafkaPartitionStream::Read(Offset from, Offset until, const Source::RecordFn& fn,
                                  std::chrono::milliseconds read_timeout, ReadEnd* end) {
  const std::string range = "[" + from.ToString() + ", " + until.ToString() + ")";
  end->resume = from;
  end->fetch_error = false;
  end->continued = next_ == from;
  ++reads_;
  if (!end->continued) {
    Status s = Seek(from, read_timeout);
    if (!s.ok()) {
      end->fetch_error = true;
      return s;
    }
  }
  next_ = Offset(-1);  // until this read succeeds

  std::vector<HeaderView> headers;
  int64_t next = from.value();  // every record below this was handed to fn
  auto deadline = StreamClock::now() + read_timeout;
  while (true) {
    KafkaMessage m = std::move(pending_);
    if (m == nullptr) {
      // The position moves past transaction markers and aborted records too, so it is what
      // tells that the range is complete when its last offsets are not records.
      const int64_t position = Position();
      if (position >= until.value()) break;
      m.reset(rd_kafka_consumer_poll(consumer_.get(), 100));
      if (m == nullptr) {
        if (StreamClock::now() >= deadline) {
          return Status::OutOfRange(where_ + ": the range " + range +
                                    " could not be read: nothing past offset " +
                                    std::to_string(std::max(position, next)) + " arrived within " +
                                    std::to_string(read_timeout.count()) + " ms");
        }
        continue;
      }
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      end->fetch_error = true;
      const std::string detail = rd_kafka_message_errstr(m.get());
      if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
          m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        return Status::OutOfRange(where_ + ": the range " + range +
                                  " is no longer (or not yet) in the topic: " + detail);
      }
      return kafka::ErrorStatus(where_ + ": read " + range, m->err).WithContext(detail);
    }
    // Below `next`: nothing the consumer can hand after a seek (see the class comment), and
    // never a record of this range; skipped rather than trusted.
    if (m->partition != partition_.value() || m->offset < next) continue;
    if (m->offset >= until.value()) {
      pending_ = std::move(m);  // the next read's first record
      break;
    }
    deadline = StreamClock::now() + read_timeout;
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
    end->resume = Offset(next);
  }
  next_ = until;
  return Status::Ok();
}

}  // namespace onceflow::source
