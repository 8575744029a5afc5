// Crash test of the embedded log: a child process appends from several threads with fsync
// durability and is SIGKILLed at random moments, again and again; after every kill the log is
// reopened (recovered) and checked against what the child acknowledged.
//
// What is checked after every kill (see Verify):
//   - every acknowledged record is at exactly its acknowledged offset, with exactly its content;
//   - offsets run contiguously from 0 and every record is readable and intact;
//   - per appender thread, the sequence numbers in offset order are exactly 0, 1, 2, ...: no
//     record appears twice (acknowledged or not), none is lost before a later one of the same
//     thread, and a thread's order is the log's order.
//
// ONCEFLOW_CRASH_ITERATIONS sets the number of kills of each test (the `slow` soak sets 300),
// and ONCEFLOW_CRASH_SEED replays a run (every test prints its seed).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "log/log_format.h"
#include "log/partition_reader.h"
#include "log/record_batch.h"
#include "log/segment_name.h"
#include "log/topic.h"
#include "log_crash_workload.h"
#include "util/power_loss.h"

extern char** environ;

namespace onceflow::crash {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr uint32_t kThreads = 4;
// Past this much log the data is wiped and the workload starts afresh, so that a soak's
// verification time stays flat.
constexpr uint64_t kResetLogBytes = 32u << 20;

int IntFromEnv(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

uint64_t SeedFromEnv() {
  const char* v = std::getenv("ONCEFLOW_CRASH_SEED");
  if (v != nullptr && *v != '\0') return std::strtoull(v, nullptr, 10);
  return std::random_device{}();
}

std::string ChildPath() {
  const char* v = std::getenv("ONCEFLOW_CRASH_CHILD");
  return v != nullptr && *v != '\0' ? v : ONCEFLOW_CRASH_CHILD;
}

// When the parent kills the child.
enum class KillPoint {
  kTimed,       // 50-400 ms after the child starts appending: mid-append, often mid-roll
  kDuringOpen,  // 0-15 ms after the start: often while the child recovers the log
  kAfterReady,  // 0-5 ms after the child starts appending: the first group writes
  kAfterRoll,   // 0-2 ms after the child saw a segment roll: sealing and preallocation
  kPowerLoss,   // not killed: a `power_loss` fault armed in the child ends it (exit 87)
};

const char* KillPointName(KillPoint p) {
  switch (p) {
    case KillPoint::kTimed: return "timed";
    case KillPoint::kDuringOpen: return "during-open";
    case KillPoint::kAfterReady: return "after-ready";
    case KillPoint::kAfterRoll: return "after-roll";
    case KillPoint::kPowerLoss: return "power-loss";
  }
  return "?";
}

class LogCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/onceflow-crash-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    root_ = tmpl;
    data_ = JoinPath(root_, "data");
    acks_ = JoinPath(root_, "acks");
    ASSERT_TRUE(CreateDirs(data_).ok());
    ASSERT_TRUE(CreateDirs(acks_).ok());
    seed_ = SeedFromEnv();
    rng_.seed(seed_);
    std::printf("seed %llu (replay with ONCEFLOW_CRASH_SEED), data in %s\n",
                static_cast<unsigned long long>(seed_), root_.c_str());
    RecordProperty("seed", std::to_string(seed_));
  }

  void TearDown() override {
    std::printf(
        "%d kills, %d during appends; %d recoveries cut a torn tail; %lld records checked in "
        "the last log (%zu segments); %d workload resets\n",
        kills_, kills_mid_append_, torn_tails_, static_cast<long long>(records_), segments_,
        resets_);
    if (HasFailure()) {
      std::printf("kept %s for inspection\n", root_.c_str());
    } else {
      RemoveAll(root_).IgnoreError();  // best effort: it is under TMPDIR
    }
  }

