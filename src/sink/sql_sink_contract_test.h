// The commit contract of the transactional SQL sinks (SQLite, PostgreSQL), written once and run
// against each (gtest's type-parameterized tests): a batch twice is applied once, a replay with
// other ranges, an older epoch, a gap or an overlap are refused and write nothing, a claim fences
// older epochs, bad rows become dead letters and leave no partial effect. Under failure (fault
// points, a damaged progress row, concurrent tasks): sql_sink_failure_contract_test.h. The modes
// and binding they share: sql_sink_modes_contract_test.h. What only one sink has (types, WAL, a
// server restart) stays in its own tests.
//
// A sink's test file defines an environment class and instantiates the suite with it:
//   namespace onceflow::sink::testing::contract {
//   INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, SqlSinkContractTest, SqliteSqlEnv);
//   INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, SqlSinkFailureContractTest, SqliteSqlEnv);
//   }
// The environment provides:
//   void SetUp(); void TearDown();   // a fresh database; skips (or fails) without its server
//   std::unique_ptr<Sink> OpenSink(const SqlSinkSetup&);   // made and opened (test fails if not)
//   Result<std::unique_ptr<Sink>> MakeSink(const SqlSinkSetup&);   // made, not opened
//   std::vector<std::string> Query(const std::string& sql);   // columns joined by '|'
//   void Exec(const std::string& sql);   // through a connection of the test's own
// and its dialect:
//   static SqlSinkSetup Bank();      // accounts 1 (100) and 2 (0), CHECK(balance >= 0), a ledger;
//                                    // statements: INSERT the ledger row, UPDATE the balance
//   static SqlSinkSetup Deposits();  // accounts 1 (0), no CHECK, ledger(account, amount, pad)
//   static std::string LedgerInOrder();           // SELECT account|amount in insertion order
//   static std::string RawAsText();               // a dead letter's raw bytes as text
//   static std::string CheckViolation();          // the error of CHECK(balance >= 0)
//   static std::string JoinedInOrder(col, table); // one row: col's values in insertion order
//   static constexpr int kOverdraftEvery;         // spacing of the overdrafts in ManyBadRows
//   static constexpr int kConcurrentBatches;      // batches per task in ConcurrentCommits
//   static std::string DoubleType(), BoolType();  // column types of a double and a bool
//   static std::string BoolText(bool);            // a stored bool as the queries read it
//   static std::string WholeDoubleText(int64_t);  // a stored whole double ("3.0", "3")
//   bool Describes(const std::string&);           // the sink's Describe() names this database
//   static std::string RawHex();                  // a dead letter's raw bytes, upper-case hex
//   static std::string NotNullViolation(table, column);  // the error of a NULL in NOT NULL
//   static void AddParameterForms(SqlSinkSetup*); // statements using the dialect's parameter
//                                                 // forms, with no net effect on the balances
//   static ParameterFormsEffects();               // {query, rows} those statements leave
//   static constexpr const char* kTwoStatementsError;  // two statements in one
//   static std::string SyntaxError(token);        // the syntax error at `token`
//   static OpenErrors();                          // {setup, message}: the dialect's own refusals
// Deposits, Exec and kConcurrentBatches serve sql_sink_failure_contract_test.h.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sink/sink.h"
#include "sink/sink_test_util.h"
#include "util/fault_points.h"

namespace onceflow::sink::testing::contract {

using testing::Task;  // also when sink_contract_test.h adds its overload to this namespace

// What a SQL sink is opened with, whatever its type: the sink options the tests vary.
struct SqlSinkSetup {
  std::vector<std::string> init;
  SinkMode mode = SinkMode::kAppend;
  std::string table;
  std::vector<std::string> key;
  std::vector<std::string> statements;
  std::vector<AddTo> add;
  AppendTo append;
};

template <typename Env>
class SqlSinkContractTest : public ::testing::Test {
 protected:
  void SetUp() override { env_.SetUp(); }
  void TearDown() override {
    faults::DisarmAll();
    env_.TearDown();
  }

