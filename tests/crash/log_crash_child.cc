// The child process of the log crash test: opens (recovering) the crash topic and appends to it
// from several threads until the parent SIGKILLs it, recording every acknowledged append in
// per-thread ack files.
//
// Usage: log_crash_child DATA_DIR ACK_DIR ITERATION THREADS SEED
//
// On stdout it prints one marker per line for the parent to time its kill by: "opened" once the
// topic is open (recovery done), "ready" once it has found where each thread's sequence resumes,
// and "roll" whenever it sees the partition gain a segment. Any error is printed to stderr and
// ends the process with a non-zero status, which the parent reports as a failure.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "log/partition_reader.h"
#include "log/record_batch.h"
#include "log/topic.h"
#include "log_crash_workload.h"
#include "util/fault_points.h"

namespace onceflow::crash {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "log_crash_child: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(2);
}

void Marker(std::string_view marker) {
  std::string line(marker);
  line += '\n';
  // The parent may have stopped reading (it is about to kill us): a failed write is harmless.
  [[maybe_unused]] ssize_t n = ::write(STDOUT_FILENO, line.data(), line.size());
}

std::unique_ptr<log::Topic> OpenOrCreateTopic(const std::string& data_dir) {
  auto topic = log::Topic::Open(data_dir, kTopicName);
  if (topic.has_value()) return std::move(*topic);
  if (!topic.error().IsNotFound()) Die("open: " + topic.error().ToString());
  // Not created yet, or a previous child was killed before topic.meta was written (partitions
  // are created first, so some may already exist: Create adopts them).
  log::TopicConfig config;
  config.partitions = 1;
  config.log.durability = log::Durability::kFsync;
  config.log.segment_bytes = kSegmentBytes;
  config.log.index_interval_bytes = kIndexIntervalBytes;
  // The test picks whether segments are zero-filled ahead (a roll then adopts a preallocated
  // file) or grow as written: recovery must hold either way.
  const char* preallocate = std::getenv("ONCEFLOW_CRASH_PREALLOCATE");
  config.log.preallocate = preallocate != nullptr && std::string_view(preallocate) == "1";
  auto created = log::Topic::Create(data_dir, kTopicName, config);
  if (!created.has_value()) Die("create: " + created.error().ToString());
  return std::move(*created);
}

// Returns, for each thread, the sequence number after the highest one already in the log, so
// that a record is never appended twice, acknowledged or not.
std::vector<uint64_t> ResumeSequences(const log::PartitionLog* log, uint32_t threads) {
  std::vector<uint64_t> next(threads, 0);
  log::PartitionReader reader(log, Offset(0));
  RecordView record;
  Offset offset;
  while (true) {
    auto more = reader.Next(&record, &offset);
    if (!more.has_value()) Die("read: " + more.error().ToString());
    if (!*more) break;
    const std::optional<RecordId> id = ParseValue(record.value);
    if (!id.has_value()) Die("garbled record at offset " + offset.ToString());
    if (id->thread < threads) next[id->thread] = std::max(next[id->thread], id->seq + 1);
  }
  return next;
}

// Appends batches of 1-20 records of `thread` forever, writing an ack line after each append.
void AppendLoop(log::PartitionLog* log, const std::string& ack_path, uint32_t thread, uint64_t seq,
                uint64_t rng_seed) {
  const int fd = ::open(ack_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) Die("open " + ack_path + ": " + std::strerror(errno));
  std::mt19937_64 rng(rng_seed);
  size_t segments = log->segment_count();
  while (true) {
    const auto count = static_cast<uint32_t>(1 + rng() % 20);
    log::BatchBuilder builder;
    for (uint32_t i = 0; i < count; ++i) {
      const ExpectedRecord r = MakeRecord({thread, seq + i});
      std::vector<HeaderView> headers;
      for (const Header& h : r.headers) headers.push_back({h.key, h.value});
      RecordView view;
      if (r.key) view.key = *r.key;
      view.value = r.value;
      view.timestamp_ms = r.timestamp_ms;
      view.headers = headers;
      builder.Add(view);  // copies the bytes
    }
    auto offset = log->Append(builder.Finish());
    if (!offset.has_value()) Die("append: " + offset.error().ToString());
    const std::string line = FormatAck({offset->value(), count, thread, seq});
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      Die("write " + ack_path + ": " + std::strerror(errno));
    }
    seq += count;
    if (thread == 0) {
      const size_t now = log->segment_count();
      if (now != segments) {
        segments = now;
        Marker("roll");
      }
    }
  }
}

int Main(int argc, char** argv) {
  if (argc != 6) Die("usage: log_crash_child DATA_DIR ACK_DIR ITERATION THREADS SEED");
  const std::string data_dir = argv[1];
  const std::string ack_dir = argv[2];
  const int iteration = std::atoi(argv[3]);
  const auto threads = static_cast<uint32_t>(std::atoi(argv[4]));
  const uint64_t seed = std::strtoull(argv[5], nullptr, 10);
  ::signal(SIGPIPE, SIG_IGN);
  // The power loss test arms a `power_loss` action at a file operation (ONCEFLOW_FAULTS).
  if (Status s = faults::ArmFromEnvironment(); !s.ok()) Die(s.ToString());

  std::unique_ptr<log::Topic> topic = OpenOrCreateTopic(data_dir);
  Marker("opened");
  auto partition = topic->partition(PartitionId(0));
  if (!partition.has_value()) Die(partition.error().ToString());
  log::PartitionLog* log = *partition;
  const std::vector<uint64_t> next = ResumeSequences(log, threads);
  Marker("ready");

  std::vector<std::thread> appenders;
  for (uint32_t t = 0; t < threads; ++t) {
    appenders.emplace_back(AppendLoop, log, JoinPath(ack_dir, AckFileName(iteration, t)), t,
                           next[t], Mix(seed ^ (static_cast<uint64_t>(iteration) << 8) ^ t));
  }
  for (std::thread& t : appenders) t.join();  // never: the threads append until killed
  return 0;
}

}  // namespace
}  // namespace onceflow::crash

int main(int argc, char** argv) { return onceflow::crash::Main(argc, argv); }
