// The additive mode of the transactional SQL sinks (SQLite, PostgreSQL), written once and run
// against each with the environments of sql_sink_contract_test.h: a batch's deltas summed per
// key with exact balances, ledger rows appended in the same transaction, a batch applied twice
// adding once (also across tasks of one commit and after a fault at the commit), bad rows as
// dead letters that add nothing, sums outside int64 refused naming the key, REAL deltas summed
// as doubles:
//   INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, SqlSinkAdditiveContractTest, SqliteSqlEnv);
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "sink/sql_sink_contract_test.h"

namespace onceflow::sink::testing::contract {

template <typename Env>
class SqlSinkAdditiveContractTest : public SqlSinkContractTest<Env> {
 protected:
  // accounts(id, balance), ledger(id NOT NULL, src, dst, amount); per transfer: from -= amount,
  // to += amount, one ledger row.
  static SqlSinkSetup Ledger(const std::string& balance_type = "BIGINT") {
    SqlSinkSetup o;
    o.init = {
        "CREATE TABLE IF NOT EXISTS accounts(id BIGINT PRIMARY KEY, balance " + balance_type + ")",
        "CREATE TABLE IF NOT EXISTS ledger(id BIGINT NOT NULL, src BIGINT, dst BIGINT, "
        "amount " +
            balance_type + ")"};
    o.mode = SinkMode::kAdditive;
    o.add = {{.table = "accounts", .key = {{"id", "from"}}, .add = {{"balance", "-amount"}}},
             {.table = "accounts", .key = {{"id", "to"}}, .add = {{"balance", "amount"}}}};
    o.append = {.table = "ledger",
                .columns = {{"id", "id"}, {"src", "from"}, {"dst", "to"}, {"amount", "amount"}}};
    return o;
  }
  static SinkRow Transfer(Value id, Value from, Value to, Value amount, int64_t offset) {
    return {Row{{"id", std::move(id)},
                {"from", std::move(from)},
                {"to", std::move(to)},
                {"amount", std::move(amount)}},
            PartitionId(0), Offset(offset)};
  }
  std::vector<std::string> Balances() {
    return this->Query("SELECT id, balance FROM accounts ORDER BY id");
  }
  std::vector<std::string> LedgerIds() { return this->Query("SELECT id FROM ledger ORDER BY id"); }
};

TYPED_TEST_SUITE_P(SqlSinkAdditiveContractTest);

TYPED_TEST_P(SqlSinkAdditiveContractTest, SumsDeltasPerKeyAndAppendsLedgerRows) {
  auto sink = this->OpenSink(this->Ledger());
  ASSERT_NE(sink, nullptr);
  this->env_.Exec("INSERT INTO accounts VALUES(1, 100)");
  const std::vector<SinkRow> b0 = {
      this->Transfer(int64_t{1}, int64_t{1}, int64_t{2}, int64_t{30}, 0),
      this->Transfer(int64_t{2}, int64_t{2}, int64_t{3}, int64_t{10}, 1),
      this->Transfer(int64_t{3}, int64_t{1}, int64_t{3}, int64_t{5}, 2),
      this->Transfer(int64_t{4}, int64_t{3}, int64_t{3}, int64_t{7}, 3)};  // to itself: 0
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 4)}, b0)), CommitOutcome::kCommitted);
  EXPECT_EQ(this->Balances(), (std::vector<std::string>{"1|65", "2|20", "3|15"}));
  EXPECT_EQ(this->LedgerIds(), (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(this->Query("SELECT src, dst, amount FROM ledger WHERE id = 2"),
            std::vector<std::string>{"2|3|10"});
  const std::vector<SinkRow> b1 = {
      this->Transfer(int64_t{5}, int64_t{3}, int64_t{1}, int64_t{15}, 4)};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 1, 1, {R(0, 4, 5)}, b1)), CommitOutcome::kCommitted);
  EXPECT_EQ(this->Balances(), (std::vector<std::string>{"1|80", "2|20", "3|0"}));
  EXPECT_EQ(this->Progress(), std::vector<std::string>{"0:1:1:0:4-5"});
}

