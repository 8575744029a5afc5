// KafkaSink: one transactional producer per (pipeline, task); output rows, dead letters and the
// task's progress marker in one Kafka transaction.
#include "sink/kafka_sink.h"

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "sink/kafka_progress_marker.h"
#include "sink/kafka_progress_reader.h"
#include "sink/sink_protocol.h"
#include "util/fault_points.h"
#include "util/row_json.h"

namespace onceflow::sink {
namespace {

struct TopicDeleter {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
using Topic = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;

// A task's producer and what it knows of the task's marker. `mu` serialises the task's commits.
struct TaskProducer {
  // Drops the producer (topics first: they belong to it); the next commit starts a new one.
  void Reset() {
    output.reset();
    progress.reset();
    dead_letters.reset();
    handle.reset();
  }

  std::mutex mu;
  kafka::Handle handle;  // null: to be (re)started with init_transactions
  // The producer's topics, held for its lifetime with their metadata loaded at start: a topic
  // the producer first meets at produce time waits for librdkafka's 1 s metadata scan
  // (measured: the first commit after a restart took 1.0 s instead of 12 ms).
  Topic output, progress, dead_letters;
  bool fenced = false;  // a newer producer of the task took over: never again
  bool loaded = false;  // `last` is the marker as committed in Kafka
  std::optional<TaskProgress> last;
};

class KafkaSink final : public Sink {
 public:
  explicit KafkaSink(KafkaSinkOptions options) : options_(std::move(options)) {}

  Status Open() override;
  Result<std::map<int32_t, TaskProgress>> ReadProgress(const std::string& pipeline) override;
  Result<std::map<int32_t, TaskProgress>> PeekProgress(const std::string& pipeline) override;
  Result<std::vector<CommitOutcome>> Commit(std::span<const TaskCommit> tasks) override;
  // Restarts each task's producer (init_transactions fences every other producer of the task,
  // in this process or another, and aborts what it left open), then reads the committed markers.
  Result<std::map<int32_t, TaskProgress>> Claim(const std::string& pipeline,
                                                std::span<const int32_t> tasks,
                                                Epoch epoch) override;
  // A tombstone for every task's marker, each in a transaction of the task's own producer
  // (which fences older producers first, so that no zombie's marker lands after it). The
  // records in the output and dead-letter topics stay: Kafka topics are append-only.
  Status DeleteProgress(const std::string& pipeline) override;
  std::string Describe() const override { return "kafka topic '" + options_.topic + "'"; }

 private:
  // The task's entry in producers_, made if missing (no producer started).
  TaskProducer* Slot(const std::string& pipeline, int32_t task);
  // The task's producer, started (init_transactions) if it is not.
  Result<TaskProducer*> Producer(const std::string& pipeline, int32_t task);
  // REQUIRES: tp->mu held.
  Status Start(TaskProducer* tp, const std::string& pipeline, int32_t task);
  Result<CommitOutcome> CommitTask(const TaskCommit& t);
  // REQUIRES: tp->mu held; a transaction is open. Writes rows, dead letters and the marker
  // (`after`, the task's progress once the transaction commits).
  Status WriteTransaction(TaskProducer* tp, const TaskCommit& t, const TaskProgress& after);
  // Produces one record; no `value` is a tombstone.
  Status Send(rd_kafka_t* rk, rd_kafka_topic_t* topic, int32_t partition,
              std::optional<std::string_view> key, std::optional<std::string_view> value);
  // REQUIRES: tp->mu held. Runs `write` in a transaction of the task's producer and commits it.
  Status InTransaction(TaskProducer* tp, const std::string& who,
                       const std::function<Status()>& write);

  const KafkaSinkOptions options_;
  kafka::Handle admin_;
  // The output topic's partitions when the sink opened: a task's records without a key go to
  // partition (task mod this).
  int32_t output_partitions_ = 1;

  std::unique_ptr<KafkaProgressReader> reader_;  // the markers in the progress topic