  // Runs the child for `iteration` and SIGKILLs it at `point`. kPowerLoss: the child runs with
  // ONCEFLOW_FAULTS=`faults` (a power_loss action), which must end it with power_loss::kExitCode
  // after forgetting every unsynced change.
  void RunAndKill(int iteration, KillPoint point, const std::string& faults = "") {
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0) << std::strerror(errno);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    const std::string child = ChildPath();
    std::vector<std::string> args = {child,
                                     data_,
                                     acks_,
                                     std::to_string(iteration),
                                     std::to_string(kThreads),
                                     std::to_string(seed_)};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (point == KillPoint::kPowerLoss) ::setenv("ONCEFLOW_FAULTS", faults.c_str(), 1);
    const int rc = ::posix_spawn(&pid, child.c_str(), &actions, nullptr, argv.data(), environ);
    ::unsetenv("ONCEFLOW_FAULTS");
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ASSERT_EQ(rc, 0) << "spawn " << child << ": " << std::strerror(rc);

    const auto start = steady_clock::now();
    std::optional<steady_clock::time_point> kill_at;
    auto in_ms = [&](int lo, int hi) {
      return steady_clock::now() + std::chrono::microseconds(std::uniform_int_distribution<int>(
                                       lo * 1000, hi * 1000)(rng_));
    };
    if (point == KillPoint::kDuringOpen) kill_at = in_ms(0, 15);
    // The armed points wait for their marker, but never longer than this (a power loss: the
    // hang guard of a child that should have ended by itself).
    const auto give_up = start + std::chrono::seconds(point == KillPoint::kPowerLoss ? 120 : 10);
    bool ready = false, exited = false;
    std::string pending;
    while (true) {
      const auto now = steady_clock::now();
      const auto until = kill_at.value_or(give_up);
      if (now >= until) break;
      const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(until - now);
      timespec ts{static_cast<time_t>(left.count() / 1000000000),
                  static_cast<long>(left.count() % 1000000000)};
      pollfd p{out[0], POLLIN, 0};
      if (::ppoll(&p, 1, &ts, nullptr) <= 0) continue;
      char buf[256];
      const ssize_t n = ::read(out[0], buf, sizeof(buf));
      if (n <= 0) {  // the child closed stdout: it exited by itself
        exited = true;
        break;
      }
      pending.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        const std::string marker = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        if (marker == "ready") ready = true;
        if (kill_at) continue;
        if (point == KillPoint::kTimed && marker == "ready") kill_at = in_ms(50, 400);
        if (point == KillPoint::kAfterReady && marker == "ready") kill_at = in_ms(0, 5);
        if (point == KillPoint::kAfterRoll && marker == "roll") kill_at = in_ms(0, 2);
      }
    }
    if (!exited) ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ::close(out[0]);
    if (point == KillPoint::kPowerLoss) {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == power_loss::kExitCode)
          << "iteration " << iteration << " (" << faults << "): the child did not end by its "
          << "power loss (status " << status << "; exit code "
          << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << "): see its stderr above";
      ++kills_;
      if (ready) ++kills_mid_append_;
      return;
    }
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "iteration " << iteration << ": the child ended by itself (status " << status
        << "; exit code " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1)
        << "): see its stderr above";
    ++kills_;
    if (ready) ++kills_mid_append_;
  }

  // The last (active) segment file of the partition and its base offset; empty if none.
  std::pair<std::string, Offset> ActiveSegment() const {
    const std::string dir = JoinPath(log::TopicDir(data_, kTopicName), "0");
    auto names = ListDir(dir);
    std::pair<std::string, Offset> last{"", Offset(0)};
    if (!names.has_value()) return last;
    for (const std::string& name : *names) {
      auto parsed = log::ParseSegmentFileName(name);
      if (parsed && parsed->kind == log::SegmentFileKind::kLog) {
        last = {JoinPath(dir, name), parsed->base_offset};
      }
    }
    return last;
  }

  // Damages the bytes of the active segment after the last acknowledged batch that belong to
  // the last group write, as a power loss in the middle of that write could: the file is cut
  // short, bytes are garbled, sectors are left zero, or stale but valid batches follow the data.
  // Recovery must keep every acknowledged record. Only the last group write can be torn (an
  // earlier group's fdatasync returned before the next group was written: damage there is
  // corruption, see RecoveryTest.FlippedByteBeforeALaterGroupWriteIsCorruptionNotATornTail),
  // so earlier unacknowledged groups are left alone. Returns what it did, for failure messages.
  std::string GarbleUnacknowledgedTail() {
    auto acks = ReadAcks(acks_);
    if (!acks.has_value()) return "no acks";
    int64_t acked_end = 0;
    for (const Ack& a : *acks) acked_end = std::max<int64_t>(acked_end, a.offset + a.count);
    const auto [path, base] = ActiveSegment();
    if (path.empty()) return "no segment";
    auto contents = ReadFileToString(path);
    if (!contents.has_value()) return "unreadable segment";
    const std::string& bytes = *contents;

    // Walk the batches as recovery does, noting where the acknowledged ones end.
    uint64_t pos = 0, acked_pos = 0, last_group = 0;
    Offset expected = base;
    std::vector<std::pair<uint64_t, uint32_t>> batches;  // position, length
    while (pos + log::kBatchHeaderSize <= bytes.size()) {
      auto header = log::ParseBatchHeader(std::string_view(bytes).substr(pos));
      if (!header.has_value() || header->base_offset != expected ||
          pos + header->length > bytes.size() ||
          !log::BatchView::Parse(std::string_view(bytes).substr(pos, header->length)).has_value()) {
        break;
      }
      batches.emplace_back(pos, header->length);
      if (header->starts_group()) last_group = pos;
      expected = header->next_offset();
      pos += header->length;
      if (expected.value() <= acked_end) acked_pos = pos;
    }
    const uint64_t data_end = pos;
    // What a torn write can touch: the last group write, minus its acknowledged batches.
    acked_pos = std::max(acked_pos, last_group);
    if (expected.value() < acked_end && acked_end > base.value()) {
      return "acknowledged data missing before garbling";  // Verify reports it
    }
    auto file = File::Open(path, File::Mode::kReadWrite);
    if (!file.has_value()) return "cannot open segment";
    auto uniform = [&](uint64_t lo, uint64_t hi) {  // in [lo, hi]
      return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
    };
    auto random_bytes = [&](size_t n) {
      std::string s(n, '\0');
      for (char& c : s) c = static_cast<char>(rng_());
      return s;
    };
    std::string what;
    Status s;
    switch (uniform(0, 4)) {
      case 0: {  // the file ends part-way through the unacknowledged batches
        const uint64_t at = uniform(acked_pos, data_end);
        s = file->Truncate(at);
        what = "truncated at " + std::to_string(at);
        break;
      }
      case 1: {  // scattered garbled bytes, also just past the data
        const int n = static_cast<int>(uniform(1, 32));
        for (int i = 0; i < n && s.ok(); ++i) {
          s = file->WriteAt(uniform(acked_pos, data_end + 64), random_bytes(1));
        }
        what = std::to_string(n) + " garbled bytes";
        break;
      }
      case 2: {  // a run of garbage
        const uint64_t at = uniform(acked_pos, data_end);
        const size_t n = uniform(1, 6000);
        s = file->WriteAt(at, random_bytes(n));
        what = std::to_string(n) + " garbage bytes at " + std::to_string(at);
        break;
      }
      case 3: {  // the sectors from some point on were never written
        const uint64_t at = std::max(acked_pos, uniform(acked_pos, data_end) / 512 * 512);
        s = file->WriteAt(at, std::string(data_end - at, '\0'));
        what = "zeroed from " + std::to_string(at);
        break;
      }
      case 4: {  // a stale copy of an earlier batch (valid CRC, wrong offset) after the data
        if (batches.empty()) {
          what = "nothing to copy";
          break;
        }
        const auto [at, len] = batches[uniform(0, batches.size() - 1)];
        const uint64_t to = uniform(acked_pos, data_end);
        // Stale bytes past a torn write's end can only come from that same group write (a cut
        // truncates the file, and new segments are empty or zero-filled): none of them is the
        // first batch of a later group, so the copy carries no group mark.
        std::string stale(std::string_view(bytes).substr(at, len));
        if (static_cast<uint8_t>(stale[log::kAttributesPos]) & log::kAttrGroupStart) {
          stale[log::kAttributesPos] = static_cast<char>(
              static_cast<uint8_t>(stale[log::kAttributesPos]) & ~log::kAttrGroupStart);
          coding::EncodeFixed32(
              stale.data() + log::kCrcPos,
              crc32c::Value(stale.data() + log::kCrcStart, stale.size() - log::kCrcStart));
        }
        s = file->WriteAt(to, stale);
        what = "stale batch copied to " + std::to_string(to);
        break;
      }
    }
    if (!s.ok()) return "garbling failed: " + s.ToString();
    return what + " of " + path + " (acknowledged data ends at byte " + std::to_string(acked_pos) +
           ", valid data at " + std::to_string(data_end) + ")";
  }

  // Reads the whole partition and checks it against the acks (see the top of the file).
  // Returns the identity of the record at each offset in *ids.
  static void CheckLog(const log::PartitionLog* log, const std::vector<Ack>& acks,
                       std::vector<RecordId>* ids) {
    ASSERT_EQ(log->earliest_offset(), Offset(0));
    std::vector<uint64_t> next_seq(kThreads, 0);
    std::set<std::pair<uint32_t, uint64_t>> seen;
    log::PartitionReader reader(log, Offset(0));
    RecordView record;
    Offset offset;
    while (true) {
      auto more = reader.Next(&record, &offset);
      ASSERT_TRUE(more.has_value())
          << "read at offset " << ids->size() << ": " << more.error().ToString();
      if (!*more) break;
      ASSERT_EQ(offset.value(), static_cast<int64_t>(ids->size())) << "offsets are not contiguous";
      const std::optional<RecordId> id = ParseValue(record.value);
      ASSERT_TRUE(id.has_value()) << "garbled value at offset " << offset.value();
      ASSERT_LT(id->thread, kThreads) << "at offset " << offset.value();
      const ExpectedRecord want = MakeRecord(*id);
      ASSERT_EQ(record.value, want.value) << "at offset " << offset.value();
      ASSERT_EQ(record.key, want.key) << "at offset " << offset.value();
      ASSERT_EQ(record.timestamp_ms, want.timestamp_ms) << "at offset " << offset.value();
      ASSERT_EQ(record.headers.size(), want.headers.size()) << "at offset " << offset.value();
      for (size_t i = 0; i < want.headers.size(); ++i) {
        ASSERT_EQ(record.headers[i].key, want.headers[i].key);
        ASSERT_EQ(record.headers[i].value, want.headers[i].value);
      }
      ASSERT_TRUE(seen.insert({id->thread, id->seq}).second)
          << "record (thread " << id->thread << ", seq " << id->seq << ") appears twice, again "
          << "at offset " << offset.value();
      // A thread appends seq s+1 only after the append of s returned, so the log holds each
      // thread's records as 0, 1, 2, ... in offset order.
      ASSERT_EQ(id->seq, next_seq[id->thread])
          << "thread " << id->thread << " out of sequence at offset " << offset.value()
          << " (an earlier record of the thread is missing or misplaced)";
      ++next_seq[id->thread];
      ids->push_back(*id);
    }
    ASSERT_EQ(log->end_offset().value(), static_cast<int64_t>(ids->size()));

    for (const Ack& a : acks) {
      for (uint32_t i = 0; i < a.count; ++i) {
        const int64_t at = a.offset + i;
        ASSERT_LT(at, static_cast<int64_t>(ids->size()))
            << "acknowledged record (thread " << a.thread << ", seq " << a.seq + i << ") at offset "
            << at << " is lost: the log ends at " << ids->size();
        const RecordId& got = (*ids)[static_cast<size_t>(at)];
        ASSERT_EQ(got, (RecordId{a.thread, a.seq + i}))
            << "offset " << at << " holds (thread " << got.thread << ", seq " << got.seq
            << ") instead of the acknowledged (thread " << a.thread << ", seq " << a.seq + i << ")";
      }
    }
  }

  // Checks the log after a kill: first through a read-only open (which must see every
  // acknowledged record without changing a file, and nothing past the published durable end),
  // then through a read-write open, which recovers the log (and may keep a group that was
  // written but not yet synced: the OS keeps it across a kill); then a read-only open again,
  // which must see exactly what recovery kept once the writer published it. Closes the log
  // before returning.
  void Verify(int iteration, const std::string& context) {
    SCOPED_TRACE("iteration " + std::to_string(iteration) + ": " + context);
    auto acks = ReadAcks(acks_);
    ASSERT_TRUE(acks.has_value()) << acks.error().ToString();

    std::vector<RecordId> read_only_ids;
    {
      auto topic = log::Topic::Open(data_, kTopicName, /*read_only=*/true);
      if (!topic.has_value() && topic.error().IsNotFound()) {
        // Killed before the topic was created: nothing can have been acknowledged.
        ASSERT_TRUE(acks->empty()) << "acknowledged appends to a topic that does not exist";
        return;
      }
      ASSERT_TRUE(topic.has_value()) << "read-only open: " << topic.error().ToString();
      const std::string path = ActiveSegment().first;
      std::error_code ec;
      const auto size_before = std::filesystem::file_size(path, ec);
      SCOPED_TRACE("read-only");
      ASSERT_NO_FATAL_FAILURE(
          CheckLog((*topic)->partition(PartitionId(0)).value(), *acks, &read_only_ids));
      ASSERT_EQ(std::filesystem::file_size(path, ec), size_before)
          << "a read-only open changed " << path;
    }

    auto topic = log::Topic::Open(data_, kTopicName);
    ASSERT_TRUE(topic.has_value()) << "recovery failed: " << topic.error().ToString();
    log::PartitionLog* log = (*topic)->partition(PartitionId(0)).value();
    if (!log->recovered_torn_tail().empty()) ++torn_tails_;
    std::vector<RecordId> ids;
    ASSERT_NO_FATAL_FAILURE(CheckLog(log, *acks, &ids));
    ASSERT_LE(read_only_ids.size(), ids.size())
        << "a read-only open saw records that recovery did not keep";
    ASSERT_TRUE(std::equal(read_only_ids.begin(), read_only_ids.end(), ids.begin()))
        << "a read-only open saw other records than recovery kept";
    {
      auto reader = log::Topic::Open(data_, kTopicName, /*read_only=*/true);
      ASSERT_TRUE(reader.has_value()) << reader.error().ToString();
      std::vector<RecordId> published_ids;
      SCOPED_TRACE("read-only after recovery");
      ASSERT_NO_FATAL_FAILURE(
          CheckLog((*reader)->partition(PartitionId(0)).value(), *acks, &published_ids));
      ASSERT_EQ(published_ids.size(), ids.size())
          << "after recovery a read-only open sees a different number of records than it kept";
    }

    records_ = static_cast<int64_t>(ids.size());
    segments_ = log->segment_count();
    const uint64_t size = log->size_bytes();
    topic->reset();  // closes the log and releases its lock before the next child
    if (size > kResetLogBytes) {
      ASSERT_TRUE(RemoveAll(data_).ok());
      ASSERT_TRUE(RemoveAll(acks_).ok());
      ASSERT_TRUE(CreateDirs(data_).ok());
      ASSERT_TRUE(CreateDirs(acks_).ok());
      ++resets_;
    }
  }

  KillPoint PickKillPoint(int iteration) {
    // The first run always gets to append; afterwards mostly timed kills, with every armed
    // point well represented.
    if (iteration == 0) return KillPoint::kTimed;
    switch (std::uniform_int_distribution<int>(0, 7)(rng_)) {
      case 0: return KillPoint::kDuringOpen;
      case 1: return KillPoint::kAfterReady;
      case 2:
      case 3: return KillPoint::kAfterRoll;
      default: return KillPoint::kTimed;
    }
  }

  std::string root_, data_, acks_;
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  int kills_ = 0, kills_mid_append_ = 0, torn_tails_ = 0, resets_ = 0;
  int64_t records_ = 0;
  size_t segments_ = 0;
};

