// The modes and binding of the transactional SQL sinks (SQLite, PostgreSQL), written once and run
// against each: append binds fields to columns by name, upsert updates by key, statements bind
// named parameters, a bad row is a dead letter, several tasks commit in one transaction, open
// errors name the table or statement. Where the dialects differ (column types, the text of a
// value, an error's wording, parameter forms) the environment of sql_sink_contract_test.h says
// how; it is instantiated with the same environment:
//   INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, SqlSinkModesContractTest, SqliteSqlEnv);
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sink/sql_sink_contract_test.h"

namespace onceflow::sink::testing::contract {

template <typename Env>
class SqlSinkModesContractTest : public SqlSinkContractTest<Env> {};

TYPED_TEST_SUITE_P(SqlSinkModesContractTest);

TYPED_TEST_P(SqlSinkModesContractTest, AppendBindsFieldsToColumnsByName) {
  auto sink = this->OpenSink(this->AppendOrders());
  ASSERT_NE(sink, nullptr);
  EXPECT_TRUE(this->env_.Describes(sink->Describe())) << sink->Describe();
  const std::vector<SinkRow> rows = {
      {Row{{"id", int64_t{1}}, {"item", "tea"}, {"price", 2.5}, {"paid", true}, {"note", "x"}},
       PartitionId(0), Offset(10)},
      // Another field order, an extra field, a missing column and an explicit null.
      {Row{{"price", int64_t{3}},
           {"extra", "ignored"},
           {"id", int64_t{2}},
           {"paid", false},
           {"item", Value()}},
       PartitionId(0), Offset(11)},
      // What PostgreSQL's COPY text format must escape, and a string that looks like its NULL.
      {Row{{"id", int64_t{3}}, {"item", "a\tb\nc\\d\re"}, {"note", "\\N"}}, PartitionId(0),
       Offset(12)},
  };
  auto outcome = CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 10, 13)}, rows));
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(*outcome, CommitOutcome::kCommitted);
  EXPECT_EQ(this->Query("SELECT id, item, price, paid, note FROM orders WHERE id < 3 ORDER BY id"),
            (std::vector<std::string>{"1|tea|2.5|" + TypeParam::BoolText(true) + "|x",
                                      "2|NULL|" + TypeParam::WholeDoubleText(3) + "|" +
                                          TypeParam::BoolText(false) + "|NULL"}));
  // The literal holds the tab, newline, backslash and carriage return themselves.
  EXPECT_EQ(this->QueryOne("SELECT count(*) FROM orders WHERE id = 3 AND "
                           "item = 'a\tb\nc\\d\re' AND note = '\\N'"),
            "1");
  EXPECT_EQ(this->Progress(), std::vector<std::string>{"0:0:1:0:10-13"});

  auto progress = sink->ReadProgress("p");
  ASSERT_TRUE(progress.has_value()) << progress.error().ToString();
  ASSERT_EQ(progress->size(), 1u);
  EXPECT_EQ(progress->at(0).last_batch, BatchId(0));
  EXPECT_EQ(progress->at(0).epoch, Epoch(1));
  EXPECT_EQ(progress->at(0).ranges, std::vector<TaskRange>{R(0, 10, 13)});
  EXPECT_TRUE(sink->ReadProgress("other")->empty());
}

TYPED_TEST_P(SqlSinkModesContractTest, UpsertUpdatesRowsByKey) {
  SqlSinkSetup o;
  o.init = {"CREATE TABLE totals(region TEXT, day INTEGER, amount " + TypeParam::DoubleType() +
            ", n INTEGER, PRIMARY KEY(region, day))"};
  o.mode = SinkMode::kUpsert;
  o.table = "totals";
  o.key = {"region", "day"};
  auto sink = this->OpenSink(o);
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> b0 = {
      {Row{{"region", "eu"}, {"day", int64_t{1}}, {"amount", 1.5}, {"n", int64_t{1}}}},
      {Row{{"region", "us"}, {"day", int64_t{1}}, {"amount", 2.0}, {"n", int64_t{1}}}}};
  // The same key twice in one batch: the later row wins, as row by row.
  const std::vector<SinkRow> b1 = {
      {Row{{"region", "eu"}, {"day", int64_t{1}}, {"amount", 3.0}, {"n", int64_t{5}}}},
      {Row{{"region", "eu"}, {"day", int64_t{1}}, {"amount", 4.0}, {"n", int64_t{2}}}},
      {Row{{"region", "eu"}, {"day", int64_t{2}}, {"amount", 7.0}, {"n", int64_t{1}}}}};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 2)}, b0)), CommitOutcome::kCommitted);
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 1, 1, {R(0, 2, 5)}, b1)), CommitOutcome::kCommitted);
  auto d = [](int64_t v) { return TypeParam::WholeDoubleText(v); };
  EXPECT_EQ(this->Query("SELECT * FROM totals ORDER BY region, day"),
            (std::vector<std::string>{"eu|1|" + d(4) + "|2", "eu|2|" + d(7) + "|1",
                                      "us|1|" + d(2) + "|1"}));
  EXPECT_EQ(this->Progress(), std::vector<std::string>{"0:1:1:0:2-5"});
}

