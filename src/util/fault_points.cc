// Fault point registry and the ONCEFLOW_FAULTS parser.
#include "util/fault_points.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "util/power_loss.h"

namespace onceflow::faults {
namespace {

enum class Action {
  kCrash,
  kThrow,
  kSlow,
  kPause,
  kStop,
  kStopPowerLoss,
  kPowerLoss,
  kEio,
  kEnospc
};

struct Armed {
  Action action;
  std::chrono::microseconds delay{0};
  double probability = 1.0;
  int64_t nth = 0;   // 0: every hit; else the first hit that fires
  int64_t last = 0;  // with nth: the last hit that fires (#N-M); nth itself for #N
  int64_t hits = 0;
};

std::atomic<bool> g_any_armed{false};
std::mutex g_mu;
// `pause`: the points a thread waits at now, and those released. Guarded by g_mu.
std::condition_variable g_pause_cv;
std::unordered_map<std::string, int>& Paused() {
  static auto* paused = new std::unordered_map<std::string, int>();
  return *paused;
}
std::unordered_map<std::string, bool>& Released() {
  static auto* released = new std::unordered_map<std::string, bool>();
  return *released;
}
std::unordered_map<std::string, Armed>& Table() {
  static auto* table = new std::unordered_map<std::string, Armed>();
  return *table;
}
std::mt19937_64& Rng() {
  static std::mt19937_64 rng([] {
    const char* seed = std::getenv("ONCEFLOW_FAULT_SEED");
    return seed != nullptr ? std::strtoull(seed, nullptr, 10) : std::random_device{}();
  }());
  return rng;
}

Result<std::chrono::microseconds> ParseDuration(std::string_view s) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  std::string_view unit(end, static_cast<size_t>(s.data() + s.size() - end));
  if (ec != std::errc() || n < 0) {
    return Err(Status::InvalidArgument("bad duration '" + std::string(s) + "'"));
  }
  if (unit == "us") return std::chrono::microseconds(n);
  if (unit == "ms") return std::chrono::microseconds(n * 1000);
  if (unit == "s") return std::chrono::microseconds(n * 1000000);
  return Err(
      Status::InvalidArgument("bad duration '" + std::string(s) + "': use a unit, us, ms or s"));
}

Result<std::pair<std::string, Armed>> ParseOne(std::string_view item) {
  const size_t eq = item.find('=');
  if (eq == std::string_view::npos) {
    return Err(Status::InvalidArgument("ONCEFLOW_FAULTS: '" + std::string(item) +
                                       "' is not point=action"));
  }
  std::string point(item.substr(0, eq));
  std::string_view rest = item.substr(eq + 1);
  const auto& known = KnownPoints();
  if (std::find(known.begin(), known.end(), point) == known.end()) {
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    return Err(Status::InvalidArgument("ONCEFLOW_FAULTS: unknown fault point '" + point +
                                       "' (known: " + list + ")"));
  }
  Armed a;
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
    // #N: the Nth hit only; #N-M: hits N to M (a disk full for a while, then space freed).
    std::string_view n = rest.substr(hash + 1);
    std::from_chars_result r = std::from_chars(n.data(), n.data() + n.size(), a.nth);
    const char* const n_end = n.data() + n.size();
    a.last = a.nth;
    if (r.ec == std::errc() && r.ptr != n_end && *r.ptr == '-') {
      r = std::from_chars(r.ptr + 1, n_end, a.last);
    }
    if (r.ec != std::errc() || r.ptr != n_end || a.nth < 1 || a.last < a.nth) {
      return Err(Status::InvalidArgument("ONCEFLOW_FAULTS: bad #N or #N-M in '" +
                                         std::string(item) + "'"));
    }
    rest = rest.substr(0, hash);
  }
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string p(rest.substr(at + 1));
    char* end = nullptr;
    a.probability = std::strtod(p.c_str(), &end);
    if (end == p.c_str() || *end != '\0' || a.probability < 0 || a.probability > 1) {
      return Err(Status::InvalidArgument("ONCEFLOW_FAULTS: bad probability in '" +
                                         std::string(item) + "' (0 to 1)"));
    }
    rest = rest.substr(0, at);
  }
  if (rest == "crash") {
    a.action = Action::kCrash;
  } else if (rest == "throw") {
    a.action = Action::kThrow;
  } else if (rest == "stop") {
    a.action = Action::kStop;
  } else if (rest == "pause") {
    a.action = Action::kPause;
  } else if (rest == "power_loss") {
    a.action = Action::kPowerLoss;
  } else if (rest == "stop_power_loss") {
    a.action = Action::kStopPowerLoss;
  } else if (rest == "eio") {
    a.action = Action::kEio;
  } else if (rest == "enospc") {
    a.action = Action::kEnospc;
  } else if (rest.starts_with("slow:")) {
    a.action = Action::kSlow;
    ONCEFLOW_ASSIGN_OR_RETURN(a.delay, ParseDuration(rest.substr(5)));
  } else {
    return Err(Status::InvalidArgument(
        "ONCEFLOW_FAULTS: unknown action '" + std::string(rest) +
        "' (crash, throw, slow:DURATION, pause, stop, power_loss, eio, enospc)"));
  }
  return std::make_pair(std::move(point), a);
}

}  // namespace