TYPED_TEST_P(SqlSinkAdditiveContractTest, ABatchAppliedTwiceAddsOnce) {
  const std::vector<SinkRow> b0 = {
      this->Transfer(int64_t{1}, int64_t{1}, int64_t{2}, int64_t{30}, 0),
      this->Transfer(int64_t{2}, int64_t{2}, int64_t{1}, int64_t{5}, 1)};
  const std::vector<SinkRow> other = {
      this->Transfer(int64_t{3}, int64_t{1}, int64_t{2}, int64_t{1}, 0)};
  {
    auto sink = this->OpenSink(this->Ledger());
    ASSERT_NE(sink, nullptr);
    // Two tasks of one batch add to the same keys in one commit.
    const std::vector<TaskCommit> tasks = {Task("p", 0, 0, 1, {R(0, 0, 2)}, b0),
                                           Task("p", 1, 0, 1, {R(1, 0, 1)}, other)};
    auto outcomes = sink->Commit(tasks);
    ASSERT_TRUE(outcomes.has_value()) << outcomes.error().ToString();
    EXPECT_EQ(this->Balances(), (std::vector<std::string>{"1|-26", "2|26"}));
    // The same commit again, a retry or a speculative twin: already committed, nothing added.
    outcomes = sink->Commit(tasks);
    ASSERT_TRUE(outcomes.has_value()) << outcomes.error().ToString();
    EXPECT_EQ(*outcomes, (std::vector<CommitOutcome>{CommitOutcome::kAlreadyCommitted,
                                                     CommitOutcome::kAlreadyCommitted}));
  }
  // After a restart, a replay of task 0's batch 0 alone; and a fault just after the next
  // commit: the batch is durable, its retry adds nothing.
  auto sink = this->OpenSink(this->Ledger());
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 2)}, b0)),
            CommitOutcome::kAlreadyCommitted);
  const std::vector<SinkRow> b1 = {
      this->Transfer(int64_t{4}, int64_t{2}, int64_t{1}, int64_t{6}, 2)};
  ASSERT_TRUE(faults::Arm("after_sink_commit=throw").ok());
  EXPECT_FALSE(CommitOne(sink.get(), Task("p", 0, 1, 1, {R(0, 2, 3)}, b1)).has_value());
  faults::DisarmAll();
  EXPECT_EQ(CommitOne(sink.get(), Task("p", 0, 1, 1, {R(0, 2, 3)}, b1)),
            CommitOutcome::kAlreadyCommitted);
  // A fault before the commit: nothing of the batch; its retry adds once.
  const std::vector<SinkRow> b2 = {
      this->Transfer(int64_t{5}, int64_t{1}, int64_t{2}, int64_t{100}, 3)};
  ASSERT_TRUE(faults::Arm("before_sink_commit=throw").ok());
  EXPECT_FALSE(CommitOne(sink.get(), Task("p", 0, 2, 1, {R(0, 3, 4)}, b2)).has_value());
  faults::DisarmAll();
  EXPECT_EQ(this->Balances(), (std::vector<std::string>{"1|-20", "2|20"}));
  EXPECT_EQ(CommitOne(sink.get(), Task("p", 0, 2, 1, {R(0, 3, 4)}, b2)), CommitOutcome::kCommitted);
  EXPECT_EQ(this->Balances(), (std::vector<std::string>{"1|-120", "2|120"}));
  EXPECT_EQ(this->LedgerIds(), (std::vector<std::string>{"1", "2", "3", "4", "5"}));
}