TYPED_TEST_P(SqlSinkModesContractTest, StatementsBindNamedParametersPerRow) {
  SqlSinkSetup o = TypeParam::Bank();
  // The same parameter twice, and the dialect's other parameter forms: no net effect.
  TypeParam::AddParameterForms(&o);
  auto sink = this->OpenSink(o);
  ASSERT_NE(sink, nullptr);
  std::vector<SinkRow> rows = this->Transfers({{1, 5}, {2, 7}, {1, -3}});
  for (SinkRow& r : rows) r.row.Set("fee", int64_t{1});
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 3)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(this->Query("SELECT * FROM accounts ORDER BY id"),
            (std::vector<std::string>{"1|102", "2|7"}));
  EXPECT_EQ(this->Query(TypeParam::LedgerInOrder()),
            (std::vector<std::string>{"1|5", "2|7", "1|-3"}));
  for (const auto& [query, expected] : TypeParam::ParameterFormsEffects()) {
    EXPECT_EQ(this->Query(query), expected) << query;
  }
}

TYPED_TEST_P(SqlSinkModesContractTest, BadRowGoesToDeadLettersAndTheRestCommits) {
  auto sink = this->OpenSink(this->AppendOrders());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = {
      {Row{{"id", int64_t{1}}, {"item", "a"}}, PartitionId(2), Offset(40)},
      {Row{{"item", "no id"}}, PartitionId(2), Offset(41)},  // id is NOT NULL
      {Row{{"id", int64_t{3}}, {"item", "c"}}, PartitionId(2), Offset(42)}};
  const std::vector<DeadLetter> unparsed = {
      {PartitionId(2), Offset(43), std::string("\xff\x00{", 3), "not JSON"}};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(2, 40, 44)}, rows, unparsed)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(this->Query("SELECT id, item FROM orders ORDER BY id"),
            (std::vector<std::string>{"1|a", "3|c"}));
  EXPECT_EQ(
      this->Query("SELECT pipeline, batch, partition, \"offset\", " + TypeParam::RawHex() +
                  ", error FROM onceflow_dead_letters ORDER BY \"offset\""),
      (std::vector<std::string>{"p|0|2|41|7B226974656D223A226E6F206964227D|insert into orders: " +
                                    TypeParam::NotNullViolation("orders", "id"),
                                "p|0|2|43|FF007B|not JSON"}));
  EXPECT_EQ(this->Progress(), std::vector<std::string>{"0:0:1:2:40-44"});
}