  std::unique_ptr<Sink> OpenSink(const SqlSinkSetup& setup) { return env_.OpenSink(setup); }
  std::vector<std::string> Query(const std::string& sql) { return env_.Query(sql); }
  std::string QueryOne(const std::string& sql) { return testing::OneRow(Query(sql), sql); }
  // The progress rows of `pipeline` as "task:batch:epoch:ranges" lines.
  std::vector<std::string> Progress(const std::string& pipeline = "p") {
    return Query(testing::ProgressRowsSql(pipeline));
  }
  std::string Balance() { return QueryOne("SELECT balance FROM accounts WHERE id = 1"); }
  // orders(id NOT NULL, item, price, paid, note), appended to.
  static SqlSinkSetup AppendOrders() {
    SqlSinkSetup o;
    o.init = {"CREATE TABLE IF NOT EXISTS orders(id INTEGER NOT NULL, item TEXT, price " +
              Env::DoubleType() + ", paid " + Env::BoolType() + ", note TEXT)"};
    o.mode = SinkMode::kAppend;
    o.table = "orders";
    return o;
  }
  std::string LedgerRows() { return QueryOne("SELECT count(*) FROM ledger"); }

  // One row per move: {"account", "amount"} from partition 0, offsets first_offset...
  static std::vector<SinkRow> Transfers(std::vector<std::pair<int64_t, int64_t>> moves,
                                        int64_t first_offset = 0) {
    std::vector<SinkRow> rows;
    for (auto [account, amount] : moves) {
      rows.push_back(
          {Row{{"account", account}, {"amount", amount}}, PartitionId(0), Offset(first_offset++)});
    }
    return rows;
  }
  // `n` deposits of 1 into account 1 (Env::Deposits), from offsets first.. of partition 0.
  static std::vector<SinkRow> Deposits(int n, int64_t first, size_t pad = 10) {
    std::vector<SinkRow> rows;
    for (int i = 0; i < n; ++i) {
      rows.push_back({Row{{"account", int64_t{1}},
                          {"amount", int64_t{1}},
                          {"pad", std::string(pad, 'x') + std::to_string(first + i)}},
                      PartitionId(0), Offset(first + i)});
    }
    return rows;
  }

  Env env_;
};

TYPED_TEST_SUITE_P(SqlSinkContractTest);

TYPED_TEST_P(SqlSinkContractTest, SameBatchTwiceIsAlreadyCommittedAndNotAppliedAgain) {
  auto sink = this->OpenSink(TypeParam::Bank());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = this->Transfers({{1, 10}, {2, 20}});
  const TaskCommit b0 = Task("p", 0, 0, 1, {R(0, 0, 2)}, rows);
  ASSERT_EQ(CommitOne(sink.get(), b0), CommitOutcome::kCommitted);
  // A retry, a speculative twin, a replay after a crash: all find the progress row.
  for (int i = 0; i < 3; ++i) {
    auto outcome = CommitOne(sink.get(), b0);
    ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
    EXPECT_EQ(*outcome, CommitOutcome::kAlreadyCommitted);
  }
  EXPECT_EQ(this->Query("SELECT * FROM accounts ORDER BY id"),
            (std::vector<std::string>{"1|110", "2|20"}));
  EXPECT_EQ(this->LedgerRows(), "2");

  // An older batch after a newer one is already committed too.
  const std::vector<SinkRow> more = this->Transfers({{1, 1}}, 2);
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 1, 1, {R(0, 2, 3)}, more)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(CommitOne(sink.get(), b0), CommitOutcome::kAlreadyCommitted);
  EXPECT_EQ(this->QueryOne("SELECT balance FROM accounts WHERE id = 1"), "111");
  EXPECT_EQ(this->Progress(), std::vector<std::string>{"0:1:1:0:2-3"});

  // The same after a restart (another connection): the progress row is durable.
  sink.reset();
  sink = this->OpenSink(TypeParam::Bank());
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(CommitOne(sink.get(), b0), CommitOutcome::kAlreadyCommitted);
  EXPECT_EQ(this->QueryOne("SELECT balance FROM accounts WHERE id = 1"), "111");
}

