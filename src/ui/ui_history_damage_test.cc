// A damaged or unreadable batch history with the `onceflow` binary: the run names it in one
// line and runs on with exact output; `onceflow ui` (already serving, its cache holding the
// history, or new) names it in the pipeline's answer and keeps what it can read.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <simdjson.h>
#include <sqlite3.h>

#include <thread>

#include "testing/cli_test_base.h"
#include "util/file.h"

namespace onceflow::testing {
namespace {

// Waits for "serving http://127.0.0.1:" and a port on the process's stderr; 0 if it exited.
int HistoryDamageUiPort(Process& p) {
  const std::string marker = "serving http://127.0.0.1:";
  const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string err = p.err();
    const size_t at = err.find(marker);
    if (at != std::string::npos &&
        err.find_first_not_of("0123456789", at + marker.size()) != std::string::npos) {
      return std::stoi(err.substr(at + marker.size()));
    }
    if (p.Poll()) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return 0;
}

// GET `path` of the UI at `port`: the pipeline's JSON answer, parsed into `doc`.
void HistoryDamageGet(int port, const std::string& path, simdjson::dom::parser& parser,
                      std::string& body, simdjson::dom::element& doc) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::duration_cast<std::chrono::seconds>(kHangGuard));
  auto res = client.Get(path);
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 200) << res->body;
  body = res->body;
  ASSERT_EQ(parser.parse(body).get(doc), simdjson::SUCCESS) << body;
}

// The ids of table `events` in `db`, in id order.
std::vector<int64_t> HistoryDamageIds(const std::string& db) {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> handle(raw, sqlite3_close_v2);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(raw, "SELECT id FROM events ORDER BY id", -1, &stmt, nullptr),
            SQLITE_OK);
  std::vector<int64_t> ids;
  while (sqlite3_step(stmt) == SQLITE_ROW) ids.push_back(sqlite3_column_int64(stmt, 0));
  sqlite3_finalize(stmt);
  return ids;
}

class UiHistoryDamageTest : public CliTestBase {};

