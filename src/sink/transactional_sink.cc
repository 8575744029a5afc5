// The commit and claim skeleton of the SQLite and PostgreSQL sinks: where the fault points of
// step 4 of the commit protocol lie (docs/protocol.md).
#include "sink/transactional_sink.h"

#include <algorithm>
#include <utility>

#include "util/check.h"
#include "util/fault_points.h"

namespace onceflow::sink {

Result<std::vector<CommitOutcome>> TransactionalSink::Commit(std::span<const TaskCommit> tasks) {
  ONCEFLOW_RETURN_IF_ERROR(ValidateCommit(Describe(), tasks));
  std::lock_guard lock(mu_);
  ONCEFLOW_RETURN_IF_ERROR(Outward(Begin("begin the commit transaction")));
  std::vector<CommitOutcome> outcomes;
  outcomes.reserve(tasks.size());
  bool wrote = false;
  Status s = WriteTransaction(tasks, &outcomes, &wrote);
  if (s.ok() && wrote) s = faults::Hit("before_sink_commit");
  if (s.ok() && wrote) s = CommitTransaction("commit batch " + tasks.front().batch.ToString());
  if (!s.ok()) {
    Rollback();
    return Err(Outward(std::move(s)));
  }
  if (!wrote) {
    Rollback();  // every task was already committed: nothing to keep
    return outcomes;
  }
  // The batch is durable from here on; a failure now makes the caller retry, and the retry
  // finds the progress rows and reports kAlreadyCommitted.
  ONCEFLOW_RETURN_IF_ERROR(faults::Hit("after_sink_commit"));
  return outcomes;
}

Status TransactionalSink::WriteTransaction(std::span<const TaskCommit> tasks,
                                           std::vector<CommitOutcome>* outcomes, bool* wrote) {
  // Decide every task before writing anything: a fenced task or a gap fails the whole commit
  // early, and the number of rows to write places the mid_sink_write fault point.
  stored_.assign(tasks.size(), std::nullopt);
  ONCEFLOW_RETURN_IF_ERROR(ReadProgressRows(tasks, &stored_));
  for (size_t i = 0; i < tasks.size(); ++i) {
    ONCEFLOW_ASSIGN_OR_RETURN(CommitOutcome outcome, DecideTask(Describe(), tasks[i], stored_[i]));
    outcomes->push_back(outcome);
    if (outcome == CommitOutcome::kCommitted) *wrote = true;
  }
  if (!*wrote) return Status::Ok();
  return WriteCommitted(tasks, *outcomes);
}

Status TransactionalSink::WriteCommitted(std::span<const TaskCommit> tasks,
                                         std::span<const CommitOutcome> outcomes) {
  // Mismatched spans would write one task's rows under another task's progress row.
  ONCEFLOW_CHECK(outcomes.size() == tasks.size() && stored_.size() == tasks.size())
      << outcomes.size() << " outcomes, " << stored_.size() << " stored rows, " << tasks.size()
      << " tasks";
  size_t rows_to_write = 0;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (outcomes[i] == CommitOutcome::kCommitted) rows_to_write += tasks[i].rows.size();
  }
  const size_t half = rows_to_write / 2;
  size_t written = 0;
  bool mid_hit = false;
  const int64_t now_ms = NowMs();
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (outcomes[i] != CommitOutcome::kCommitted) continue;
    const TaskCommit& t = tasks[i];
    if (!mid_hit && written + t.rows.size() > half) {
      // Half of the commit's rows lie before this point.
      const size_t first = half - written;
      ONCEFLOW_RETURN_IF_ERROR(WriteRows(t, t.rows.first(first)));
      mid_hit = true;
      ONCEFLOW_RETURN_IF_ERROR(faults::Hit("mid_sink_write"));
      ONCEFLOW_RETURN_IF_ERROR(WriteRows(t, t.rows.subspan(first)));
    } else {
      ONCEFLOW_RETURN_IF_ERROR(WriteRows(t, t.rows));
    }
    written += t.rows.size();
    for (const DeadLetter& d : t.dead_letters) {
      ONCEFLOW_RETURN_IF_ERROR(WriteDeadLetter(t, d.partition, d.offset, d.raw, d.error));
    }
    ONCEFLOW_RETURN_IF_ERROR(WriteProgress(
        t.pipeline, t.task,
        ProgressAfter(stored_[i], t.batch, t.epoch, t.ranges, t.source, t.digest), now_ms));
  }
  if (!mid_hit) ONCEFLOW_RETURN_IF_ERROR(faults::Hit("mid_sink_write"));
  return FinishRows();
}

Result<std::map<int32_t, TaskProgress>> TransactionalSink::Claim(const std::string& pipeline,
                                                                 std::span<const int32_t> tasks,
                                                                 Epoch epoch) {
  std::lock_guard lock(mu_);
  ONCEFLOW_RETURN_IF_ERROR(Outward(Begin("begin the claim transaction")));
  std::map<int32_t, TaskProgress> claimed;
  Status s = ClaimTransaction(pipeline, tasks, epoch, &claimed);
  if (s.ok()) s = CommitTransaction("commit the claim");
  if (!s.ok()) {
    Rollback();
    return Err(Outward(std::move(s)));
  }
  return claimed;
}

Status TransactionalSink::ClaimTransaction(const std::string& pipeline,
                                           std::span<const int32_t> tasks, Epoch epoch,
                                           std::map<int32_t, TaskProgress>* claimed) {
  // In task order, as commits lock their rows, so that a claim and a commit cannot deadlock.
  std::vector<int32_t> order(tasks.begin(), tasks.end());
  std::sort(order.begin(), order.end());
  for (int32_t task : order) {
    ONCEFLOW_ASSIGN_OR_RETURN(std::optional<TaskProgress> stored, ReadClaimRow(pipeline, task));
    ONCEFLOW_ASSIGN_OR_RETURN(TaskProgress after,
                              DecideClaim(Describe(), pipeline, task, epoch, stored));
    if (!stored.has_value() || stored->epoch != epoch) {
      ONCEFLOW_RETURN_IF_ERROR(WriteClaim(pipeline, task, after));
    }
    (*claimed)[task] = std::move(after);
  }
  return Status::Ok();
}

}  // namespace onceflow::sink
