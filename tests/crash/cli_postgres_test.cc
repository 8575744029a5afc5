// The ledger pipeline (log source -> PostgreSQL statements sink) end to end, against a real
// server: `onceflow run` SIGKILLed at random moments and crashed at every fault point, the
// server restarted mid-run, `verify` and `status` on a postgres sink, and secrets kept out of
// every output. Labels `crash` and `postgres`.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "testing/kill_loop.h"
#include "testing/ledger_cli_test_base.h"
#include "testing/ledger_postgres.h"
#include "testing/postgres.h"
#include "testing/sqlite_query.h"
#include "util/fault_points.h"

namespace onceflow::testing {
namespace {

using onceflow::testing::PgQuery;

class CliPostgresTest : public LedgerCliTestBase {
 protected:
  void SetUp() override {
    LedgerCliTestBase::SetUp();
    ONCEFLOW_REQUIRE_POSTGRES();
    server_ = onceflow::testing::TestPostgres();
    UseServer(server_);
  }
  void TearDown() override {
    if (!schema_.empty()) PgQuery(schema_server_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    LedgerCliTestBase::TearDown();
  }

  // Points the pipeline at a fresh schema on `server`.
  void UseServer(const std::string& server) {
    schema_server_ = server;
    schema_ = onceflow::testing::UniqueName("clitest");
    conninfo_ = onceflow::testing::WithSchema(server, schema_);
  }
  void WritePostgresToml(int64_t max_records_per_partition, const std::string& conninfo = "",
                         const std::string& commit_mode = "batch") {
    WriteWholeFile(toml_, LedgerPostgresToml(conninfo.empty() ? conninfo_ : conninfo,
                                             max_records_per_partition, commit_mode));
  }

  // "" when the ledger in PostgreSQL holds every transfer produced exactly once, else what is
  // wrong.
  std::string CheckPostgresLedger() {
    return ::onceflow::testing::CheckPostgresLedger(conninfo_, transfers_);
  }

  std::string server_, schema_server_, schema_, conninfo_;
};

// commit_mode "batch" (one transaction per batch) and "task" (one per task: kills land between
// the tasks of a batch).
class CliPostgresKillTest : public CliPostgresTest,
                            public ::testing::WithParamInterface<const char*> {};

TEST_P(CliPostgresKillTest, TwelveSigkillsAtRandomMomentsLeaveAnExactLedger) {
  constexpr int kKills = 12;
  WritePostgresToml(/*max_records_per_partition=*/5, "", GetParam());
  Produce(8000, /*accounts=*/200);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const KillLoopResult loop = LedgerKillLoop({.kills = kKills,
                                              .min_delay = std::chrono::milliseconds(50),
                                              .max_delay = std::chrono::milliseconds(500),
                                              .seed = seed},
                                             [&] { Produce(1500, 200); });
  if (HasFatalFailure()) return;
  const int kills = loop.kills, finished = loop.finished;
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckPostgresLedger(), "") << kills << " kills, " << finished << " finished first";
}

INSTANTIATE_TEST_SUITE_P(CommitMode, CliPostgresKillTest, ::testing::Values("batch", "task"));

TEST_F(CliPostgresTest, CrashAtEveryFaultPointThenRestartLeavesAnExactLedger) {
  WritePostgresToml(/*max_records_per_partition=*/20);
  for (const std::string& point : faults::PipelinePoints()) {
    SCOPED_TRACE(point);
    Produce(400, /*accounts=*/50);
    // The third hit: a few batches in, with earlier batches committed.
    RunResult crashed =
        RunVerb("run", {"--until-caught-up"}, {{"ONCEFLOW_FAULTS", point + "=crash#3"}});
    ASSERT_EQ(crashed.exit_code, faults::kCrashExitCode) << crashed.out << crashed.err;
    RunResult v = RunVerb("verify");
    ASSERT_EQ(v.exit_code, 0) << v.out << v.err;
  }
  RunResult last = RunVerb("run", {"--until-caught-up"});
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_EQ(CheckPostgresLedger(), "");
  RunResult v = RunVerb("verify");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST_F(CliPostgresTest, ServerRestartMidRunIsSurvivedWithAnExactLedger) {
  onceflow::testing::PrivatePostgres server;
  ASSERT_FALSE(server.conninfo().empty()) << "the private server did not start";
  UseServer(server.conninfo());
  WritePostgresToml(/*max_records_per_partition=*/5);
  Produce(6000, /*accounts=*/100);
  Process run({"run", toml_, "--until-caught-up", "--data", data_}, "/dev/null", TempPath("out"),
              TempPath("err"));
  const auto started = PgQuery(conninfo_, "SELECT pg_postmaster_start_time()");
  // Restart once some batches are in, while the run is busy: 500 of 6,000 rows in batches of
  // at most 5 per partition, so the run cannot end between two looks. No bound on the number
  // of looks (a busy machine may take long to get there; ctest's timeout is the bound).
  bool restarted = false;
  while (!run.Poll()) {
    std::string not_yet;  // the run has not created the table yet
    auto n = PgQuery(conninfo_, "SELECT count(*) FROM ledger", &not_yet);
    if (!n.empty() && std::stoll(n[0]) > 500) {
      ASSERT_TRUE(server.Restart());
      restarted = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_TRUE(restarted) << "the run finished before the restart; make the workload bigger";
  const int code = run.Wait();
  // The connection lost between batches is replaced before the next BEGIN; one lost in a
  // commit fails that attempt (retryable) and the driver retries the batch.
  ASSERT_EQ(code, 0) << run.err();
  EXPECT_NE(PgQuery(conninfo_, "SELECT pg_postmaster_start_time()"), started);
  EXPECT_EQ(CheckPostgresLedger(), "");
  RunResult v = RunVerb("verify");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  schema_.clear();  // the private server goes away with its schema
}

TEST_F(CliPostgresTest, PasswordFromTheEnvironmentNeverAppearsInOutput) {
  const std::map<std::string, std::string> env = {{"LEDGER_PG_PASSWORD", "hunter2-secret"}};
  // The test user has trust auth: the password is sent and ignored.
  WritePostgresToml(10, conninfo_ + " password=${LEDGER_PG_PASSWORD}");
  Produce(200);
  for (const char* verb : {"run", "status", "verify"}) {
    RunResult r = RunVerb(verb,
                          std::string(verb) == "run" ? std::vector<std::string>{"--until-caught-up"}
                                                     : std::vector<std::string>{},
                          env);
    EXPECT_EQ(r.exit_code, 0) << verb << ": " << r.out << r.err;
    EXPECT_EQ((r.out + r.err).find("hunter2"), std::string::npos) << verb << ": " << r.out << r.err;
  }
  EXPECT_EQ(CheckPostgresLedger(), "");
  RunResult status = RunVerb("status", {}, env);
  EXPECT_EQ((status.out + status.err).find("hunter2"), std::string::npos) << status.out;
  // A server that is down: a clear error naming host and port, never the password.
  WritePostgresToml(10, "host=127.0.0.1 port=1 dbname=bank password=${LEDGER_PG_PASSWORD}");
  for (const char* verb : {"run", "verify"}) {
    RunResult r = RunVerb(verb, {}, env);
    EXPECT_NE(r.exit_code, 0) << verb;
    EXPECT_NE(r.err.find("postgres host=127.0.0.1 port=1 dbname=bank: cannot connect"),
              std::string::npos)
        << verb << ": " << r.out << r.err;
    EXPECT_EQ((r.out + r.err).find("hunter2"), std::string::npos) << verb << ": " << r.out << r.err;
  }
}

// A password in every form libpq accepts: keyword=value (quoted), a URI's user info, a URI's
// ?password=, and a dbname that is itself a URI or a keyword=value string (libpq's expanded
// form, as `dbname=${DATABASE_URL}` gives). run, status and verify work with each (the
// expanded dbname is connected to as what it says) and never print the password; nor does
// the error of a server that cannot be reached.
TEST_F(CliPostgresTest, PasswordInEveryConninfoFormNeverAppearsInOutput) {
  const std::string secret = "Pw-Hunter2x";
  const size_t at = server_.find("port=");
  ASSERT_NE(at, std::string::npos) << server_;
  const std::string port = server_.substr(at + 5, server_.find(' ', at) - at - 5);
  const std::string uri_options = "options=-csearch_path%3D" + schema_;
  const std::string hostport = "127.0.0.1:" + port;
  const std::vector<std::string> forms = {
      conninfo_ + " password='" + secret + "'",
      "postgresql://onceflow:" + secret + "@" + hostport + "/postgres?" + uri_options,
      "postgresql://onceflow@" + hostport + "/postgres?password=" + secret + "&" + uri_options,
      "dbname=postgresql://onceflow:" + secret + "@" + hostport + "/postgres?" + uri_options,
      "dbname='host=127.0.0.1 port=" + port + " user=onceflow dbname=postgres password=" + secret +
          " options=-csearch_path=" + schema_ + "'",
  };
  Produce(100);
  for (const std::string& conninfo : forms) {
    WritePostgresToml(10, conninfo);
    for (const char* verb : {"run", "status", "verify"}) {
      RunResult r =
          RunVerb(verb, std::string(verb) == "run" ? std::vector<std::string>{"--until-caught-up"}
                                                   : std::vector<std::string>{});
      EXPECT_EQ(r.exit_code, 0) << conninfo << ": " << verb << ": " << r.out << r.err;
      EXPECT_EQ((r.out + r.err).find("Hunter2"), std::string::npos)
          << conninfo << ": " << verb << ": " << r.out << r.err;
    }
  }
  EXPECT_EQ(CheckPostgresLedger(), "");
  // Unreachable, with the password in an expanded dbname: the error names the server only.
  for (const std::string& conninfo :
       {"dbname=postgresql://onceflow:" + secret + "@127.0.0.1:1/bank",
        "dbname='host=127.0.0.1 port=1 dbname=bank password=" + secret + "'"}) {
    WritePostgresToml(10, conninfo);
    for (const char* verb : {"run", "verify"}) {
      RunResult r = RunVerb(verb);
      EXPECT_NE(r.exit_code, 0) << conninfo << ": " << verb;
      EXPECT_NE(r.err.find("postgres host=127.0.0.1 port=1 dbname=bank: cannot connect"),
                std::string::npos)
          << conninfo << ": " << verb << ": " << r.out << r.err;
      EXPECT_EQ((r.out + r.err).find("Hunter2"), std::string::npos)
          << conninfo << ": " << verb << ": " << r.out << r.err;
    }
  }
}

}  // namespace
}  // namespace onceflow::testing
