// The sink contract (sink_contract_test.h) on the SQLite sink.
#include <sqlite3.h>

#include "sink/sink_contract_test.h"
#include "sink/sqlite_sink.h"
#include "util/file.h"

namespace onceflow::sink::testing {
namespace {

// The progress table as onceflow created it before it recorded sources and starts.
constexpr char kOldProgressTable[] =
    "CREATE TABLE IF NOT EXISTS onceflow_progress(pipeline TEXT NOT NULL, task INTEGER NOT NULL, "
    "last_batch INTEGER NOT NULL, epoch INTEGER NOT NULL, ranges TEXT NOT NULL, "
    "committed_at_ms INTEGER NOT NULL, PRIMARY KEY(pipeline, task))";

class SqliteContractEnv {
 public:
  void SetUp() {
    char tmpl[] = "/tmp/onceflow-sink-contract-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/out.db";
  }
  void TearDown() { RemoveAll(dir_).IgnoreError(); }  // best effort

  std::unique_ptr<Sink> OpenSink() {
    SqliteSinkOptions o;
    o.path = path_;
    o.init = {"CREATE TABLE IF NOT EXISTS out(v INTEGER)"};
    o.table = "out";
    auto sink = MakeSqliteSink(std::move(o));
    if (!sink.has_value()) {
      ADD_FAILURE() << sink.error().ToString();
      return nullptr;
    }
    if (Status s = (*sink)->Open(); !s.ok()) {
      ADD_FAILURE() << s.ToString();
      return nullptr;
    }
    return std::move(*sink);
  }

  std::string Pipeline(const std::string& name) { return name; }

  void WriteOldProgress(const std::string& pipeline, int32_t task, int64_t batch, int64_t epoch,
                        const std::string& ranges) {
    Exec(kOldProgressTable);
    Exec("INSERT INTO onceflow_progress VALUES('" + pipeline + "', " + std::to_string(task) +
         ", " + std::to_string(batch) + ", " + std::to_string(epoch) + ", '" + ranges + "', 0)");
  }

 private:
  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error != nullptr ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  std::string dir_;
  std::string path_;
};

}  // namespace
}  // namespace onceflow::sink::testing

namespace onceflow::sink::testing::contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, SinkContractTest, SqliteContractEnv);
}  // namespace onceflow::sink::testing::contract