const std::vector<std::string>& PipelinePoints() {
  // Four to a line, in protocol order.
  // clang-format off
  static const std::vector<std::string> kPoints = {
      "after_intent",      "task",               "mid_sink_write",    "before_sink_commit",
      "after_sink_commit", "after_state_commit", "before_commit_log", "after_commit_log",
  };
  // clang-format on
  return kPoints;
}

const std::vector<std::string>& KnownPoints() {
  static const std::vector<std::string> kPoints = [] {
    std::vector<std::string> all = PipelinePoints();
    all.push_back("receiver_before_ack");  // onceflow serve: after the durable append
    all.push_back("mid_state_commit");     // stateful pipelines only: the state store's write
    // The file layer (util/file.cc): before each write, each fdatasync/fsync (files and
    // directories) and each rename onceflow makes itself; `eio`/`enospc` fail that call.
    all.push_back("file_write");
    all.push_back("file_sync");
    all.push_back("file_rename");
    all.push_back("log_before_sync");  // the log's group commit: written, not yet synced
    return all;
  }();
  return kPoints;
}

Status Arm(std::string_view spec) {
  std::unordered_map<std::string, Armed> table;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (item.empty()) continue;
    ONCEFLOW_ASSIGN_OR_RETURN(auto parsed, ParseOne(item));
    // Unsynced changes must be tracked from the first file on for a power loss to forget them.
    if (parsed.second.action == Action::kPowerLoss ||
        parsed.second.action == Action::kStopPowerLoss) {
      power_loss::Enable();
    }
    table[parsed.first] = parsed.second;
  }
  std::lock_guard lock(g_mu);
  Table() = std::move(table);
  Released().clear();
  g_any_armed.store(!Table().empty(), std::memory_order_relaxed);
  return Status::Ok();
}

Status ArmFromEnvironment() {
  const char* spec = std::getenv("ONCEFLOW_FAULTS");
  if (spec == nullptr || *spec == '\0') return Status::Ok();
  // Nobody in another process can release a paused thread: it would hang for ever.
  if (std::string_view(spec).find("=pause") != std::string_view::npos) {
    return Status::InvalidArgument(
        "ONCEFLOW_FAULTS: 'pause' is for tests within one process (nothing can release it "
        "here); use slow:DURATION or crash");
  }
  return Arm(spec);
}

void DisarmAll() {
  {
    std::lock_guard lock(g_mu);
    Table().clear();
    for (const auto& [point, n] : Paused()) Released()[point] = true;
    g_any_armed.store(false, std::memory_order_relaxed);
  }
  g_pause_cv.notify_all();
}

void WaitPaused(std::string_view point) {
  std::unique_lock lock(g_mu);
  const std::string name(point);
  g_pause_cv.wait(lock, [&] { return Paused()[name] > 0; });
}