TYPED_TEST_P(SqlSinkContractTest, ReplayWithOtherRangesIsRefused) {
  auto sink = this->OpenSink(TypeParam::Bank());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = this->Transfers({{1, 10}, {2, 20}});
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 2)}, rows)),
            CommitOutcome::kCommitted);
  auto replay = CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 3)}, rows));
  ASSERT_FALSE(replay.has_value());
  EXPECT_NE(replay.error().message().find("batch 0 was committed with ranges 0:0-2 but is "
                                          "replayed with 0:0-3: the replay is not deterministic"),
            std::string::npos)
      << replay.error().ToString();
  EXPECT_EQ(this->LedgerRows(), "2");
}

TYPED_TEST_P(SqlSinkContractTest, OlderEpochIsFencedAndWritesNothing) {
  auto sink = this->OpenSink(TypeParam::Bank());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = this->Transfers({{1, 10}});
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 2, {R(0, 0, 1)}, rows)),
            CommitOutcome::kCommitted);
  // A zombie of epoch 1 commits the next batch, and also an old one.
  const std::vector<SinkRow> zombie = this->Transfers({{1, 1000}}, 1);
  for (int64_t batch : {1, 0}) {
    auto outcome = CommitOne(sink.get(), Task("p", 0, batch, 1, {R(0, 1, 2)}, zombie));
    ASSERT_FALSE(outcome.has_value());
    EXPECT_EQ(outcome.error().code(), StatusCode::kFenced) << outcome.error().ToString();
    EXPECT_NE(outcome.error().message().find("pipeline 'p' task 0: epoch 1 is fenced by epoch 2, "
                                             "which committed batch 0"),
              std::string::npos)
        << outcome.error().message();
  }
  EXPECT_EQ(this->Balance(), "110");
  EXPECT_EQ(this->Progress(), std::vector<std::string>{"0:0:2:0:0-1"});
  // A newer epoch takes over.
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 1, 3, {R(0, 1, 2)}, zombie)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(this->Progress(), std::vector<std::string>{"0:1:3:0:1-2"});
  EXPECT_EQ(this->Balance(), "1110");
}

