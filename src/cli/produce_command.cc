// `onceflow produce TOPIC`: one record per line of stdin, through the Producer.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/server_flags.h"
#include "log/producer.h"
#include "log/topic.h"
#include "receiver/http_client.h"
#include "util/file.h"

namespace onceflow::cli {
namespace {

constexpr size_t kReadChunk = 4u << 20;
// When input pauses this long, the partial batches are appended rather than held back: a
// producer fed by hand or by a slow pipe makes its records durable promptly.
constexpr int kLingerMs = 5;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// True if `fd` has input (or EOF) ready within `timeout_ms`.
bool Readable(int fd, int timeout_ms) {
  pollfd pfd{fd, POLLIN, 0};
  int n;
  do {
    n = ::poll(&pfd, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  // An fd that cannot be polled (n < 0) is read directly: the read reports any problem.
  return n != 0;
}

// Calls on_line for every line of `fd` (without "\n" or "\r\n"; a last line without a newline
// counts), with the wall-clock time at which its bytes were read. Calls on_pause when the
// input has had nothing to read for kLingerMs. Stops at the first error either returns.
Status ForEachLine(int fd, const std::function<Status(std::string_view, int64_t)>& on_line,
                   const std::function<Status()>& on_pause) {
  std::string buf(kReadChunk, '\0');
  size_t start = 0, end = 0;  // unconsumed bytes: buf[start, end)
  while (true) {
    if (start > 0) {  // move the partial line to the front to make room
      std::memmove(buf.data(), buf.data() + start, end - start);
      end -= start;
      start = 0;
    }
    if (end == buf.size()) buf.resize(buf.size() * 2);  // a line longer than the buffer
    if (!Readable(fd, 0) && !Readable(fd, kLingerMs)) ONCEFLOW_RETURN_IF_ERROR(on_pause());
    ssize_t n = ::read(fd, buf.data() + end, buf.size() - end);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", "stdin", errno);
    }
    const int64_t now = NowMs();
    if (n == 0) {
      if (end > start) {
        std::string_view line(buf.data() + start, end - start);
        if (line.ends_with('\r')) line.remove_suffix(1);
        ONCEFLOW_RETURN_IF_ERROR(on_line(line, now));
      }
      return Status::Ok();
    }
    const size_t scan_from = end;
    end += static_cast<size_t>(n);
    const char* p = buf.data() + scan_from;
    const char* limit = buf.data() + end;
    while (const char* nl = static_cast<const char*>(std::memchr(p, '\n', limit - p))) {
      std::string_view line(buf.data() + start, nl - (buf.data() + start));
      if (line.ends_with('\r')) line.remove_suffix(1);
      ONCEFLOW_RETURN_IF_ERROR(on_line(line, now));
      start = static_cast<size_t>(nl + 1 - buf.data());
      p = nl + 1;
    }
  }
}

// `produce --to URL`: batches of lines, each one request through the receiver, retried with
// the same producer id and sequence until acknowledged (so never stored twice).
Status ProduceThroughReceiver(const ProduceOptions& options) {
  if (options.key_separator) {
    return Status::InvalidArgument("--key-separator is not supported with --to (the receiver "
                                   "stores values only)");
  }
  receiver::HttpProducerOptions http;
  http.url = options.to;
  http.topic = options.topic;
  http.producer_id = options.producer_id;
  http.first_sequence = options.first_sequence;
  if (!options.token_file.empty()) {
    ONCEFLOW_ASSIGN_OR_RETURN(http.token, ReadTokenFile(options.token_file));
  }
  ONCEFLOW_ASSIGN_OR_RETURN(auto producer, receiver::HttpProducer::Create(http));
  std::vector<std::string> lines;
  size_t bytes = 0;
  uint64_t sent = 0, duplicates = 0;
  auto flush = [&]() -> Status {
    if (lines.empty()) return Status::Ok();
    std::vector<std::string_view> values(lines.begin(), lines.end());
    auto ack = producer->Send(values);
    if (!ack.has_value()) {
      return ack.error().WithContext(
          "producing to topic '" + options.topic + "' through " + options.to + " as producer " +
          producer->producer_id() + " at sequence " + std::to_string(producer->next_sequence()) +
          " (" + std::to_string(sent) + " records were acknowledged before)");
    }
    sent += lines.size();
    if (ack->duplicate) ++duplicates;
    lines.clear();
    bytes = 0;
    return Status::Ok();
  };
  auto on_line = [&](std::string_view line, int64_t) -> Status {
    lines.emplace_back(line);
    bytes += line.size();
    if (bytes >= options.batch_bytes || lines.size() >= options.batch_records) return flush();
    return Status::Ok();
  };
  ONCEFLOW_RETURN_IF_ERROR(ForEachLine(STDIN_FILENO, on_line, flush));
  ONCEFLOW_RETURN_IF_ERROR(flush());
  std::fprintf(stderr,
               "produced %llu records to topic '%s' through %s (producer %s, next sequence "
               "%lld%s)\n",
               static_cast<unsigned long long>(sent), options.topic.c_str(), options.to.c_str(),
               producer->producer_id().c_str(), static_cast<long long>(producer->next_sequence()),
               duplicates > 0 ? (", " + std::to_string(duplicates) +
                                 " requests were already stored: their first ack was lost")
                                    .c_str()
                              : "");
  return Status::Ok();
}

// `produce --csv-header`: every partition of the topic must start with `header`. Partitions that
// already start with it are left alone; empty ones get it as their first record. Checks every
// partition before writing to any, so that a refusal writes nothing.
Status WriteCsvHeaders(log::Topic* topic, std::string_view header) {
  std::vector<log::PartitionLog*> empty;
  for (int32_t i = 0; i < topic->partition_count(); ++i) {
    const PartitionId p(i);
    ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * partition, topic->partition(p));
    const std::string where = "topic '" + topic->name() + "' partition " + p.ToString();
    if (partition->end_offset() == Offset(0)) {
      empty.push_back(partition);
      continue;
    }
    if (partition->earliest_offset() > Offset(0)) {
      return Status::InvalidArgument("--csv-header: " + where +
                                     " no longer holds offset 0 (deleted by retention), so its "
                                     "header cannot be checked; produce the file into a new topic");
    }
    ONCEFLOW_ASSIGN_OR_RETURN(log::ReadResult read, partition->Read(Offset(0), 1));
    std::string first;
    if (!read.batches.empty()) {
      RecordView record;
      Offset offset;
      auto it = read.batches.front().records();
      if (it.Next(&record, &offset)) first.assign(record.value);
    }
    std::string_view trimmed = first;
    if (trimmed.ends_with('\n')) trimmed.remove_suffix(1);
    if (trimmed.ends_with('\r')) trimmed.remove_suffix(1);
    if (trimmed != header) {
      return Status::InvalidArgument(
          "--csv-header: " + where + " starts with '" + std::string(trimmed) +
          "' (offset 0), not with this file's header '" + std::string(header) +
          "': a csv topic's partitions must all start with the same header line. Produce "
          "this file into a new topic (onceflow topics create NAME --partitions N)");
    }
  }
  for (log::PartitionLog* partition : empty) {
    RecordView record;
    record.value = header;
    record.timestamp_ms = NowMs();
    ONCEFLOW_RETURN_IF_ERROR(partition->Append(std::span<const RecordView>(&record, 1)));
  }
  return Status::Ok();
}

}  // namespace

Status RunProduce(const ProduceOptions& options) {
  if (options.key_separator && options.key_separator->empty()) {
    return Status::InvalidArgument("--key-separator must not be empty");
  }
  if (!options.to.empty()) {
    if (options.csv_header) {
      return Status::InvalidArgument(
          "--csv-header is not supported with --to (a receiver picks the partitions); produce "
          "the file locally: onceflow produce TOPIC --csv-header < FILE");
    }
    return ProduceThroughReceiver(options);
  }
  ONCEFLOW_ASSIGN_OR_RETURN(auto topic, log::Topic::Open(options.data_dir, options.topic));
  ProducerOptions producer_options;
  producer_options.batch_bytes = options.batch_bytes;
  producer_options.batch_records = options.batch_records;
  ONCEFLOW_ASSIGN_OR_RETURN(auto producer, log::Producer::Create(topic.get(), producer_options));

  const std::string sep = options.key_separator.value_or("");
  bool header_pending = options.csv_header;
  auto on_line = [&](std::string_view line, int64_t now) -> Status {
    if (header_pending) {
      header_pending = false;
      if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);  // A UTF-8 BOM.
      return WriteCsvHeaders(topic.get(), line);
    }
    RecordView record;
    record.timestamp_ms = now;
    size_t at = sep.empty()       ? std::string_view::npos
                : sep.size() == 1 ? line.find(sep.front())
                                  : line.find(sep);
    if (at == std::string_view::npos) {
      record.value = line;
    } else {
      record.key = line.substr(0, at);
      record.value = line.substr(at + sep.size());
    }
    return producer->Add(record);
  };
  Status read = ForEachLine(STDIN_FILENO, on_line, [&] { return producer->Flush(); });
  Status closed = producer->Close();
  // An append error stops the reading too; report it rather than its echo.
  Status s = !closed.ok() ? closed : read;
  if (!s.ok()) {
    return s.WithContext("producing to topic '" + options.topic + "' (" +
                         std::to_string(producer->records_durable()) +
                         " records were produced durably before the error)");
  }
  std::fprintf(stderr, "produced %llu records to topic '%s'\n",
               static_cast<unsigned long long>(producer->records_durable()), options.topic.c_str());
  return Status::Ok();
}

}  // namespace onceflow::cli
