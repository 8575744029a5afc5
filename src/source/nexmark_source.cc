// NexmarkSource over the event model.
#include "source/nexmark_source.h"

#include <thread>

#include "source/nexmark_model.h"
#include "source/nexmark_row.h"

namespace onceflow::source {

Result<std::unique_ptr<NexmarkSource>> NexmarkSource::Open(const NexmarkSourceOptions& options) {
  const std::string error = nexmark::ValidateNexmarkOptions(options);
  if (!error.empty()) return Err(Status::InvalidArgument(error));
  return std::unique_ptr<NexmarkSource>(new NexmarkSource(options));
}

NexmarkSource::NexmarkSource(const NexmarkSourceOptions& options)
    : options_(options), count_(nexmark::CountOf(options.kind, options.events)) {}

Offset NexmarkSource::EndOf(PartitionId partition) const {
  const int64_t p = partition.value();
  const int64_t parts = options_.partitions;
  if (p < 0 || p >= parts || count_ <= p) return Offset(0);
  return Offset((count_ - p + parts - 1) / parts);
}

Result<Source::Bounds> NexmarkSource::OffsetBounds() {
  Bounds b;
  for (int32_t p = 0; p < options_.partitions; ++p) {
    b.earliest.push_back(Offset(0));
    b.end.push_back(EndOf(PartitionId(p)));
  }
  return b;
}

Status NexmarkSource::CheckRange(PartitionId partition, Offset from, Offset until) const {
  if (partition.value() < 0 || partition.value() >= options_.partitions) {
    return Status::OutOfRange(Describe() + " has no partition " + partition.ToString());
  }
  const Offset end = EndOf(partition);
  if (from.value() < 0 || until < from || end < until) {
    return Status::OutOfRange(Describe() + " partition " + partition.ToString() +
                              " ends at offset " + end.ToString() + ": cannot read [" +
                              from.ToString() + ", " + until.ToString() + ")");
  }
  return Status::Ok();
}

Status NexmarkSource::Read(PartitionId partition, Offset from, Offset until, const RecordFn& fn) {
  ONCEFLOW_RETURN_IF_ERROR(CheckRange(partition, from, until));
  const bool with_type = options_.kind == NexmarkKind::kAll;
  nexmark::Event event;
  std::string value;
  value.reserve(1024);
  RecordView record;
  for (int64_t k = from.value(); k < until.value(); ++k) {
    const int64_t j = k * options_.partitions + partition.value();
    nexmark::Generate(options_, nexmark::EventNumberOf(options_.kind, j), &event);
    value.clear();
    nexmark::AppendJson(event, with_type, &value);
    record.value = value;
    record.timestamp_ms = event.date_time;
    ONCEFLOW_RETURN_IF_ERROR(fn(Offset(k), record));
  }
  return Status::Ok();
}

Status NexmarkSource::ReadRows(PartitionId partition, Offset from, Offset until, const RowFn& fn) {
  ONCEFLOW_RETURN_IF_ERROR(CheckRange(partition, from, until));
  const bool with_type = options_.kind == NexmarkKind::kAll;
  nexmark::Event event;
  Row row;
  for (int64_t k = from.value(); k < until.value(); ++k) {
    const int64_t j = k * options_.partitions + partition.value();
    nexmark::Generate(options_, nexmark::EventNumberOf(options_.kind, j), &event);
    nexmark::FillRow(event, with_type, &row);
    ONCEFLOW_RETURN_IF_ERROR(fn(Offset(k), &row, event.date_time));
  }
  return Status::Ok();
}

void NexmarkSource::WaitForData(const std::vector<Offset>& positions,
                                std::chrono::milliseconds timeout) {
  for (int32_t p = 0; p < options_.partitions; ++p) {
    const Offset at = static_cast<size_t>(p) < positions.size() ? positions[p] : Offset(0);
    if (EndOf(PartitionId(p)) > at) return;
  }
  std::this_thread::sleep_for(timeout);
}

Result<SourceIdentity> NexmarkSource::Identity() {
  return SourceIdentity{"nexmark", std::string(nexmark::KindName(options_.kind)),
                        nexmark::NexmarkFingerprint(options_)};
}

std::string NexmarkSource::Describe() const {
  return "nexmark generator (kind " + std::string(nexmark::KindName(options_.kind)) + ", " +
         std::to_string(options_.events) + " events)";
}

}  // namespace onceflow::source