TYPED_TEST_P(SqlSinkAdditiveContractTest, BadRowIsADeadLetterAndAddsNothing) {
  auto sink = this->OpenSink(this->Ledger());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = {
      this->Transfer(int64_t{1}, int64_t{1}, int64_t{2}, int64_t{10}, 0),
      // No "to": neither its debit nor its ledger row.
      {Row{{"id", int64_t{2}}, {"from", int64_t{1}}, {"amount", int64_t{99}}}, PartitionId(0),
       Offset(1)},
      this->Transfer(int64_t{3}, int64_t{1}, int64_t{2}, "lots", 2),   // not a number
      this->Transfer(Value(), int64_t{1}, int64_t{2}, int64_t{7}, 3),  // the ledger refuses it
      this->Transfer(int64_t{5}, int64_t{2}, int64_t{1}, int64_t{4}, 4)};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 5)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(this->Balances(), (std::vector<std::string>{"1|-6", "2|6"}));
  EXPECT_EQ(this->LedgerIds(), (std::vector<std::string>{"1", "5"}));
  const std::vector<std::string> dead =
      this->Query("SELECT \"offset\", error FROM onceflow_dead_letters ORDER BY \"offset\"");
  ASSERT_EQ(dead.size(), 3u);
  EXPECT_EQ(dead[0], "1|sink.add[1] (accounts): the row has no field 'to' for key column id");
  EXPECT_EQ(dead[1], "2|sink.add[0] (accounts): field 'amount' is lots, not a number to add to "
                     "column balance");
  EXPECT_TRUE(dead[2].starts_with("3|insert into ledger: ")) << dead[2];
}

TYPED_TEST_P(SqlSinkAdditiveContractTest, ASumOutsideInt64IsRefusedNamingTheKey) {
  auto sink = this->OpenSink(this->Ledger());
  ASSERT_NE(sink, nullptr);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  // Within the batch: two credits of the maximum to account 2.
  const std::vector<SinkRow> rows = {this->Transfer(int64_t{1}, int64_t{1}, int64_t{2}, kMax, 0),
                                     this->Transfer(int64_t{2}, int64_t{3}, int64_t{2}, kMax, 1)};
  auto outcome = CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 2)}, rows));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code(), StatusCode::kAborted);
  EXPECT_NE(outcome.error().message().find("table accounts key id=2"), std::string::npos)
      << outcome.error().ToString();
  EXPECT_FALSE(outcome.error().retryable());
  EXPECT_TRUE(this->Balances().empty());
  EXPECT_TRUE(this->LedgerIds().empty());
  EXPECT_TRUE(this->Progress().empty());
  // In the database: a stored balance near the maximum, and a batch whose sum fits.
  this->env_.Exec("INSERT INTO accounts VALUES(7, " + std::to_string(kMax - 1) + ")");
  const std::vector<SinkRow> more = {
      this->Transfer(int64_t{3}, int64_t{8}, int64_t{7}, int64_t{5}, 0)};
  outcome = CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 1)}, more));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code(), StatusCode::kAborted);
  EXPECT_NE(outcome.error().message().find("table accounts key id=7"), std::string::npos)
      << outcome.error().ToString();
  EXPECT_EQ(this->Balances(), std::vector<std::string>{"7|" + std::to_string(kMax - 1)});
  EXPECT_TRUE(this->LedgerIds().empty());
  EXPECT_TRUE(this->Progress().empty());
}

TYPED_TEST_P(SqlSinkAdditiveContractTest, RealDeltasSumAsDoubles) {
  auto sink = this->OpenSink(this->Ledger(TypeParam::DoubleType()));
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = {
      this->Transfer(int64_t{1}, int64_t{1}, int64_t{2}, 0.5, 0),
      this->Transfer(int64_t{2}, int64_t{1}, int64_t{2}, 0.25, 1),
      this->Transfer(int64_t{3}, int64_t{1}, int64_t{2}, int64_t{1}, 2)};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 3)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(this->Balances(), (std::vector<std::string>{"1|-1.75", "2|1.75"}));
}

REGISTER_TYPED_TEST_SUITE_P(SqlSinkAdditiveContractTest, SumsDeltasPerKeyAndAppendsLedgerRows,
                            ABatchAppliedTwiceAddsOnce, BadRowIsADeadLetterAndAddsNothing,
                            ASumOutsideInt64IsRefusedNamingTheKey, RealDeltasSumAsDoubles);

}  // namespace onceflow::sink::testing::contract