TEST_F(LogCrashTest, KilledAppendersNeverLoseOrDuplicateAcknowledgedRecords) {
  ::setenv("ONCEFLOW_CRASH_PREALLOCATE", "1", 1);  // segments zero-filled ahead of the roll
  const int iterations = IntFromEnv("ONCEFLOW_CRASH_ITERATIONS", 32);
  for (int i = 0; i < iterations; ++i) {
    const KillPoint point = PickKillPoint(i);
    ASSERT_NO_FATAL_FAILURE(RunAndKill(i, point));
    ASSERT_NO_FATAL_FAILURE(Verify(i, std::string("killed ") + KillPointName(point)));
  }
  EXPECT_GT(kills_mid_append_, 0);
  EXPECT_GT(records_ + resets_, 0) << "the child never appended anything";
}

// A power loss instead of a SIGKILL: every change the child made and had not synced (group
// writes whose fdatasync had not returned, a segment roll's creations and renames before their
// directory's fsync, the preallocated file) is forgotten, as POSIX lets a power cut do — at the
// Nth write, fdatasync/fsync or rename, N drawn at random. Every acknowledged record is still
// there, nothing twice.
TEST_F(LogCrashTest, PowerLossAtRandomFileOperationsNeverLosesAcknowledgedRecords) {
  ::setenv("ONCEFLOW_CRASH_PREALLOCATE", "1", 1);
  const int iterations = IntFromEnv("ONCEFLOW_CRASH_ITERATIONS", 10);
  for (int i = 0; i < iterations; ++i) {
    // Writes and syncs come in pairs per group; renames once per roll (kSegmentBytes).
    const char* points[] = {"file_write", "file_sync", "file_sync", "file_rename"};
    const std::string point = points[std::uniform_int_distribution<int>(0, 3)(rng_)];
    const int n = point == "file_rename" ? std::uniform_int_distribution<int>(1, 3)(rng_)
                                         : std::uniform_int_distribution<int>(1, 150)(rng_);
    const std::string faults = point + "=power_loss#" + std::to_string(n);
    ASSERT_NO_FATAL_FAILURE(RunAndKill(i, KillPoint::kPowerLoss, faults));
    ASSERT_NO_FATAL_FAILURE(Verify(i, faults));
  }
  EXPECT_GT(kills_mid_append_, 0);
  EXPECT_GT(records_ + resets_, 0) << "the child never appended anything";
}

TEST_F(LogCrashTest, DamagedTailAfterTheLastAcknowledgedBatchIsRecovered) {
  ::unsetenv("ONCEFLOW_CRASH_PREALLOCATE");  // segments grow as they are written
  const int iterations = IntFromEnv("ONCEFLOW_CRASH_ITERATIONS", 20);
  for (int i = 0; i < iterations; ++i) {
    const KillPoint point = PickKillPoint(i);
    ASSERT_NO_FATAL_FAILURE(RunAndKill(i, point));
    const std::string what = GarbleUnacknowledgedTail();
    ASSERT_NO_FATAL_FAILURE(Verify(i, std::string("killed ") + KillPointName(point) + ", " + what));
  }
  EXPECT_GT(torn_tails_, 0) << "no damage was ever cut off: the garbling missed the data";
}

}  // namespace
}  // namespace onceflow::crash