// A claim fences older epochs on every claimed task (also one with no batch yet), keeps each
// task's progress, refuses an older claim, and the new owner continues exactly where the rows end.
TYPED_TEST_P(SqlSinkContractTest, ClaimFencesOlderEpochsAndKeepsEveryTasksProgress) {
  auto owned = this->OpenSink(TypeParam::Bank());
  ASSERT_NE(owned, nullptr);
  Sink* sink = owned.get();
  auto commit = [&](int32_t task, int64_t batch, int64_t epoch, TaskRange range,
                    const std::vector<SinkRow>& rows) -> Result<CommitOutcome> {
    TaskCommit t;
    t.pipeline = "p";
    t.task = task;
    t.batch = BatchId(batch);
    t.epoch = Epoch(epoch);
    t.ranges = {range};
    t.rows = rows;
    ONCEFLOW_ASSIGN_OR_RETURN(auto outcomes, sink->Commit(std::span<const TaskCommit>(&t, 1)));
    return outcomes.at(0);
  };
  auto row = [](int64_t amount, int32_t p, int64_t offset) {
    return std::vector<SinkRow>{
        {Row{{"account", int64_t{1}}, {"amount", amount}}, PartitionId(p), Offset(offset)}};
  };
  auto range = [](int32_t p, int64_t from, int64_t until) {
    return TaskRange{PartitionId(p), Offset(from), Offset(until)};
  };
  // Task 0 committed batch 4 under epoch 2; task 1 has nothing yet.
  ASSERT_EQ(commit(0, 4, 2, range(0, 0, 1), row(10, 0, 0)), CommitOutcome::kCommitted);
  const int32_t tasks[] = {1, 0};
  auto claimed = sink->Claim("p", tasks, Epoch(5));
  ASSERT_TRUE(claimed.has_value()) << claimed.error().ToString();
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ(claimed->at(0).last_batch, BatchId(4));
  EXPECT_EQ(claimed->at(0).epoch, Epoch(5));
  EXPECT_EQ(claimed->at(0).ranges, std::vector<TaskRange>{range(0, 0, 1)});
  EXPECT_EQ(claimed->at(1).last_batch, BatchId(-1));
  EXPECT_EQ(claimed->at(1).epoch, Epoch(5));
  EXPECT_TRUE(claimed->at(1).ranges.empty());
  EXPECT_EQ(this->Progress(), (std::vector<std::string>{"0:4:5:0:0-1", "1:-1:5:"}));
  // A row with no batch is not progress: ReadProgress leaves it out.
  auto read = sink->ReadProgress("p");
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_EQ(read->size(), 1u);

  // The previous owner (epoch 2) goes on as if nothing happened: fenced on both tasks, even
  // the one that never committed, and nothing is written.
  for (int32_t task : {0, 1}) {
    auto outcome = commit(task, 5, 2, range(task, task == 0 ? 1 : 0, 2), row(1000, task, 1));
    ASSERT_FALSE(outcome.has_value()) << "task " << task;
    EXPECT_EQ(outcome.error().code(), StatusCode::kFenced) << outcome.error().ToString();
  }
  // An older claim (a process whose generation is outdated) is refused and changes nothing;
  // claiming again under the same epoch is harmless.
  auto old = sink->Claim("p", tasks, Epoch(3));
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().code(), StatusCode::kFenced);
  EXPECT_NE(old.error().message().find("pipeline 'p' task 0: cannot take it over for epoch 3: "
                                       "epoch 5 already holds it"),
            std::string::npos)
      << old.error().message();
  ASSERT_TRUE(sink->Claim("p", tasks, Epoch(5)).has_value());
  EXPECT_EQ(this->Progress(), (std::vector<std::string>{"0:4:5:0:0-1", "1:-1:5:"}));

  // The new owner continues where the rows end; a gap is still a gap.
  ASSERT_EQ(commit(0, 5, 5, range(0, 1, 2), row(1, 0, 1)), CommitOutcome::kCommitted);
  ASSERT_EQ(commit(1, 5, 5, range(1, 0, 3), row(2, 1, 0)), CommitOutcome::kCommitted);
  auto gap = commit(0, 6, 5, range(0, 3, 4), row(4, 0, 3));
  ASSERT_FALSE(gap.has_value());
  EXPECT_EQ(gap.error().code(), StatusCode::kAborted);
  EXPECT_EQ(this->Progress(), (std::vector<std::string>{"0:5:5:0:1-2", "1:5:5:1:0-3"}));
  // 100 + 10, then the new owner's 1 and 2: the zombie's 1000s never landed.
  EXPECT_EQ(this->Balance(), "113");
}

