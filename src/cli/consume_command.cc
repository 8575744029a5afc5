// `onceflow consume TOPIC`: prints a topic's records to stdout, partition by partition, from a
// read-only view of the topic so that it can run while another process produces.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/data_dir.h"
#include "log/loss_record.h"
#include "log/partition_reader.h"
#include "log/topic.h"
#include "util/file.h"

namespace onceflow::cli {
namespace {

constexpr size_t kOutputBuffer = 1u << 20;
// How long a follower waits for more records before looking at the stop flag again.
constexpr auto kFollowPoll = std::chrono::milliseconds(100);

volatile std::sig_atomic_t stop_requested = 0;

extern "C" void OnStopSignal(int) { stop_requested = 1; }

// Ends --follow cleanly on SIGINT and SIGTERM: the follow loop looks at the flag at least every
// kFollowPoll. SA_RESTART keeps a write to stdout that the signal interrupts from failing.
void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Collects output in a large buffer and writes it to stdout in big chunks.
class Output {
 public:
  Output() { buffer_.reserve(kOutputBuffer + 4096); }

  void Append(std::string_view s) { buffer_.append(s); }
  void Append(char c) { buffer_.push_back(c); }
  bool full() const { return buffer_.size() >= kOutputBuffer; }

  // Writes everything buffered (and, with `sync`, fflushes stdout).
  Status Flush(bool sync = false) {
    if (!buffer_.empty() &&
        std::fwrite(buffer_.data(), 1, buffer_.size(), stdout) != buffer_.size()) {
      return ErrnoStatus("write", "stdout", errno);
    }
    buffer_.clear();
    if (sync && std::fflush(stdout) != 0) return ErrnoStatus("write", "stdout", errno);
    return Status::Ok();
  }

 private:
  std::string buffer_;
};

// One partition being read: its log and a reader positioned at the next record to print.
struct Cursor {
  PartitionId partition;
  log::PartitionLog* log;
  std::unique_ptr<log::PartitionReader> reader;
  size_t skipped_reported = 0;  // reader->skipped() entries already reported
};

class Consumer {
 public:
  Consumer(const ConsumeOptions& options, std::vector<Cursor> cursors)
      : options_(options), cursors_(std::move(cursors)) {}

  // Prints the records of cursor `c` up to the current end of its log (or to --max). Sets
  // *got_any if it printed anything.
  Status Drain(Cursor& c, bool* got_any) {
    RecordView record;
    Offset offset;
    while (!done()) {
      auto next = c.reader->Next(&record, &offset);
      if (!next.has_value()) {
        // The records before damage are printed before the error that names it.
        ONCEFLOW_RETURN_IF_ERROR(out_.Flush(/*sync=*/true));
        return next.error();
      }
      if (c.skipped_reported < c.reader->skipped().size()) {
        // A range recorded as lost: said on stderr, in order with the records around it.
        ONCEFLOW_RETURN_IF_ERROR(out_.Flush(/*sync=*/true));
        for (; c.skipped_reported < c.reader->skipped().size(); ++c.skipped_reported) {
          log::ReportLoss(c.reader->skipped()[c.skipped_reported]);
        }
      }
      if (!*next) break;
      *got_any = true;
      Print(c.partition, offset, record);
      ++printed_;
      if (out_.full()) ONCEFLOW_RETURN_IF_ERROR(out_.Flush());
    }
    return Status::Ok();
  }

  // Reads every partition to its end, in partition order.
  Status ReadToEnd() {
    for (Cursor& c : cursors_) {
      bool got_any = false;
      ONCEFLOW_RETURN_IF_ERROR(Drain(c, &got_any));
    }
    return out_.Flush(/*sync=*/true);
  }

  // Reads, then waits for more and reads it, until --max or a stop signal.
  Status Follow() {
    while (!done() && stop_requested == 0) {
      bool got_any = false;
      for (Cursor& c : cursors_) {
        // With one partition, wait on it; with several, look at each (a refresh of its files)
        // and sleep below only if none had anything.
        const auto wait = cursors_.size() == 1 ? kFollowPoll : std::chrono::milliseconds(0);
        if (c.log->WaitForMore(c.reader->position(), wait) > c.reader->position()) {
          ONCEFLOW_RETURN_IF_ERROR(Drain(c, &got_any));
        }
        if (done() || stop_requested != 0) break;
      }
      ONCEFLOW_RETURN_IF_ERROR(out_.Flush(/*sync=*/true));
      if (!got_any && cursors_.size() > 1 && stop_requested == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    return out_.Flush(/*sync=*/true);
  }

 private:
  bool done() const { return options_.max_records && printed_ >= *options_.max_records; }

  void Print(PartitionId partition, Offset offset, const RecordView& record) {
    if (options_.print_offsets) {
      char prefix[48];
      int n = std::snprintf(prefix, sizeof(prefix), "%d:%lld ", partition.value(),
                            static_cast<long long>(offset.value()));
      out_.Append(std::string_view(prefix, static_cast<size_t>(n)));
    }
    if (options_.print_keys && record.key) {
      out_.Append(*record.key);
      out_.Append(options_.key_separator);
    }
    out_.Append(record.value);
    out_.Append('\n');
  }

  const ConsumeOptions& options_;
  std::vector<Cursor> cursors_;
  Output out_;
  uint64_t printed_ = 0;
};

}  // namespace

Status RunConsume(const ConsumeOptions& options) {
  if (options.offset && !options.partition) {
    return Status::InvalidArgument("--offset requires --partition");
  }
  if (options.offset && *options.offset < 0) {
    return Status::InvalidArgument("--offset must not be negative");
  }
  ONCEFLOW_RETURN_IF_ERROR(RequireDataDir(options.data_dir));
  ONCEFLOW_ASSIGN_OR_RETURN(auto topic, log::Topic::Open(options.data_dir, options.topic,
                                                         /*read_only=*/true));
  std::vector<Cursor> cursors;
  auto add = [&](PartitionId p, std::optional<Offset> from) -> Status {
    ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * log, topic->partition(p));
    const Offset start = from ? *from : log->earliest_offset();
    cursors.push_back({p, log, std::make_unique<log::PartitionReader>(log, start)});
    return Status::Ok();
  };
  if (options.partition) {
    std::optional<Offset> from;
    if (options.offset) from = Offset(*options.offset);
    ONCEFLOW_RETURN_IF_ERROR(add(PartitionId(*options.partition), from));
  } else {
    for (int32_t p = 0; p < topic->partition_count(); ++p) {
      ONCEFLOW_RETURN_IF_ERROR(add(PartitionId(p), std::nullopt));
    }
  }
  Consumer consumer(options, std::move(cursors));
  if (!options.follow) return consumer.ReadToEnd();
  InstallStopHandlers();
  return consumer.Follow();
}

}  // namespace onceflow::cli
