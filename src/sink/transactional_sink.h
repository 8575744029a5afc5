// TransactionalSink: the commit skeleton of a sink with database transactions (SQLite,
// PostgreSQL), stated once: BEGIN, read the tasks' progress rows, decide, write the rows, dead
// letters and progress rows, COMMIT, with the fault points of docs/protocol.md ("Step 4: the
// sink commit") at their places. A sink supplies its SQL and connection through the hooks.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "onceflow/status.h"
#include "sink/sink.h"
#include "sink/sink_protocol.h"

namespace onceflow::sink {

// A Sink whose Commit and Claim run as one database transaction each. The base owns the order
// of the steps and the fault points; a subclass owns the connection and the SQL.
//
// Commit(tasks), under mu_:
//   1. ValidateCommit (before the lock), Begin;
//   2. ReadProgressRows: every task's stored row (locked where the database locks rows);
//   3. DecideTask for every task, in order: fenced / aborted fail the whole commit;
//   4. if some task is kCommitted: WriteCommitted (each kCommitted task's rows, dead letters
//      and progress row; fault point mid_sink_write once half of the commit's rows are
//      written), FinishRows, fault point before_sink_commit, CommitTransaction;
//      else (every task already committed) Rollback: nothing to keep;
//   5. fault point after_sink_commit (the batch is durable: the retry finds it committed).
// An error anywhere before COMMIT returns rolls back (Rollback) and is returned through
// Outward (which masks secrets).
//
// Claim(pipeline, tasks, epoch), under mu_: Begin; for each task in task order: ReadClaimRow,
// DecideClaim (fenced if a newer epoch holds it), WriteClaim when the row's epoch changes;
// CommitTransaction. No fault point.
//
// Thread-safety: Commit, Claim and whatever a subclass guards with mu_ run one at a time.
class TransactionalSink : public Sink {
 public:
  Result<std::vector<CommitOutcome>> Commit(std::span<const TaskCommit> tasks) final;
  Result<std::map<int32_t, TaskProgress>> Claim(const std::string& pipeline,
                                                std::span<const int32_t> tasks, Epoch epoch) final;

 protected:
  TransactionalSink() = default;
  ~TransactionalSink() override = default;

  // Begins the transaction; an error here leaves none open (Rollback is not called). Returns
  // invalid_argument when the sink is not open. REQUIRES: mu_ held.
  virtual Status Begin(const std::string& what) = 0;
  // Reads the stored progress row of every task (nullopt: none), one per task, in order,
  // taking the rows' locks where the database has them. REQUIRES: mu_ held; in a transaction.
  virtual Status ReadProgressRows(std::span<const TaskCommit> tasks,
                                  std::vector<std::optional<TaskProgress>>* stored) = 0;
  // Claim: reads (and locks) the task's stored row, nullopt for none. REQUIRES: as above.
  virtual Result<std::optional<TaskProgress>> ReadClaimRow(const std::string& pipeline,
                                                           int32_t task) = 0;
  // Claim: stores `after` (the row's epoch changed, or the row is new). REQUIRES: as above.
  virtual Status WriteClaim(const std::string& pipeline, int32_t task,
                            const TaskProgress& after) = 0;
  // Writes `rows` of task `t`, and the dead letters of the rows that fail (a row that fails
  // leaves nothing of itself). REQUIRES: mu_ held; in a transaction.
  virtual Status WriteRows(const TaskCommit& t, std::span<const SinkRow> rows) = 0;
  virtual Status WriteDeadLetter(const TaskCommit& t, PartitionId partition, Offset offset,
                                 std::string_view raw, std::string_view error) = 0;
  // Writes what WriteRows deferred to the end of the commit (additive mode: the sums of every
  // task of the commit, one upsert per key), after the last task's rows and before COMMIT.
  // REQUIRES: as above.
  virtual Status FinishRows() { return Status::Ok(); }
  // Sets the progress row of (pipeline, task) to `row`. REQUIRES: as above.
  virtual Status WriteProgress(const std::string& pipeline, int32_t task, const TaskProgress& row,
                               int64_t now_ms) = 0;
  // Commits the transaction; durable when it returns ok. `what` names it in errors ("commit
  // batch 3", "commit the claim"). REQUIRES: mu_ held; in a transaction.
  virtual Status CommitTransaction(const std::string& what) = 0;
  // Rolls back whatever transaction is open; the error that led here is the one reported.
  // REQUIRES: mu_ held.
  virtual void Rollback() = 0;
  // An error as the sink returns it (the PostgreSQL sink masks its password); identity here.
  virtual Status Outward(Status s) const { return s; }

  // Guards the connection: one transaction at a time. Subclasses take it for their other
  // operations (Open, ReadProgress, DeleteProgress).
  std::mutex mu_;

 private:
  // Steps 2 to 4 of Commit, inside the transaction. Sets `*wrote` when some task is written.
  Status WriteTransaction(std::span<const TaskCommit> tasks, std::vector<CommitOutcome>* outcomes,
                          bool* wrote);
  // Step 4 of Commit: writes each task whose outcome is kCommitted (rows, dead letters, and its
  // progress row: ProgressAfter its stored row), in order. The fault point mid_sink_write is
  // hit once, when half of the commit's rows are written (before anything when there are
  // none). REQUIRES: outcomes.size() == stored_.size() == tasks.size() (CHECKed).
  Status WriteCommitted(std::span<const TaskCommit> tasks, std::span<const CommitOutcome> outcomes);
  // Claim's reads and writes, inside the transaction.
  Status ClaimTransaction(const std::string& pipeline, std::span<const int32_t> tasks, Epoch epoch,
                          std::map<int32_t, TaskProgress>* claimed);

  std::vector<std::optional<TaskProgress>> stored_;  // Commit's scratch: the rows read
};

}  // namespace onceflow::sink