  std::mutex mu_;  // guards producers_ (the map, not the producers)
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<TaskProducer>> producers_;
};

Status KafkaSink::Open() {
  if (admin_ != nullptr) return Status::Ok();
  const std::string who = Describe();
  ONCEFLOW_ASSIGN_OR_RETURN(
      kafka::Handle admin, kafka::MakeClient(kafka::ClientKind::kProducer, options_.bootstrap, {}));
  Result<int32_t> n = kafka::PartitionCount(admin.get(), options_.topic, options_.request_timeout);
  if (!n.has_value()) return n.error().WithContext("sink");
  output_partitions_ = std::max<int32_t>(*n, 1);
  ONCEFLOW_RETURN_IF_ERROR(
      kafka::CreateTopic(admin.get(),
                         // Compaction keeps one marker per task; short segments
                         // let it run, so a start-up scan stays short.
                         {options_.progress_topic,
                          1,
                          -1,
                          {{"cleanup.policy", "compact"},
                           {"segment.ms", "600000"},
                           {"min.cleanable.dirty.ratio", "0.1"}}},
                         /*exist_ok=*/true, options_.request_timeout));
  ONCEFLOW_RETURN_IF_ERROR(kafka::CreateTopic(admin.get(), {options_.dead_letter_topic, 1, -1, {}},
                                              /*exist_ok=*/true, options_.request_timeout));
  ONCEFLOW_ASSIGN_OR_RETURN(
      reader_,
      KafkaProgressReader::Open(options_.bootstrap, options_.progress_topic,
                                options_.request_timeout, options_.transaction_timeout, who));
  admin_ = std::move(admin);
  return Status::Ok();
}

Result<std::map<int32_t, TaskProgress>> KafkaSink::ReadProgress(const std::string& pipeline) {
  if (admin_ == nullptr) return Err(Status::InvalidArgument(Describe() + ": not open"));
  // Start the producer of every task that ever wrote a marker: that fences older producers and
  // aborts what they left open, so the committed markers read next are final.
  ONCEFLOW_ASSIGN_OR_RETURN(auto written, reader_->Scan(pipeline, /*committed=*/false));
  std::vector<TaskProducer*> started;
  for (const auto& [task, marker] : written) {
    ONCEFLOW_ASSIGN_OR_RETURN(TaskProducer * tp, Producer(pipeline, task));
    started.push_back(tp);
  }
  ONCEFLOW_ASSIGN_OR_RETURN(auto committed, reader_->Scan(pipeline, /*committed=*/true));
  std::map<int32_t, TaskProgress> out;
  for (const auto& [task, marker] : committed) {
    if (marker.has_value()) out[task] = *marker;
  }
  std::lock_guard lock(mu_);
  for (auto& [id, tp] : producers_) {
    if (id.first != pipeline) continue;
    std::lock_guard task_lock(tp->mu);
    if (tp->handle == nullptr) continue;
    auto it = out.find(id.second);
    tp->last = it == out.end() ? std::nullopt : std::optional<TaskProgress>(it->second);
    tp->loaded = true;
  }
  return out;
}

Result<std::map<int32_t, TaskProgress>> KafkaSink::PeekProgress(const std::string& pipeline) {
  if (admin_ == nullptr) return Err(Status::InvalidArgument(Describe() + ": not open"));
  ONCEFLOW_ASSIGN_OR_RETURN(auto committed, reader_->Scan(pipeline, /*committed=*/true));
  std::map<int32_t, TaskProgress> out;
  for (const auto& [task, marker] : committed) {
    if (marker.has_value()) out[task] = *marker;
  }
  return out;
}

Result<std::map<int32_t, TaskProgress>> KafkaSink::Claim(const std::string& pipeline,
                                                         std::span<const int32_t> tasks,
                                                         Epoch epoch) {
  if (admin_ == nullptr) return Err(Status::InvalidArgument(Describe() + ": not open"));
  std::vector<TaskProducer*> claimed;
  for (int32_t task : tasks) {
    TaskProducer* tp = Slot(pipeline, task);
    std::lock_guard task_lock(tp->mu);
    // Fenced before under an older generation, or still running from one: start afresh.
    tp->Reset();
    tp->fenced = false;
    ONCEFLOW_RETURN_IF_ERROR(Start(tp, pipeline, task));
    claimed.push_back(tp);
  }
  ONCEFLOW_ASSIGN_OR_RETURN(auto committed, reader_->Scan(pipeline, /*committed=*/true));
  std::map<int32_t, TaskProgress> out;
  for (size_t i = 0; i < claimed.size(); ++i) {
    const int32_t task = tasks[i];
    auto it = committed.find(task);
    const std::optional<TaskProgress> stored = it == committed.end() ? std::nullopt : it->second;
    ONCEFLOW_ASSIGN_OR_RETURN(TaskProgress after,
                              DecideClaim(Describe(), pipeline, task, epoch, stored));
    std::lock_guard task_lock(claimed[i]->mu);
    // What commits are checked against: older epochs of this process are refused too.
    claimed[i]->last = after;
    claimed[i]->loaded = true;
    out[task] = std::move(after);
  }
  return out;
}

TaskProducer* KafkaSink::Slot(const std::string& pipeline, int32_t task) {
  std::lock_guard lock(mu_);
  auto& slot = producers_[{pipeline, task}];
  if (slot == nullptr) slot = std::make_unique<TaskProducer>();
  return slot.get();
}

Result<TaskProducer*> KafkaSink::Producer(const std::string& pipeline, int32_t task) {
  TaskProducer* tp = Slot(pipeline, task);
  std::lock_guard task_lock(tp->mu);
  if (tp->handle == nullptr && !tp->fenced) ONCEFLOW_RETURN_IF_ERROR(Start(tp, pipeline, task));
  return tp;
}

Status KafkaSink::Start(TaskProducer* tp, const std::string& pipeline, int32_t task) {
  kafka::Settings settings = {
      {"transactional.id", KafkaTransactionalId(pipeline, task)},
      {"transaction.timeout.ms", std::to_string(options_.transaction_timeout.count())},
      {"linger.ms", "5"},
  };
  settings.insert(settings.end(), options_.extra.begin(), options_.extra.end());
  ONCEFLOW_ASSIGN_OR_RETURN(kafka::Handle h, kafka::MakeClient(kafka::ClientKind::kProducer,
                                                               options_.bootstrap, settings));
  if (rd_kafka_error_t* e =
          rd_kafka_init_transactions(h.get(), static_cast<int>(options_.request_timeout.count()))) {
    return kafka::ErrorStatus(
               Describe() + ": " + TaskName(pipeline, task) + ": start the transactional producer",
               e)
        .WithRetryable(true);
  }
  tp->handle = std::move(h);
  tp->loaded = false;
  for (auto [slot, name] :
       {std::pair{&tp->output, &options_.topic}, std::pair{&tp->progress, &options_.progress_topic},
        std::pair{&tp->dead_letters, &options_.dead_letter_topic}}) {
    slot->reset(rd_kafka_topic_new(tp->handle.get(), name->c_str(), nullptr));
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(
        tp->handle.get(), 0, slot->get(), &md, static_cast<int>(options_.request_timeout.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      tp->Reset();
      return kafka::ErrorStatus(Describe() + ": topic '" + *name + "': metadata", err);
    }
    rd_kafka_metadata_destroy(md);
  }
  return Status::Ok();
}

Result<std::vector<CommitOutcome>> KafkaSink::Commit(std::span<const TaskCommit> tasks) {
  if (admin_ == nullptr) return Err(Status::InvalidArgument(Describe() + ": not open"));
  ONCEFLOW_RETURN_IF_ERROR(ValidateCommit(Describe(), tasks));
  for (const TaskCommit& t : tasks) {
    // The pipeline name is part of the transactional.id and of the marker's key.
    if (t.pipeline.find('/') != std::string::npos) {
      return Err(Status::InvalidArgument(Describe() + ": commit: " + TaskName(t.pipeline, t.task) +
                                         ": the pipeline name contains '/'"));
    }
  }
  // Each task has a transactional producer of its own, so the tasks' transactions commit side
  // by side: a batch of n tasks waits for one transaction's round trips, not n in a row. Each
  // task is fenced and de-duplicated by its own marker, as when they commit one after another;
  // a failed task fails the batch, whose retry finds the others' markers (kAlreadyCommitted).
  std::vector<std::optional<Result<CommitOutcome>>> results(tasks.size());
  {
    std::vector<std::jthread> others;
    for (size_t i = 1; i < tasks.size(); ++i) {
      others.emplace_back([&, i] { results[i] = CommitTask(tasks[i]); });
    }
    if (!tasks.empty()) results[0] = CommitTask(tasks[0]);
  }
  std::vector<CommitOutcome> outcomes;
  for (std::optional<Result<CommitOutcome>>& r : results) {
    if (!r->has_value()) return Err(r->error());
    outcomes.push_back(**r);
  }
  return outcomes;
}

Result<CommitOutcome> KafkaSink::CommitTask(const TaskCommit& t) {
  const std::string who = Describe() + ": " + TaskName(t.pipeline, t.task);
  ONCEFLOW_ASSIGN_OR_RETURN(TaskProducer * tp, Producer(t.pipeline, t.task));
  std::unique_lock task_lock(tp->mu);
  if (tp->fenced) {
    return Err(Status::Fenced(who + ": a newer producer of this task took over"));
  }
  if (tp->handle == nullptr) ONCEFLOW_RETURN_IF_ERROR(Start(tp, t.pipeline, t.task));
  if (!tp->loaded) {
    // Started outside ReadProgress: read the task's marker now, after init_transactions
    // resolved whatever an older producer of the task left open.
    task_lock.unlock();
    Result<std::map<int32_t, std::optional<TaskProgress>>> markers =
        reader_->Scan(t.pipeline, /*committed=*/true);
    task_lock.lock();
    if (!markers.has_value()) return Err(markers.error());
    auto it = markers->find(t.task);
    tp->last = it == markers->end() ? std::nullopt : it->second;
    tp->loaded = true;
  }
  ONCEFLOW_ASSIGN_OR_RETURN(CommitOutcome outcome, DecideTask(Describe(), t, tp->last));
  if (outcome != CommitOutcome::kCommitted) return outcome;  // already committed
  TaskProgress after = ProgressAfter(tp->last, t.batch, t.epoch, t.ranges, t.source, t.digest);
  ONCEFLOW_RETURN_IF_ERROR(InTransaction(tp, who, [&]() -> Status {
    ONCEFLOW_RETURN_IF_ERROR(WriteTransaction(tp, t, after));
    return faults::Hit("before_sink_commit");
  }));
  tp->last = std::move(after);
  // The batch is committed from here on; a failure now makes the caller retry, and the retry
  // finds the marker and reports kAlreadyCommitted.
  ONCEFLOW_RETURN_IF_ERROR(faults::Hit("after_sink_commit"));
  return CommitOutcome::kCommitted;
}

Status KafkaSink::DeleteProgress(const std::string& pipeline) {
  if (admin_ == nullptr) return Status::InvalidArgument(Describe() + ": not open");
  // Every task that ever wrote a marker, committed or not (a tombstone already there too: a
  // zombie may have written after it).
  ONCEFLOW_ASSIGN_OR_RETURN(auto written, reader_->Scan(pipeline, /*committed=*/false));
  for (const auto& entry : written) {
    // A reference, not a structured binding: the lambda below captures it (clang before 16,
    // which builds the fuzz targets that link this library, refuses to capture a binding).
    const auto& task = entry.first;
    const std::string who = Describe() + ": " + TaskName(pipeline, task);
    ONCEFLOW_ASSIGN_OR_RETURN(TaskProducer * tp, Producer(pipeline, task));
    std::lock_guard task_lock(tp->mu);
    if (tp->fenced) return Status::Fenced(who + ": a newer producer of this task took over");
    if (tp->handle == nullptr) ONCEFLOW_RETURN_IF_ERROR(Start(tp, pipeline, task));
    ONCEFLOW_RETURN_IF_ERROR(InTransaction(tp, who + ": delete the progress marker", [&] {
      return Send(tp->handle.get(), tp->progress.get(), 0, MarkerKey(pipeline, task), std::nullopt);
    }));
    tp->last = std::nullopt;
    tp->loaded = true;
  }
  return Status::Ok();
}

Status KafkaSink::InTransaction(TaskProducer* tp, const std::string& who,
                                const std::function<Status()>& write) {
  rd_kafka_t* rk = tp->handle.get();
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(rk)) {
    Status s = kafka::ErrorStatus(who + ": begin the transaction", e);
    if (s.code() == StatusCode::kFenced) tp->fenced = true;
    tp->Reset();
    return s;
  }
  Status s = write();
  if (s.ok()) {
    const int timeout = static_cast<int>(options_.request_timeout.count());
    for (int attempt = 0;; ++attempt) {
      rd_kafka_error_t* e = rd_kafka_commit_transaction(rk, timeout);
      if (e == nullptr) break;
      const bool retry = rd_kafka_error_is_retriable(e) && attempt < 3;
      const bool abort = rd_kafka_error_txn_requires_abort(e);
      s = kafka::ErrorStatus(who + ": commit the transaction", e);
      if (retry) continue;
      if (!abort && s.code() != StatusCode::kFenced) {
        // The outcome is unknown: a fresh producer (init_transactions) settles it, and the
        // marker read after it tells whether the batch is in.
        tp->Reset();
        return s.WithRetryable(true);
      }
      break;
    }
  }
  if (!s.ok()) {
    if (s.code() == StatusCode::kFenced) {
      tp->fenced = true;
      tp->Reset();
      return s;
    }
    if (rd_kafka_error_t* e =
            rd_kafka_abort_transaction(rk, static_cast<int>(options_.request_timeout.count()))) {
      if (kafka::ErrorStatus("abort", e).code() == StatusCode::kFenced) tp->fenced = true;
      tp->Reset();  // restart it: init_transactions aborts what is left
    }
    return s;
  }
  return Status::Ok();
}

Status KafkaSink::WriteTransaction(TaskProducer* tp, const TaskCommit& t,
                                   const TaskProgress& after) {
  rd_kafka_t* rk = tp->handle.get();
  const size_t half = t.rows.size() / 2;
  // A record without a key goes to the task's own partition: the task's rows stay in their
  // input order in one partition, and its transaction adds one output partition, not all of
  // them (fewer AddPartitionsToTxn, produce requests and commit markers per transaction).
  const int32_t own_partition = t.task % output_partitions_;
  // One buffer for every row's JSON: the producer copies the bytes (RD_KAFKA_MSG_F_COPY).
  std::string json;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    if (i == half) ONCEFLOW_RETURN_IF_ERROR(faults::Hit("mid_sink_write"));
    const Row& row = t.rows[i].row;
    std::optional<std::string> key;
    if (!options_.key_field.empty()) {
      if (const Value* v = row.Get(options_.key_field)) key = ValueToString(*v);
    }
    json.clear();
    AppendRowJson(&json, row);
    ONCEFLOW_RETURN_IF_ERROR(Send(
        rk, tp->output.get(), key.has_value() ? RD_KAFKA_PARTITION_UA : own_partition, key, json));
  }
  if (t.rows.empty()) ONCEFLOW_RETURN_IF_ERROR(faults::Hit("mid_sink_write"));
  for (const DeadLetter& d : t.dead_letters) {
    Row r{{"pipeline", t.pipeline},
          {"batch", t.batch.value()},
          {"partition", int64_t{d.partition.value()}},
          {"offset", d.offset.value()},
          {"raw", d.raw},
          {"error", d.error}};
    ONCEFLOW_RETURN_IF_ERROR(Send(rk, tp->dead_letters.get(), 0, std::nullopt, r.ToJson()));
  }
  return Send(rk, tp->progress.get(), 0, MarkerKey(t.pipeline, t.task), EncodeMarker(after));
}

Status KafkaSink::Send(rd_kafka_t* rk, rd_kafka_topic_t* topic, int32_t partition,
                       std::optional<std::string_view> key, std::optional<std::string_view> value) {
  while (true) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_VALUE((value ? const_cast<char*>(value->data()) : nullptr),
                         (value ? value->size() : 0)),
        RD_KAFKA_V_KEY((key ? const_cast<char*>(key->data()) : nullptr), (key ? key->size() : 0)),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return kafka::ErrorStatus(Describe() + ": produce to '" + rd_kafka_topic_name(topic) + "'",
                                err);
    }
    rd_kafka_poll(rk, 10);  // the local queue is full: let it drain
  }
}

}  // namespace

std::string KafkaTransactionalId(const std::string& pipeline, int32_t task) {
  return "onceflow-" + pipeline + "-" + std::to_string(task);
}

Result<std::unique_ptr<Sink>> MakeKafkaSink(KafkaSinkOptions options) {
  if (options.bootstrap.empty()) {
    return Err(Status::InvalidArgument("kafka sink: sink.bootstrap is required"));
  }
  if (options.topic.empty()) {
    return Err(Status::InvalidArgument("kafka sink: sink.topic is required"));
  }
  return std::make_unique<KafkaSink>(std::move(options));
}

}  // namespace onceflow::sink