TYPED_TEST_P(SqlSinkContractTest, GapAndOverlapAreRefusedAndWriteNothing) {
  auto sink = this->OpenSink(TypeParam::Bank());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = this->Transfers({{1, 10}});
  ASSERT_EQ(CommitOne(sink.get(), Task("bank", 3, 0, 1, {R(0, 0, 20), R(1, 0, 5)}, rows)),
            CommitOutcome::kCommitted);
  struct Case {
    TaskRange range;
    const char* expected;
  };
  for (const Case& c :
       {Case{R(1, 7, 9), "pipeline 'bank' task 3 partition 1: gap: batch 1 starts at offset 7 "
                         "but batch 0 ended at offset 5"},
        Case{R(0, 15, 30), "pipeline 'bank' task 3 partition 0: overlap: batch 1 starts at "
                           "offset 15 but batch 0 ended at offset 20"}}) {
    auto outcome = CommitOne(sink.get(), Task("bank", 3, 1, 1, {c.range}, rows));
    ASSERT_FALSE(outcome.has_value());
    EXPECT_EQ(outcome.error().code(), StatusCode::kAborted);
    EXPECT_FALSE(outcome.error().retryable());
    EXPECT_NE(outcome.error().message().find(c.expected), std::string::npos)
        << outcome.error().message();
  }
  EXPECT_EQ(this->Balance(), "110");
  EXPECT_EQ(this->Progress("bank"), std::vector<std::string>{"3:0:1:0:0-20,1:0-5"});
  // Contiguous ranges, and a partition the task had not read before, are accepted.
  ASSERT_EQ(CommitOne(sink.get(), Task("bank", 3, 1, 1, {R(0, 20, 21), R(7, 3, 4)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(this->Balance(), "120");
}

TYPED_TEST_P(SqlSinkContractTest, UpsertRowWithoutItsKeyIsADeadLetter) {
  SqlSinkSetup o;
  o.init = {"CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER)"};
  o.mode = SinkMode::kUpsert;
  o.table = "kv";
  o.key = {"k"};
  auto sink = this->OpenSink(o);
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = {
      {Row{{"k", "a"}, {"v", int64_t{1}}}, PartitionId(0), Offset(0)},
      {Row{{"v", int64_t{2}}}, PartitionId(0), Offset(1)}};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 2)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(this->Query("SELECT * FROM kv"), std::vector<std::string>{"a|1"});
  EXPECT_EQ(this->Query("SELECT partition, \"offset\", " + TypeParam::RawAsText() +
                        ", error FROM onceflow_dead_letters"),
            std::vector<std::string>{
                "0|1|{\"v\":2}|upsert into kv: the row has no field 'k' for the key column"});
}

TYPED_TEST_P(SqlSinkContractTest, StatementsRowWithoutAParameterFieldIsADeadLetter) {
  auto sink = this->OpenSink(TypeParam::Bank());
  ASSERT_NE(sink, nullptr);
  std::vector<SinkRow> rows = this->Transfers({{1, 10}, {2, 20}});
  rows[1].row.Remove("amount");
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 2)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(this->Query("SELECT * FROM accounts ORDER BY id"),
            (std::vector<std::string>{"1|110", "2|0"}));
  EXPECT_EQ(this->QueryOne("SELECT \"offset\" || ' ' || " + TypeParam::RawAsText() +
                           " || ' ' || error FROM onceflow_dead_letters"),
            "1 {\"account\":2} statement 1 (INSERT INTO ledger(account, amount) VALUES(:account, "
            ":amount)): the row has no field 'amount' for parameter :amount");
}

TYPED_TEST_P(SqlSinkContractTest, MultiStatementRowThatFailsHalfWayLeavesNoPartialEffect) {
  auto sink = this->OpenSink(TypeParam::Bank());
  ASSERT_NE(sink, nullptr);
  // The second row's ledger INSERT runs, then its UPDATE breaks CHECK(balance >= 0).
  const std::vector<SinkRow> rows = this->Transfers({{1, -30}, {2, -5}, {1, -20}});
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 3)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(this->Query("SELECT * FROM accounts ORDER BY id"),
            (std::vector<std::string>{"1|50", "2|0"}));
  EXPECT_EQ(this->Query(TypeParam::LedgerInOrder()), (std::vector<std::string>{"1|-30", "1|-20"}));
  EXPECT_EQ(this->QueryOne("SELECT \"offset\" || ' ' || error FROM onceflow_dead_letters"),
            "1 statement 2 (UPDATE accounts SET balance = balance + :amount WHERE id = "
            ":account): " +
                TypeParam::CheckViolation());
}

TYPED_TEST_P(SqlSinkContractTest, ManyBadRowsAmongGoodOnesEachLeaveNothingAndTheRestCommitOnce) {
  SqlSinkSetup o;
  o.init = {"CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER CHECK(balance >= 0))",
            "CREATE TABLE journal(seq INTEGER, amount INTEGER)",
            "INSERT INTO accounts VALUES(1, 0)"};
  o.mode = SinkMode::kStatements;
  o.statements = {"INSERT INTO journal(seq, amount) VALUES(:seq, :amount)",
                  "UPDATE accounts SET balance = balance + :amount WHERE id = 1"};
  auto sink = this->OpenSink(o);
  ASSERT_NE(sink, nullptr);
  // Over several of the writer's chunks (SQLite's savepoints, PostgreSQL's pipelined chunks):
  // overdrafts that fail in the second statement after the first ran, rows without a field, a
  // long good stretch, a bad last row.
  const int kRows = 1500;
  std::vector<SinkRow> rows;
  std::string good;
  std::string bad;
  int64_t balance = 0;
  for (int i = 0; i < kRows; ++i) {
    Row row{{"seq", int64_t{i}}, {"amount", int64_t{1}}};
    const bool overdraft =
        (i < 700 && i % TypeParam::kOverdraftEvery == 3) || i == 1300 || i == kRows - 1;
    const bool missing = i % 50 == 10;
    if (overdraft) row.Set("amount", int64_t{-1000000});
    if (missing) row.Remove("amount");
    if (overdraft || missing) {
      bad += (bad.empty() ? "" : ",") + std::to_string(i);
    } else {
      good += (good.empty() ? "" : ",") + std::to_string(i);
      ++balance;
    }
    rows.push_back({std::move(row), PartitionId(0), Offset(i)});
  }
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, kRows)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(this->QueryOne("SELECT balance FROM accounts"), std::to_string(balance));
  EXPECT_EQ(this->QueryOne(TypeParam::JoinedInOrder("seq", "journal")), good);
  EXPECT_EQ(this->QueryOne(TypeParam::JoinedInOrder("\"offset\"", "onceflow_dead_letters")), bad);
}