TEST_F(UiHistoryDamageTest, ADamagedHistoryFileIsOneLineTheRunGoesOnAndTheUiNamesIt) {
  ASSERT_EQ(RunData({"topics", "create", "events", "--partitions", "1"}).exit_code, 0);
  auto produce = [&](int from, int to) {
    std::string input;
    for (int i = from; i <= to; ++i) input += "{\"id\":" + std::to_string(i) + "}\n";
    ASSERT_EQ(RunData({"produce", "events"}, input).exit_code, 0);
  };
  produce(1, 10);
  const std::string toml = tmp_ + "/events.toml";
  WriteWholeFile(toml, R"toml(name = "events"
max_records_per_partition = 1
[source]
topic = "events"
[sink]
path = "out.db"
init = ["CREATE TABLE IF NOT EXISTS events(id INTEGER)"]
table = "events"
)toml");
  RunResult first = RunData({"run", toml, "--until-caught-up"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  Process ui({"ui", "--data", data_, "--http", "127.0.0.1:0"}, "/dev/null", TempPath("ui.out"),
             TempPath("ui.err"));
  const int port = HistoryDamageUiPort(ui);
  ASSERT_GT(port, 0) << ui.err();
  simdjson::dom::parser parser;
  std::string body;
  simdjson::dom::element doc;
  HistoryDamageGet(port, "/api/v1/pipelines/events", parser, body, doc);
  if (HasFatalFailure()) return;
  EXPECT_EQ(int64_t(doc["totals"]["batches"]), 10) << body;
  EXPECT_EQ(std::string_view(doc["history_warning"]), "") << body;

  // One byte of the 5th batch's record flipped: its file is damaged from there on.
  const std::string dir = data_ + "/pipelines/events/history";
  Result<std::vector<std::string>> names = ListDir(dir);
  ASSERT_TRUE(names.has_value() && names->size() == 1u);
  const std::string file = dir + "/" + names->front();
  Result<std::string> bytes = ReadFileToString(file);
  ASSERT_TRUE(bytes.has_value());
  const size_t at = bytes->find("\"batch_id\":4,");
  ASSERT_NE(at, std::string::npos);
  (*bytes)[at + 11] = '7';
  WriteWholeFile(file, *bytes);

  // The run goes on: one line naming the file, exit 0, every record once.
  produce(11, 20);
  RunResult second = RunData({"run", toml, "--until-caught-up"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  size_t lines_naming = 0;
  for (const std::string& line : SplitLines(second.err)) {
    if (line.find(file) != std::string::npos) {
      ++lines_naming;
      EXPECT_NE(line.find("damaged"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(lines_naming, 1u) << second.err;
  std::vector<int64_t> expected;
  for (int64_t i = 1; i <= 20; ++i) expected.push_back(i);
  EXPECT_EQ(HistoryDamageIds(tmp_ + "/out.db"), expected);

  // The UI that was serving (its cache held the file, which changed in place) and a new one
  // both hold the new batches, name the damage and keep the 4 records before it.
  Process fresh({"ui", "--data", data_, "--http", "127.0.0.1:0"}, "/dev/null", TempPath("ui2.out"),
                TempPath("ui2.err"));
  const int fresh_port = HistoryDamageUiPort(fresh);
  ASSERT_GT(fresh_port, 0) << fresh.err();
  for (int p : {port, fresh_port}) {
    HistoryDamageGet(p, "/api/v1/pipelines/events", parser, body, doc);
    if (HasFatalFailure()) return;
    // 0..3; 9, written back from its intent at the second run's start (the checkpoint's last
    // commit, whose record the damage hid: reconstructed, rows_out unknown); 10..19.
    EXPECT_EQ(int64_t(doc["totals"]["batches"]), 15) << body;
    EXPECT_EQ(int64_t(doc["totals"]["rows_out"]), 14) << body;
    EXPECT_EQ(int64_t(doc["last_batch"]["batch_id"]), 19) << body;
    const std::string warning{std::string_view(doc["history_warning"])};
    EXPECT_NE(warning.find("history file " + file + " is damaged at offset"), std::string::npos)
        << body;
  }
  for (Process* p : {&ui, &fresh}) {
    p->Signal(SIGTERM);
    EXPECT_EQ(p->Wait(), 0) << p->err();
  }
}

TEST_F(UiHistoryDamageTest, AnUnreadableHistoryIsOneLineTheRunGoesOnAndTheUiSaysWhy) {
  ASSERT_EQ(RunData({"topics", "create", "events", "--partitions", "1"}).exit_code, 0);
  std::string input;
  for (int i = 1; i <= 6; ++i) input += "{\"id\":" + std::to_string(i) + "}\n";
  ASSERT_EQ(RunData({"produce", "events"}, input).exit_code, 0);
  const std::string toml = tmp_ + "/events.toml";
  WriteWholeFile(toml, R"toml(name = "events"
max_records_per_partition = 2
[source]
topic = "events"
[sink]
path = "out.db"
init = ["CREATE TABLE IF NOT EXISTS events(id INTEGER)"]
table = "events"
)toml");
  // The history directory is a file: it can be neither listed nor written.
  const std::string history = data_ + "/pipelines/events/history";
  ASSERT_TRUE(CreateDirs(data_ + "/pipelines/events").ok());
  WriteWholeFile(history, "not a directory");
  RunResult run = RunData({"run", toml, "--until-caught-up"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  size_t lines_naming = 0;
  for (const std::string& line : SplitLines(run.err)) {
    if (line.find(history) != std::string::npos) ++lines_naming;
  }
  EXPECT_EQ(lines_naming, 1u) << run.err;
  EXPECT_EQ(HistoryDamageIds(tmp_ + "/out.db"), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  Process ui({"ui", "--data", data_, "--http", "127.0.0.1:0"}, "/dev/null", TempPath("ui.out"),
             TempPath("ui.err"));
  const int port = HistoryDamageUiPort(ui);
  ASSERT_GT(port, 0) << ui.err();
  simdjson::dom::parser parser;
  std::string body;
  simdjson::dom::element doc;
  HistoryDamageGet(port, "/api/v1/pipelines/events", parser, body, doc);
  if (HasFatalFailure()) return;
  const std::string warning{std::string_view(doc["history_warning"])};
  EXPECT_NE(warning.find("history of events unreadable"), std::string::npos) << body;
  EXPECT_NE(warning.find(history), std::string::npos) << body;
  EXPECT_EQ(int64_t(doc["checkpoint"]["last_committed_batch"]), 2) << body;
  ui.Signal(SIGTERM);
  EXPECT_EQ(ui.Wait(), 0) << ui.err();
}

}  // namespace
}  // namespace onceflow::testing
