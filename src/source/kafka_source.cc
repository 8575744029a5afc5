// KafkaSource over librdkafka: read_committed consumers with explicit assignments, one stream
// per partition that stays assigned between reads.
#include "source/kafka_source.h"

#include <algorithm>
#include <thread>

namespace onceflow::source {
namespace {

using Clock = std::chrono::steady_clock;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

// A stream's fetch.wait.max.ms (see MakeConsumer).
constexpr const char* kStreamFetchWaitMs = "100";

}  // namespace

Result<std::unique_ptr<KafkaSource>> KafkaSource::Open(KafkaSourceOptions options) {
  if (options.bootstrap.empty()) {
    return Err(Status::InvalidArgument("kafka source: source.bootstrap is required"));
  }
  if (options.group.empty()) options.group = "onceflow";
  std::unique_ptr<KafkaSource> source(new KafkaSource(std::move(options)));
  ONCEFLOW_ASSIGN_OR_RETURN(source->meta_, source->MakeConsumer(/*waiter=*/false));
  Result<int32_t> partitions = kafka::PartitionCount(source->meta_.get(), source->options_.topic,
                                                     source->options_.request_timeout);
  if (!partitions.has_value()) return Err(partitions.error());
  if (source->options_.assign == KafkaAssignment::kGroup) {
    const KafkaSourceOptions& o = source->options_;
    ONCEFLOW_ASSIGN_OR_RETURN(
        source->member_,
        KafkaGroupMember::Join({o.bootstrap, o.topic, o.group, o.session_timeout, o.extra}));
  }
  return source;
}

std::optional<Source::Ownership> KafkaSource::Owned() {
  if (member_ == nullptr) return std::nullopt;
  KafkaGroupMember::Assignment a = member_->Poll();
  Ownership own;
  own.epoch = Epoch(a.generation);
  for (int32_t p : a.partitions) own.partitions.push_back(PartitionId(p));
  owned_ = std::move(a.partitions);
  // Streams of partitions another member owns now would only fetch for nothing; a read of one
  // (if this process owns it again) makes a new stream.
  std::vector<std::unique_ptr<KafkaPartitionStream>> closing;
  {
    std::lock_guard lock(mu_);
    for (auto it = idle_.begin(); it != idle_.end();) {
      if (std::binary_search(owned_.begin(), owned_.end(), it->first)) {
        ++it;
        continue;
      }
      for (auto& s : it->second) closing.push_back(std::move(s));
      it = idle_.erase(it);
    }
  }
  return own;  // `closing` closes its consumers outside the lock
}

void KafkaSource::ReportPositions(const std::vector<Offset>& positions) {
  if (member_ == nullptr) return;
  std::vector<std::pair<int32_t, int64_t>> owned;
  for (int32_t p : owned_) {
    if (static_cast<size_t>(p) < positions.size() &&
        positions[static_cast<size_t>(p)].value() >= 0) {
      owned.emplace_back(p, positions[static_cast<size_t>(p)].value());
    }
  }
  member_->CommitForMonitoring(owned);
}

KafkaSource::~KafkaSource() {
  member_.reset();  // leave the group first: the others take the partitions over at once
  idle_.clear();    // each stream closes its consumer
  if (waiter_ != nullptr) rd_kafka_consumer_close(waiter_.get());
}

std::string KafkaSource::Describe() const { return "kafka topic '" + options_.topic + "'"; }

Result<SourceIdentity> KafkaSource::Identity() {
  char* id = rd_kafka_clusterid(meta_.get(), static_cast<int>(options_.request_timeout.count()));
  if (id == nullptr) {
    return Err(Status::IoError(Describe() + ": the brokers at " + options_.bootstrap +
                               " did not report their cluster id"));
  }
  SourceIdentity identity{"kafka", options_.topic, id};
  rd_kafka_mem_free(meta_.get(), id);
  return identity;
}

size_t KafkaSource::consumers_made() const {
  std::lock_guard lock(mu_);
  return made_;
}

KafkaSource::ReadCounts KafkaSource::read_counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::string KafkaSource::Where(PartitionId partition) const {
  return Describe() + " partition " + partition.ToString();
}

Result<kafka::Handle> KafkaSource::MakeConsumer(bool waiter) const {
  kafka::Settings settings = {
      {"group.id", options_.group},
      {"isolation.level", "read_committed"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      // A range whose start was deleted (retention) must fail, not silently jump.
      {"auto.offset.reset", "error"},
      // How long the broker holds a fetch that has no data yet: a record that arrives ends
      // the wait at once, so this costs no latency to a stream that goes on where it stood,
      // and bounds what an idle pipeline costs (~10 fetches/s per consumer). A seek waits for
      // the fetch in flight: a stream's fetch is held shorter, as a seek is what a replayed,
      // retried or speculative read does.
      {"fetch.wait.max.ms", waiter ? "100" : kStreamFetchWaitMs},
      // Each stream prefetches at most this much of its partition.
      {"queued.max.messages.kbytes", "16384"},
  };
  settings.insert(settings.end(), options_.extra.begin(), options_.extra.end());
  ONCEFLOW_ASSIGN_OR_RETURN(kafka::Handle c, kafka::MakeClient(kafka::ClientKind::kConsumer,
                                                               options_.bootstrap, settings));
  rd_kafka_poll_set_consumer(c.get());
  return c;
}

Result<std::unique_ptr<KafkaPartitionStream>> KafkaSource::NewStream(PartitionId partition,
                                                                     Offset from) {
  {
    std::lock_guard lock(mu_);
    ++made_;
  }
  ONCEFLOW_ASSIGN_OR_RETURN(kafka::Handle consumer, MakeConsumer(/*waiter=*/false));
  return KafkaPartitionStream::Open(std::move(consumer), options_.topic, partition, from,
                                    Where(partition));
}

Result<std::unique_ptr<KafkaPartitionStream>> KafkaSource::TakeStream(PartitionId partition,
                                                                      Offset from) {
  {
    std::lock_guard lock(mu_);
    auto it = idle_.find(partition.value());
    if (it != idle_.end() && !it->second.empty()) {
      std::vector<std::unique_ptr<KafkaPartitionStream>>& idle = it->second;
      auto pick = std::find_if(idle.begin(), idle.end(),
                               [&](const auto& s) { return s->continues_at() == from; });
      if (pick == idle.end()) pick = idle.end() - 1;  // the most recently used one seeks
      std::unique_ptr<KafkaPartitionStream> stream = std::move(*pick);
      idle.erase(pick);
      return stream;
    }
  }
  return NewStream(partition, from);
}

void KafkaSource::ReturnStream(std::unique_ptr<KafkaPartitionStream> stream) {
  std::unique_ptr<KafkaPartitionStream> extra;  // closed outside the lock
  std::lock_guard lock(mu_);
  std::vector<std::unique_ptr<KafkaPartitionStream>>& idle = idle_[stream->partition().value()];
  if (idle.size() >= kIdleStreamsPerPartition) {
    extra = std::move(idle.front());
    idle.erase(idle.begin());
  }
  idle.push_back(std::move(stream));
}

Result<Source::Bounds> KafkaSource::OffsetBounds() {
  ONCEFLOW_ASSIGN_OR_RETURN(
      int32_t n, kafka::PartitionCount(meta_.get(), options_.topic, options_.request_timeout));
  Bounds b;
  b.earliest.reserve(static_cast<size_t>(n));
  b.end.reserve(static_cast<size_t>(n));
  for (int32_t p = 0; p < n; ++p) {
    // A partition just added, or whose leader moves, answers "not leader" for a moment:
    // transient errors are retried until the request timeout.
    const auto deadline = Clock::now() + options_.request_timeout;
    Result<std::pair<int64_t, int64_t>> marks;
    while (true) {
      marks = kafka::Watermarks(meta_.get(), options_.topic, p, options_.request_timeout);
      if (marks.has_value() || !marks.error().retryable() || Clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!marks.has_value()) return Err(marks.error());
    b.earliest.push_back(Offset(marks->first));
    b.end.push_back(Offset(marks->second));
  }
  return b;
}

Status KafkaSource::Read(PartitionId partition, Offset from, Offset until, const RecordFn& fn) {
  if (until <= from) return Status::Ok();
  ONCEFLOW_ASSIGN_OR_RETURN(std::unique_ptr<KafkaPartitionStream> stream,
                            TakeStream(partition, from));
  KafkaPartitionStream::ReadEnd end;
  Status s = stream->Read(from, until, fn, options_.read_timeout, &end);
  {
    std::lock_guard lock(mu_);
    ++(end.continued ? counts_.continued : counts_.seeked);
  }
  if (s.ok()) {
    ReturnStream(std::move(stream));
    return s;
  }
  // A stream whose read failed is closed: nothing of a failed read may reach the next one.
  const bool had_history = stream->had_history();
  stream.reset();
  if (!end.fetch_error || !had_history) return s;
  // The consumer reported an error. One that has history may report a stale one (librdkafka
  // raises its auto.offset.reset error without a fetch version, so a seek does not drop it;
  // kafka_stream.h): the read goes on from where its records end with a new consumer, which
  // has none. What that one reports is the answer.
  {
    std::lock_guard lock(mu_);
    ++counts_.fresh_retries;
  }
  ONCEFLOW_ASSIGN_OR_RETURN(stream, NewStream(partition, end.resume));
  const Offset resume = end.resume;
  s = stream->Read(resume, until, fn, options_.read_timeout, &end);
  if (s.ok()) ReturnStream(std::move(stream));
  return s;
}

void KafkaSource::WaitForData(const std::vector<Offset>& positions,
                              std::chrono::milliseconds timeout) {
  Result<int32_t> n = kafka::PartitionCount(meta_.get(), options_.topic, options_.request_timeout);
  if (!n.has_value() || static_cast<size_t>(*n) > positions.size()) return;  // let Plan look
  std::lock_guard lock(wait_mu_);
  if (waiter_ == nullptr) {
    Result<kafka::Handle> made = MakeConsumer(/*waiter=*/true);
    if (!made.has_value()) return;  // the caller plans again, and reports what fails for good
    waiter_ = std::move(made).value();
  }
  PartitionList list(rd_kafka_topic_partition_list_new(*n));
  for (int32_t p = 0; p < *n; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p)->offset =
        positions[static_cast<size_t>(p)].value();
  }
  if (rd_kafka_assign(waiter_.get(), list.get()) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    KafkaMessage m(rd_kafka_consumer_poll(waiter_.get(), static_cast<int>(timeout.count())));
  }
  if (rd_kafka_assign(waiter_.get(), nullptr) != RD_KAFKA_RESP_ERR_NO_ERROR) waiter_.reset();
}

}  // namespace onceflow::source
