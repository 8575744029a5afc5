// Shared by the receiver's end-to-end tests: an `onceflow serve` child that can be SIGKILLed
// and restarted on the same port, and the checks of a topic's contents by unique record id.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli_test_util.h"
#include "log/partition_reader.h"
#include "log/topic.h"

namespace onceflow::cli::testing {

// `onceflow serve --data DATA --http 127.0.0.1:PORT` as a child; Start() waits until it listens.
class ServeProcess {
 public:
  ServeProcess(std::string data, std::string tmp, std::vector<std::string> extra = {})
      : data_(std::move(data)), tmp_(std::move(tmp)), extra_(std::move(extra)) {}

  // Starts the server (on the port of the first start after the first); returns false if it
  // exited instead of listening. `env` entries go to the child (ONCEFLOW_FAULTS...).
  bool Start(const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> args = {"serve", "--data", data_, "--http",
                                     "127.0.0.1:" + std::to_string(port_),
                                     "--snapshot-interval-s", "1"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    err_path_ = tmp_ + "/serve.err." + std::to_string(++starts_);
    proc_ = std::make_unique<Process>(args, "/dev/null", tmp_ + "/serve.out", err_path_, env);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string err = ReadWholeFile(err_path_);
      const size_t at = err.find("listening on http://127.0.0.1:");
      if (at != std::string::npos) {
        if (port_ == 0) port_ = std::stoi(err.substr(at + 30));
        return true;
      }
      if (proc_->Poll()) {
        ADD_FAILURE() << "serve exited: " << err;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ADD_FAILURE() << "serve did not start listening";
    return false;
  }
  std::optional<int> Poll() { return proc_ ? proc_->Poll() : std::optional<int>(0); }
  void Kill() {
    proc_->Signal(SIGKILL);
    proc_->Wait();
  }
  // SIGTERM; returns the exit code (-1, and a test failure, if it still runs after `timeout`).
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    proc_->Signal(SIGTERM);
    return proc_->Wait(timeout);
  }
  std::string err() const { return ReadWholeFile(err_path_); }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string data_, tmp_;
  std::vector<std::string> extra_;
  std::unique_ptr<Process> proc_;
  std::string err_path_;
  int port_ = 0;
  int starts_ = 0;
};

// Every record value of the topic, partition by partition.
inline std::vector<std::string> TopicValues(const std::string& data, const std::string& topic) {
  std::vector<std::string> out;
  auto t = log::Topic::Open(data, topic, /*read_only=*/true);
  EXPECT_TRUE(t.has_value());
  if (!t.has_value()) return out;
  for (int32_t p = 0; p < (*t)->partition_count(); ++p) {
    log::PartitionLog* plog = *(*t)->partition(PartitionId(p));
    log::PartitionReader reader(plog, plog->earliest_offset());
    RecordView rec;
    Offset off;
    while (true) {
      auto more = reader.Next(&rec, &off);
      EXPECT_TRUE(more.has_value());
      if (!more.has_value() || !*more) break;
      out.emplace_back(rec.value);
    }
  }
  return out;
}

// "" if every id in `acked` occurs exactly once in `stored` and no id occurs twice, else the
// first problems found.
inline std::string CheckExactlyOnce(const std::vector<std::string>& stored,
                                    const std::set<std::string>& acked) {
  std::map<std::string, int> count;
  for (const std::string& v : stored) ++count[v];
  std::string problems;
  int shown = 0;
  for (const auto& [v, n] : count) {
    if (n > 1 && shown++ < 10) problems += "'" + v + "' stored " + std::to_string(n) + " times\n";
  }
  for (const std::string& v : acked) {
    if (!count.contains(v) && shown++ < 10) problems += "acknowledged '" + v + "' is missing\n";
  }
  return problems;
}

// The `id` column of every row of `table` in the SQLite database at `path`.
inline std::vector<std::string> SqliteIds(const std::string& path, const std::string& table) {
  std::vector<std::string> ids;
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path;
  } else {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, ("SELECT id FROM " + table).c_str(), -1, &st, nullptr) ==
        SQLITE_OK) {
      while (sqlite3_step(st) == SQLITE_ROW) {
        ids.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
      }
    } else {
      ADD_FAILURE() << sqlite3_errmsg(db);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return ids;
}

}  // namespace onceflow::cli::testing