TYPED_TEST_P(SqlSinkContractTest, BadCommitArgumentsAreRefused) {
  auto sink = this->OpenSink(TypeParam::Bank());
  ASSERT_NE(sink, nullptr);
  const std::vector<TaskCommit> twice = {Task("p", 0, 0, 1, {}, {}), Task("p", 0, 1, 1, {}, {})};
  auto outcome = sink->Commit(twice);
  ASSERT_FALSE(outcome.has_value());
  EXPECT_NE(outcome.error().message().find("pipeline 'p' task 0 appears twice"), std::string::npos);
  for (const TaskCommit& bad :
       {Task("p", 0, 0, 1, {R(0, 5, 4)}, {}), Task("p", 0, 0, 1, {R(0, 0, 1), R(0, 1, 2)}, {}),
        Task("", 0, 0, 1, {}, {}), Task("p", 0, -1, 1, {}, {})}) {
    auto result = CommitOne(sink.get(), bad);
    ASSERT_FALSE(result.has_value());
    EXPECT_TRUE(result.error().IsInvalidArgument()) << result.error().ToString();
  }
  EXPECT_TRUE(this->Progress().empty());
}

TYPED_TEST_P(SqlSinkContractTest, UseBeforeOpenIsAnError) {
  SqlSinkSetup o;
  o.init = {"CREATE TABLE IF NOT EXISTS orders(id INTEGER NOT NULL)"};
  o.table = "orders";
  auto sink = this->env_.MakeSink(o);
  ASSERT_TRUE(sink.has_value());
  EXPECT_FALSE((*sink)->ReadProgress("p").has_value());
  auto outcome = CommitOne(sink->get(), Task("p", 0, 0, 1, {}, {}));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_NE(outcome.error().message().find("not open"), std::string::npos);
}

REGISTER_TYPED_TEST_SUITE_P(SqlSinkContractTest, SameBatchTwiceIsAlreadyCommittedAndNotAppliedAgain,
                            ReplayWithOtherRangesIsRefused, OlderEpochIsFencedAndWritesNothing,
                            ClaimFencesOlderEpochsAndKeepsEveryTasksProgress,
                            GapAndOverlapAreRefusedAndWriteNothing,
                            UpsertRowWithoutItsKeyIsADeadLetter,
                            StatementsRowWithoutAParameterFieldIsADeadLetter,
                            MultiStatementRowThatFailsHalfWayLeavesNoPartialEffect,
                            ManyBadRowsAmongGoodOnesEachLeaveNothingAndTheRestCommitOnce,
                            BadCommitArgumentsAreRefused, UseBeforeOpenIsAnError);

}  // namespace onceflow::sink::testing::contract