TYPED_TEST_P(SqlSinkModesContractTest, SeveralTasksInOneCommit) {
  auto sink = this->OpenSink(TypeParam::Bank());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows0 = this->Transfers({{1, 10}});
  const std::vector<SinkRow> rows1 = this->Transfers({{2, 5}, {2, 6}});
  const TaskCommit t0 = Task("p", 0, 0, 1, {R(0, 0, 1)}, rows0);
  ASSERT_EQ(CommitOne(sink.get(), t0), CommitOutcome::kCommitted);
  // Listed out of task order: outcomes come back in the order given.
  const std::vector<TaskCommit> both = {Task("p", 1, 0, 1, {R(1, 0, 2)}, rows1), t0};
  auto outcomes = sink->Commit(both);
  ASSERT_TRUE(outcomes.has_value()) << outcomes.error().ToString();
  EXPECT_EQ(*outcomes, (std::vector<CommitOutcome>{CommitOutcome::kCommitted,
                                                   CommitOutcome::kAlreadyCommitted}));
  EXPECT_EQ(this->Query("SELECT * FROM accounts ORDER BY id"),
            (std::vector<std::string>{"1|110", "2|11"}));
  EXPECT_EQ(this->Progress(), (std::vector<std::string>{"0:0:1:0:0-1", "1:0:1:1:0-2"}));
  // All already committed: nothing changes, the outcomes say so.
  outcomes = sink->Commit(both);
  ASSERT_TRUE(outcomes.has_value()) << outcomes.error().ToString();
  EXPECT_EQ(*outcomes, (std::vector<CommitOutcome>{CommitOutcome::kAlreadyCommitted,
                                                   CommitOutcome::kAlreadyCommitted}));
  EXPECT_EQ(this->LedgerRows(), "3");

  // One fenced task fails the whole commit: the other task's rows are not written either.
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 1, 5, {R(0, 1, 1)}, {})), CommitOutcome::kCommitted);
  const std::vector<TaskCommit> mixed = {Task("p", 1, 1, 1, {R(1, 2, 4)}, rows1),
                                         Task("p", 0, 2, 1, {R(0, 1, 2)}, rows0)};
  auto fenced = sink->Commit(mixed);
  ASSERT_FALSE(fenced.has_value());
  EXPECT_EQ(fenced.error().code(), StatusCode::kFenced);
  EXPECT_EQ(this->LedgerRows(), "3");
  EXPECT_EQ(this->Progress(), (std::vector<std::string>{"0:1:5:0:1-1", "1:0:1:1:0-2"}));
  // No placeholder of a rolled-back commit is left behind.
  EXPECT_EQ(this->QueryOne("SELECT count(*) FROM onceflow_progress WHERE last_batch < 0"), "0");
}

TYPED_TEST_P(SqlSinkModesContractTest, OpenErrorsNameTheTableOrStatement) {
  SqlSinkSetup missing_table = this->AppendOrders();
  missing_table.init.clear();
  SqlSinkSetup bad_key;
  bad_key.init = {"CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER)"};
  bad_key.mode = SinkMode::kUpsert;
  bad_key.table = "kv";
  bad_key.key = {"nope"};
  SqlSinkSetup commit = TypeParam::Bank();
  commit.statements.push_back("COMMIT");
  SqlSinkSetup two = TypeParam::Bank();
  two.statements = {"UPDATE accounts SET balance = 1; DELETE FROM ledger"};
  SqlSinkSetup syntax = TypeParam::Bank();
  syntax.statements = {"UPDATE accounts SET balance = 1", "UPDAT ledger"};
  SqlSinkSetup bad_init = this->AppendOrders();
  bad_init.init.push_back("CREAT TABLE x(a int)");
  // What the sinks say alike, then in the dialect's words (TypeParam::OpenErrors).
  std::vector<std::pair<SqlSinkSetup, std::string>> cases = {
      {missing_table, "sink.table 'orders' does not exist"},
      {bad_key, "sink.table 'kv' has no column 'nope' (named in sink.key)"},
      {commit, "statement 3 (COMMIT): transaction control"},
      {two, TypeParam::kTwoStatementsError},
      {syntax, std::string("statement 2 (UPDAT ledger): ") + TypeParam::SyntaxError("UPDAT")},
      {bad_init, std::string("sink.init statement 2: ") + TypeParam::SyntaxError("CREAT")},
  };
  for (auto& c : TypeParam::OpenErrors()) cases.push_back(std::move(c));
  for (const auto& [setup, expected] : cases) {
    auto sink = this->env_.MakeSink(setup);
    ASSERT_TRUE(sink.has_value()) << sink.error().ToString();
    Status s = (*sink)->Open();
    ASSERT_FALSE(s.ok()) << expected;
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_NE(s.message().find(expected), std::string::npos) << s.message();
    EXPECT_EQ(s.message().rfind((*sink)->Describe(), 0), 0u) << s.message();
  }
}

REGISTER_TYPED_TEST_SUITE_P(SqlSinkModesContractTest, AppendBindsFieldsToColumnsByName,
                            UpsertUpdatesRowsByKey, StatementsBindNamedParametersPerRow,
                            BadRowGoesToDeadLettersAndTheRestCommits, SeveralTasksInOneCommit,
                            OpenErrorsNameTheTableOrStatement);

}  // namespace onceflow::sink::testing::contract
