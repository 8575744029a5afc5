// The UI server end to end: a small pipeline runs with the `onceflow` binary, then `onceflow ui`
// serves its data directory on a free loopback port, and every endpoint's JSON (parsed by
// simdjson) and the /metrics text (parsed by the reference Prometheus parser) hold exactly what
// the run did. Also: the token, a port in use, unknown names, and `run --ui` while it runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <simdjson.h>

#include <map>
#include <thread>

#include "testing/cli_test_base.h"
#include "util/file.h"

namespace onceflow::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Got {
  int status = 0;
  std::string body;
};

// Waits for `marker` followed by a port in the process's stderr; 0 if it exited first.
int WaitForPort(Process& p, const std::string& marker) {
  const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string err = p.err();
    const size_t at = err.find(marker);
    if (at != std::string::npos) {
      const size_t digits = at + marker.size();
      if (err.find_first_not_of("0123456789", digits) != std::string::npos) {
        return std::stoi(err.substr(digits));
      }
    }
    if (p.Poll()) {
      ADD_FAILURE() << "exited before serving: " << err;
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ADD_FAILURE() << "never served: " << p.err();
  return 0;
}

class UiServerTest : public CliTestBase {
 protected:
  static constexpr int kGood = 9;  // records that become rows; one more is not JSON

  void SetUp() override {
    CliTestBase::SetUp();
    toml_ = tmp_ + "/events.toml";
    db_ = tmp_ + "/out.db";
    ASSERT_EQ(RunData({"topics", "create", "events", "--partitions", "2"}).exit_code, 0);
    std::string input;
    for (int i = 1; i <= kGood; ++i) {
      input += "{\"id\":" + std::to_string(i) + ",\"amount\":" + std::to_string(i * 10) + "}\n";
      if (i == 4) input += "{not json\n";
    }
    ASSERT_EQ(RunData({"produce", "events"}, input).exit_code, 0);
    WriteWholeFile(toml_, R"toml(name = "events"
batch_interval_ms = 1
max_records_per_partition = 2
[source]
topic = "events"
[sink]
path = "out.db"
init = ["CREATE TABLE IF NOT EXISTS events(id INTEGER, amount INTEGER)"]
table = "events"
)toml");
  }

  void StartUi(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"ui", "--data", data_, "--http", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    ui_ = std::make_unique<Process>(args, "/dev/null", TempPath("ui.out"), TempPath("ui.err"));
    port_ = WaitForPort(*ui_, "serving http://127.0.0.1:");
    ASSERT_GT(port_, 0);
  }

  Got Get(const std::string& path, const std::string& token = "") {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(std::chrono::duration_cast<std::chrono::seconds>(kHangGuard));
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    auto res = client.Get(path, headers);
    if (!res) {
      ADD_FAILURE() << "GET " << path << ": " << httplib::to_string(res.error());
      return {};
    }
    return {res->status, res->body};
  }

  // GET `path`, expecting 200 and JSON; the parsed document lives in parser_.
  simdjson::dom::element GetJson(const std::string& path) {
    Got got = Get(path);
    EXPECT_EQ(got.status, 200) << path << ": " << got.body;
    bodies_.push_back(std::move(got.body));
    simdjson::dom::element doc;
    auto& parser = parsers_.emplace_back(std::make_unique<simdjson::dom::parser>());
    EXPECT_EQ(parser->parse(bodies_.back()).get(doc), simdjson::SUCCESS) << bodies_.back();
    return doc;
  }

  std::string toml_, db_;
  std::unique_ptr<Process> ui_;
  int port_ = 0;
  std::vector<std::string> bodies_;
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers_;
};

int64_t Int(simdjson::dom::element e) { return int64_t(e); }
std::string Str(simdjson::dom::element e) { return std::string(std::string_view(e)); }

TEST_F(UiServerTest, EveryEndpointHoldsExactlyWhatTheRunDid) {
  RunResult run = RunData({"run", toml_, "--until-caught-up"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  StartUi();

  // The batches, newest first; their ranges cover each partition's records exactly once.
  simdjson::dom::element batches = GetJson("/api/v1/pipelines/events/batches?limit=1000");
  simdjson::dom::array list = batches["batches"];
  ASSERT_GT(list.size(), 0u);
  EXPECT_TRUE(batches["next_before"].is_null());
  int64_t committed = 0, records_in = 0, rows_out = 0, dead = 0, newest = -1, previous = INT64_MAX;
  std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>> ranges;  // partition -> [from, until)
  for (simdjson::dom::element b : list) {
    const int64_t id = Int(b["batch_id"]);
    EXPECT_LT(id, previous);  // newest first, one committed record per batch
    previous = id;
    EXPECT_EQ(Str(b["outcome"]), "committed");
    EXPECT_FALSE(b["tasks"].error() == simdjson::SUCCESS) << "a list leaves the tasks out";
    if (newest < 0) newest = id;
    ++committed;
    records_in += Int(b["records_in"]);
    rows_out += Int(b["rows_out"]);
    dead += Int(b["dead_letters"]);
    for (simdjson::dom::element p : simdjson::dom::array(b["partitions"])) {
      ranges[Int(p["partition"])].emplace_back(Int(p["from"]), Int(p["until"]));
    }
  }
  EXPECT_EQ(records_in, kGood + 1);
  EXPECT_EQ(rows_out, kGood);
  EXPECT_EQ(dead, 1);
  EXPECT_EQ(committed, newest + 1);  // batches 0..newest, none missing
  int64_t covered = 0;
  for (auto& [partition, rs] : ranges) {
    std::sort(rs.begin(), rs.end());
    int64_t at = 0;
    for (auto [from, until] : rs) {
      EXPECT_EQ(from, at) << "partition " << partition;
      EXPECT_LE(until - from, 2);  // max_records_per_partition
      at = until;
    }
    covered += at;
  }
  EXPECT_EQ(covered, kGood + 1);

  // Paging: one batch a page, `before` walks back through every batch.
  int64_t pages = 0;
  std::string next = "/api/v1/pipelines/events/batches?limit=1";
  while (true) {
    simdjson::dom::element page = GetJson(next);
    ASSERT_EQ(simdjson::dom::array(page["batches"]).size(), 1u);
    EXPECT_EQ(Int(simdjson::dom::array(page["batches"]).at(0)["batch_id"]), newest - pages);
    ++pages;
    if (page["next_before"].is_null()) break;
    next = "/api/v1/pipelines/events/batches?limit=1&before=" +
           std::to_string(Int(page["next_before"]));
  }
  EXPECT_EQ(pages, committed);

  // The list of pipelines.
  simdjson::dom::element all = GetJson("/api/v1/pipelines");
  simdjson::dom::array pipelines = all["pipelines"];
  ASSERT_EQ(pipelines.size(), 1u);
  simdjson::dom::element p = pipelines.at(0);
  EXPECT_EQ(Str(p["name"]), "events");
  EXPECT_EQ(Str(p["status"]), "stopped");
  EXPECT_EQ(Int(p["last_batch"]["batch_id"]), newest);
  EXPECT_EQ(Int(p["lag_records"]), 0);

  // One pipeline: config snapshot, totals, checkpoint.
  simdjson::dom::element one = GetJson("/api/v1/pipelines/events");
  EXPECT_THAT(Str(one["config_toml"]), HasSubstr("name = \"events\""));
  EXPECT_EQ(Str(one["config_source"]), toml_);
  EXPECT_EQ(Int(one["totals"]["batches"]), committed);
  EXPECT_EQ(Int(one["totals"]["records_in"]), kGood + 1);
  EXPECT_EQ(Int(one["totals"]["rows_out"]), kGood);
  EXPECT_EQ(Int(one["totals"]["dead_letters"]), 1);
  EXPECT_EQ(Int(one["checkpoint"]["last_committed_batch"]), newest);
  EXPECT_TRUE(one["checkpoint"]["unfinished_batch"].is_null());
  EXPECT_TRUE(one["live"].is_null());
  EXPECT_EQ(simdjson::dom::array(one["partitions"]).size(), 2u);
  EXPECT_EQ(Int(one["source_lag"]["total"]), 0) << bodies_.back();

  // Records that arrive after the run: the history's lag stays as it was, the source's grows.
  ASSERT_EQ(RunData({"produce", "events"}, "{\"id\":100}\n{\"id\":101}\n{\"id\":102}\n").exit_code,
            0);
  EXPECT_EQ(Int(GetJson("/api/v1/pipelines/events")["source_lag"]["total"]), 3);

  // The dead letter, latest first, with its error and raw record; and in its batch's page.
  simdjson::dom::element dl = GetJson("/api/v1/pipelines/events/dead_letters?limit=10");
  simdjson::dom::array letters = dl["dead_letters"];
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(Str(letters.at(0)["raw"]), "{not json");
  EXPECT_FALSE(Str(letters.at(0)["error"]).empty());
  const int64_t dead_batch = Int(letters.at(0)["batch_id"]);
  simdjson::dom::element batch =
      GetJson("/api/v1/pipelines/events/batches/" + std::to_string(dead_batch));
  EXPECT_EQ(Int(batch["batch_id"]), dead_batch);
  EXPECT_EQ(Int(batch["dead_letters"]), 1);
  ASSERT_EQ(simdjson::dom::array(batch["dead_letter_records"]).size(), 1u);
  EXPECT_EQ(Str(simdjson::dom::array(batch["dead_letter_records"]).at(0)["raw"]), "{not json");
  EXPECT_GT(simdjson::dom::array(batch["tasks"]).size(), 0u);
  for (simdjson::dom::element t : simdjson::dom::array(batch["tasks"])) {
    EXPECT_EQ(Str(t["outcome"]), "won");
  }

  // The timeline, oldest first, one point per committed batch.
  simdjson::dom::element tl = GetJson("/api/v1/pipelines/events/timeline");
  simdjson::dom::array points = tl["batches"];
  ASSERT_EQ(static_cast<int64_t>(points.size()), committed);
  int64_t expect_id = 0;
  for (simdjson::dom::element pt : points) EXPECT_EQ(Int(pt["batch_id"]), expect_id++);

  // The audit: what verify checks, and the history's own contiguity.
  simdjson::dom::element audit = GetJson("/api/v1/pipelines/events/audit");
  EXPECT_TRUE(bool(audit["ok"])) << bodies_.back();
  EXPECT_TRUE(bool(audit["history"]["contiguous"]));
  EXPECT_EQ(Int(audit["history"]["records_in"]), kGood + 1);
  EXPECT_EQ(Int(audit["history"]["batches_checked"]), committed);
  EXPECT_GT(simdjson::dom::array(audit["sink_progress"]).size(), 0u);

  // No keyed state in this pipeline.
  simdjson::dom::element state = GetJson("/api/v1/pipelines/events/state");
  EXPECT_EQ(simdjson::dom::array(state["operators"]).size(), 0u);

  // Unknown names: 404 with a JSON error.
  EXPECT_EQ(Get("/api/v1/pipelines/nope").status, 404);
  EXPECT_EQ(Get("/api/v1/pipelines/events/batches/99999").status, 404);
  EXPECT_EQ(Get("/api/v1/nothing").status, 404);
  EXPECT_EQ(Get("/api/v1/pipelines/events/batches?limit=x").status, 400);
  // The pages: the same index.html for every page path.
  Got index = Get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(Get("/pipeline/events/batch/0").body, index.body);

  ui_->Signal(SIGTERM);
  EXPECT_EQ(ui_->Wait(), 0) << ui_->err();
}

TEST_F(UiServerTest, AFailedBatchIsFailingUntilARunCommitsIt) {
  RunResult failed = Run({"run", toml_, "--data", data_, "--until-caught-up"}, "",
                         {{"ONCEFLOW_FAULTS", "after_intent=throw"}});
  ASSERT_EQ(failed.exit_code, 1) << failed.err;
  StartUi();
  simdjson::dom::element p = simdjson::dom::array(GetJson("/api/v1/pipelines")["pipelines"]).at(0);
  EXPECT_EQ(Str(p["status"]), "failing");
  EXPECT_THAT(Str(p["last_error"]), HasSubstr("injected fault at after_intent"));
  EXPECT_TRUE(p["last_batch"].is_null());
  simdjson::dom::array attempts = GetJson("/api/v1/pipelines/events/batches")["batches"];
  ASSERT_GE(attempts.size(), 1u);
  for (simdjson::dom::element b : attempts) {
    EXPECT_EQ(Int(b["batch_id"]), 0);
    EXPECT_EQ(Str(b["outcome"]), "failed");
  }
  const int64_t failures = static_cast<int64_t>(attempts.size());

  // A run without the fault commits the batch: stopped, and the failed attempts are the
  // batch's earlier ones.
  RunResult ok = RunData({"run", toml_, "--until-caught-up"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  p = simdjson::dom::array(GetJson("/api/v1/pipelines")["pipelines"]).at(0);
  EXPECT_EQ(Str(p["status"]), "stopped");
  simdjson::dom::element batch0 = GetJson("/api/v1/pipelines/events/batches/0");
  EXPECT_EQ(Str(batch0["outcome"]), "committed");
  EXPECT_EQ(static_cast<int64_t>(simdjson::dom::array(batch0["earlier_attempts"]).size()),
            failures);
}

TEST_F(UiServerTest, StateOfAnAggregateCountsItsKeys) {
  ASSERT_EQ(RunData({"topics", "create", "purchases", "--partitions", "2"}).exit_code, 0);
  std::string input;
  for (int i = 0; i < 12; ++i) {
    input += "{\"user\":\"u" + std::to_string(i % 5) + "\",\"amount\":" + std::to_string(i) + "}\n";
  }
  ASSERT_EQ(RunData({"produce", "purchases"}, input).exit_code, 0);
  const std::string toml = tmp_ + "/spend.toml";
  WriteWholeFile(toml, R"toml(name = "spend"
batch_interval_ms = 1
max_records_per_partition = 4
[source]
topic = "purchases"
[[transform]]
type = "aggregate"
key = ["user"]
aggregates = { purchases = "count", spent = "sum(amount)" }
[sink]
path = "spend.db"
init = ["CREATE TABLE IF NOT EXISTS spend(user TEXT PRIMARY KEY, purchases INTEGER, spent INTEGER)"]
mode = "upsert"
table = "spend"
key = ["user"]
)toml");
  RunResult run = RunData({"run", toml, "--until-caught-up"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  StartUi();
  simdjson::dom::element state = GetJson("/api/v1/pipelines/spend/state");
  simdjson::dom::array ops = state["operators"];
  ASSERT_EQ(ops.size(), 1u) << bodies_.back();
  EXPECT_EQ(Str(ops.at(0)["name"]), "aggregate by user");
  EXPECT_EQ(Int(ops.at(0)["keys"]), 5);  // u0..u4
  EXPECT_GT(Int(ops.at(0)["bytes"]), 0);
  EXPECT_TRUE(bool(ops.at(0)["exact"]));
  // Its partitions, as the last batch read them.
  EXPECT_EQ(simdjson::dom::array(GetJson("/api/v1/pipelines/spend")["partitions"]).size(), 2u);
}

TEST_F(UiServerTest, MetricsParseWithThePrometheusParserAndHoldTheRunsCounts) {
  if (!PathExists(ONCEFLOW_TEST_PYTHON)) {
    if (std::getenv("ONCEFLOW_REQUIRE_SERVICES") != nullptr) {
      FAIL() << ONCEFLOW_TEST_PYTHON << " is missing: run scripts/setup.sh";
    }
    GTEST_SKIP() << ONCEFLOW_TEST_PYTHON << " is missing (scripts/python_venv.sh makes it)";
  }
  RunResult run = RunData({"run", toml_, "--until-caught-up"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  StartUi();
  const int64_t newest =
      Int(GetJson("/api/v1/pipelines/events")["checkpoint"]["last_committed_batch"]);
  Got metrics = Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string text_path = TempPath("metrics.txt");
  WriteWholeFile(text_path, metrics.body);
  const std::string json_path = TempPath("metrics.json");
  const std::string command = std::string(ONCEFLOW_TEST_PYTHON) + " " + ONCEFLOW_METRICS_TO_JSON +
                              " " + text_path + " > " + json_path + " 2> " + json_path + ".err";
  ASSERT_EQ(std::system(command.c_str()), 0) << ReadWholeFile(json_path + ".err") << metrics.body;
  bodies_.push_back(ReadWholeFile(json_path));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(bodies_.back()).get(doc), simdjson::SUCCESS);
  // family name (as the parser names it) -> its samples: name{labels} -> value
  std::map<std::string, std::map<std::string, double>> families;
  std::map<std::string, std::string> types;
  for (simdjson::dom::element f : simdjson::dom::array(doc["families"])) {
    types[Str(f["name"])] = Str(f["type"]);
    for (simdjson::dom::element s : simdjson::dom::array(f["samples"])) {
      std::map<std::string, std::string> labels;  // sorted by name
      for (auto [k, v] : simdjson::dom::object(s["labels"])) labels[std::string(k)] = Str(v);
      std::string key = Str(s["name"]) + "{";
      for (const auto& [k, v] : labels) key += k + "=" + v + ",";
      double value = 0;
      if (s["value"].is_string()) {
        value = Str(s["value"]) == "+Inf" ? INFINITY : -INFINITY;
      } else {
        value = double(s["value"]);
      }
      families[Str(f["name"])][key + "}"] = value;
    }
  }
  const int64_t batches = newest + 1;
  const std::string pl = "pipeline=events,";
  EXPECT_EQ(types["onceflow_pipeline_records_in"], "counter");
  EXPECT_EQ(
      families["onceflow_pipeline_records_in"]["onceflow_pipeline_records_in_total{" + pl + "}"],
      kGood + 1);
  EXPECT_EQ(families["onceflow_pipeline_rows_out"]["onceflow_pipeline_rows_out_total{" + pl + "}"],
            kGood);
  EXPECT_EQ(families["onceflow_pipeline_dead_letters"]
                    ["onceflow_pipeline_dead_letters_total{" + pl + "}"],
            1);
  EXPECT_EQ(families["onceflow_pipeline_batches_committed"]
                    ["onceflow_pipeline_batches_committed_total{" + pl + "}"],
            batches);
  // A deterministic pipeline: no re-run ever differed from its committed output.
  EXPECT_EQ(types["onceflow_pipeline_replay_mismatches"], "counter");
  EXPECT_EQ(families["onceflow_pipeline_replay_mismatches"]
                    ["onceflow_pipeline_replay_mismatches_total{" + pl + "}"],
            0);
  EXPECT_EQ(families["onceflow_pipeline_last_committed_batch"]
                    ["onceflow_pipeline_last_committed_batch{" + pl + "}"],
            newest);
  EXPECT_EQ(families["onceflow_pipeline_up"]["onceflow_pipeline_up{" + pl + "}"], 0);
  // Every partition's lag is 0 after --until-caught-up.
  for (const char* part : {"0", "1"}) {
    EXPECT_EQ(families["onceflow_pipeline_lag_records"].count(
                  "onceflow_pipeline_lag_records{partition=" + std::string(part) + "," + pl + "}"),
              1u);
  }
  // A histogram per phase with one observation per committed batch.
  EXPECT_EQ(types["onceflow_pipeline_phase_duration_seconds"], "histogram");
  for (const char* phase :
       {"planning", "intent", "compute", "sink_commit", "state_commit", "commit_record"}) {
    const std::string labels = "phase=" + std::string(phase) + "," + pl + "}";
    EXPECT_EQ(families["onceflow_pipeline_phase_duration_seconds"]
                      ["onceflow_pipeline_phase_duration_seconds_count{" + labels],
              batches)
        << phase;
    EXPECT_EQ(families["onceflow_pipeline_phase_duration_seconds"]
                      ["onceflow_pipeline_phase_duration_seconds_bucket{le=+Inf," + labels],
              batches)
        << phase;
  }
  ui_->Signal(SIGTERM);
  EXPECT_EQ(ui_->Wait(), 0);
}

TEST_F(UiServerTest, TokenIsRequiredForTheDataButNotThePages) {
  const std::string token_file = tmp_ + "/token";
  WriteWholeFile(token_file, "s3cret-token\n");
  StartUi({"--token-file", token_file});
  EXPECT_EQ(Get("/api/v1/pipelines").status, 401);
  EXPECT_EQ(Get("/api/v1/pipelines", "wrong").status, 401);
  EXPECT_EQ(Get("/metrics").status, 401);
  EXPECT_EQ(Get("/api/v1/pipelines", "s3cret-token").status, 200);
  EXPECT_EQ(Get("/metrics", "s3cret-token").status, 200);
  EXPECT_EQ(Get("/").status, 200);
}

TEST_F(UiServerTest, PortInUseIsOneClearLineAndAFailure) {
  StartUi();
  RunResult second = RunData({"ui", "--http", "127.0.0.1:" + std::to_string(port_)});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_EQ(SplitLines(second.err).size(), 1u) << second.err;
  EXPECT_THAT(second.err, StartsWith("onceflow: error: "));
  EXPECT_THAT(second.err, HasSubstr("cannot serve the UI on 127.0.0.1:" + std::to_string(port_)));
  EXPECT_THAT(second.err, HasSubstr("in use"));
  // The same for `run --ui`, before it runs a batch.
  RunResult run =
      RunData({"run", toml_, "--until-caught-up", "--ui", "127.0.0.1:" + std::to_string(port_)});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("cannot serve the UI on 127.0.0.1:" + std::to_string(port_)));
  EXPECT_FALSE(PathExists(db_));  // no batch ran
}

TEST_F(UiServerTest, RunWithUiServesItsOwnPipelineWhileItRuns) {
  Process run({"run", toml_, "--data", data_, "--ui", "127.0.0.1:0"}, "/dev/null",
              TempPath("run.out"), TempPath("run.err"));
  port_ = WaitForPort(run, "UI at http://127.0.0.1:");
  ASSERT_GT(port_, 0);
  // Running (it holds its checkpoint's lock) with the live counters of the run; they reach the
  // whole input as it catches up.
  const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
  while (true) {
    simdjson::dom::element one = GetJson("/api/v1/pipelines/events");
    EXPECT_EQ(Str(one["status"]), "running");
    ASSERT_FALSE(one["live"].is_null());
    if (Int(one["live"]["records_in"]) == kGood + 1 &&
        Int(one["totals"]["records_in"]) == kGood + 1) {
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Str(simdjson::dom::array(GetJson("/api/v1/pipelines")["pipelines"]).at(0)["status"]),
            "running");
  run.Signal(SIGTERM);
  EXPECT_EQ(run.Wait(), 0) << run.err();
}

}  // namespace
}  // namespace onceflow::testing