void Release(std::string_view point) {
  {
    std::lock_guard lock(g_mu);
    Released()[std::string(point)] = true;
  }
  g_pause_cv.notify_all();
}

namespace {

// Decides whether `point` fires now; *fired is the armed action if it does.
bool Fires(std::string_view point, Armed* fired) {
  std::lock_guard lock(g_mu);
  auto it = Table().find(std::string(point));
  if (it == Table().end()) return false;
  Armed& a = it->second;
  ++a.hits;
  if (a.nth > 0 && (a.hits < a.nth || a.hits > a.last)) return false;
  if (a.probability < 1.0 && std::uniform_real_distribution<double>(0, 1)(Rng()) >= a.probability) {
    return false;
  }
  *fired = a;
  return true;
}

Status Perform(std::string_view point, const Armed& fired) {
  switch (fired.action) {
    case Action::kCrash: {
      std::string msg = "onceflow: fault point " + std::string(point) + ": crash\n";
      (void)!::write(2, msg.data(), msg.size());
      // exit_group directly: _exit may be intercepted (sanitizers finalise there while the
      // other threads run on, committing what a real crash would not). This ends every thread
      // at once, like kill -9.
      ::syscall(SYS_exit_group, kCrashExitCode);
      ::_exit(kCrashExitCode);  // not reached
    }
    case Action::kThrow:
      return Status::Aborted("injected fault at " + std::string(point)).WithRetryable(true);
    case Action::kSlow: std::this_thread::sleep_for(fired.delay); return Status::Ok();
    case Action::kStop: {
      // The whole process stops (every thread, as SIGSTOP from outside would) exactly here; the
      // line tells a test that it may act now and send SIGCONT.
      std::string msg = "onceflow: fault point " + std::string(point) + ": stopped\n";
      (void)!::write(2, msg.data(), msg.size());
      ::raise(SIGSTOP);
      return Status::Ok();
    }
    case Action::kStopPowerLoss: {
      // As `stop`; the power goes out when the test sends SIGCONT (after acting on the state
      // the process was stopped in: another process reading what it wrote and had not synced).
      std::string msg = "onceflow: fault point " + std::string(point) + ": stopped\n";
      (void)!::write(2, msg.data(), msg.size());
      ::raise(SIGSTOP);
      power_loss::LoseAndExit("fault point " + std::string(point));
    }
    case Action::kPowerLoss: power_loss::LoseAndExit("fault point " + std::string(point));
    case Action::kEio: return Status::IoError("injected EIO at fault point " + std::string(point));
    case Action::kEnospc:
      return Status::IoError("injected ENOSPC at fault point " + std::string(point));
    case Action::kPause: {
      std::unique_lock lock(g_mu);
      const std::string name(point);
      ++Paused()[name];
      g_pause_cv.notify_all();
      g_pause_cv.wait(lock, [&] { return Released()[name]; });
      --Paused()[name];
      return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace

bool AnyArmed() { return g_any_armed.load(std::memory_order_relaxed); }

int HitIo(std::string_view point) {
  if (!g_any_armed.load(std::memory_order_relaxed)) return 0;
  Armed fired;
  if (!Fires(point, &fired)) return 0;
  switch (fired.action) {
    case Action::kEio:
    case Action::kThrow: {
      std::string msg = "onceflow: fault point " + std::string(point) + ": EIO\n";
      (void)!::write(2, msg.data(), msg.size());
      return EIO;
    }
    case Action::kEnospc: {
      std::string msg = "onceflow: fault point " + std::string(point) + ": ENOSPC\n";
      (void)!::write(2, msg.data(), msg.size());
      return ENOSPC;
    }
    default: break;
  }
  return Perform(point, fired).ok() ? 0 : EIO;
}

Status Hit(std::string_view point) {
  if (!g_any_armed.load(std::memory_order_relaxed)) return Status::Ok();
  Armed fired;
  if (!Fires(point, &fired)) return Status::Ok();
  return Perform(point, fired);
}

}  // namespace onceflow::faults
