// Source identity, truncation and rewrite checks.
#include "engine/source_check.h"

#include <algorithm>
#include <string_view>

namespace onceflow::engine {

checkpoint::SourceRecord SourceRecordOf(const source::SourceIdentity& identity) {
  checkpoint::SourceRecord r;
  r.type = identity.type;
  r.topic = identity.topic;
  r.id = identity.id;
  return r;
}

source::SourceIdentity IdentityOf(const checkpoint::SourceRecord& record) {
  return source::SourceIdentity{record.type, record.topic, record.id};
}

Status CheckSourceIdentity(const std::string& pipeline,
                           const std::optional<checkpoint::SourceRecord>& recorded,
                           const source::SourceIdentity& now, const std::string& way_out) {
  if (!recorded) return Status::Ok();
  const source::SourceIdentity then = IdentityOf(*recorded);
  if (then == now) return Status::Ok();
  std::string what = "its source changed";
  if (then.type == now.type && then.topic == now.topic) {
    what = then.type == "kafka" ? "the topic is now on another Kafka cluster"
                                : "the topic was deleted and created again";
  }
  return Status::InvalidArgument(
      "pipeline '" + pipeline + "' committed its offsets from " + then.ToString() +
      " but now reads " + now.ToString() + " (" + what +
      "): its offsets mean nothing there. Give the pipeline a new name. " + way_out);
}

std::vector<Offset> ReadUpTo(const std::optional<checkpoint::BatchIntent>& last_intent) {
  std::vector<Offset> out;
  if (!last_intent) return out;
  for (const OffsetRange& r : last_intent->ranges) {
    const auto p = static_cast<size_t>(r.partition.value());
    if (out.size() <= p) out.resize(p + 1, Offset(-1));
    out[p] = r.until;
  }
  return out;
}

Status CheckSourceHoldsCommitted(source::Source* source, const source::Source::Bounds& bounds,
                                 const std::vector<Offset>& read_up_to,
                                 const std::vector<checkpoint::PartitionMark>& marks,
                                 const std::string& way_out) {
  const std::string where = source->Describe();
  for (size_t p = 0; p < read_up_to.size(); ++p) {
    const Offset up_to = read_up_to[p];
    if (up_to.value() <= 0) continue;
    if (p >= bounds.end.size()) {
      return Status::Corruption(
          where + " partition " + std::to_string(p) + ": the source has only " +
          std::to_string(bounds.end.size()) +
          " partition(s), but the pipeline has read this "
          "one up to offset " +
          up_to.ToString() + ": " + up_to.ToString() +
          " records it processed are gone (was the topic deleted and created again?). " + way_out);
    }
    const Offset end = bounds.end[p];
    if (end < up_to) {
      return Status::Corruption(
          where + " partition " + std::to_string(p) + ": the source ends at offset " +
          end.ToString() + " but the pipeline has read it up to " + up_to.ToString() + ": " +
          std::to_string(up_to.value() - end.value()) +
          " records it processed were lost (was the log truncated, or the topic deleted and "
          "created again?); offsets from " +
          end.ToString() + " on would be handed out again and never be read. " + way_out);
    }
  }
  for (const checkpoint::PartitionMark& m : marks) {
    const auto p = static_cast<size_t>(m.partition.value());
    if (p >= bounds.end.size()) continue;  // reported above (read_up_to covers it)
    if (bounds.end[p] <= m.offset) {
      return Status::Corruption(
          where + " partition " + std::to_string(p) + ": the source ends at offset " +
          bounds.end[p].ToString() + " but the pipeline committed the record at offset " +
          m.offset.ToString() + ": " +
          std::to_string(m.offset.value() + 1 - bounds.end[p].value()) +
          " committed records were lost (was the log truncated, or the topic deleted and created "
          "again?). " +
          way_out);
    }
    if (p < bounds.earliest.size() && m.offset < bounds.earliest[p]) continue;  // retention
    bool found = false;
    uint32_t fingerprint = 0;
    Status s =
        source->Read(m.partition, m.offset, m.offset + 1, [&](Offset o, const RecordView& r) {
          if (o == m.offset) {
            found = true;
            fingerprint = checkpoint::RecordFingerprint(r);
          }
          return Status::Ok();
        });
    if (!s.ok()) {
      return s.WithContext("reading the last committed record of " + where + " partition " +
                           std::to_string(p) + " (offset " + m.offset.ToString() +
                           ") to check that the source still holds it");
    }
    if (!found) {
      // Kafka only (the log reads every offset): the offset holds no committed record now — a
      // transaction marker or an aborted record of another topic's history, or compaction.
      return Status::Corruption(
          where + " partition " + std::to_string(p) + ": the record at offset " +
          m.offset.ToString() +
          ", the last one the pipeline committed, was rewritten: the "
          "source has no readable record there any more (the topic deleted and created again, "
          "an unclean leader election, or log compaction of a record the pipeline had just "
          "read). " +
          way_out);
    }
    if (fingerprint != m.fingerprint) {
      return Status::Corruption(
          where + " partition " + std::to_string(p) + ": the record at offset " +
          m.offset.ToString() +
          ", the last one the pipeline committed, was rewritten (it is not "
          "the record the pipeline processed: its checksum differs): the source lost or replaced "
          "records the pipeline already committed (the log truncated and written again, the "
          "topic deleted and created again, a Kafka unclean leader election). " +
          way_out);
    }
  }
  return Status::Ok();
}

Result<std::vector<checkpoint::PartitionMark>> MarksAt(source::Source* source,
                                                       const source::Source::Bounds& bounds,
                                                       const std::vector<Offset>& positions) {
  std::vector<checkpoint::PartitionMark> out;
  for (size_t p = 0; p < positions.size() && p < bounds.end.size(); ++p) {
    const Offset at = positions[p] - 1;
    if (at.value() < 0 || at < bounds.earliest[p] || at >= bounds.end[p]) continue;
    const PartitionId partition(static_cast<int32_t>(p));
    std::optional<checkpoint::PartitionMark> mark;
    ONCEFLOW_RETURN_IF_ERROR(
        source->Read(partition, at, at + 1, [&](Offset o, const RecordView& r) {
          if (o == at)
            mark = checkpoint::PartitionMark{partition, o, checkpoint::RecordFingerprint(r)};
          return Status::Ok();
        }));
    if (mark) out.push_back(*mark);
  }
  return out;
}

std::string LossWayOut(const std::string& accept_command, const std::string& reset_command) {
  return "To accept the loss and continue where the pipeline was, run '" + accept_command +
         "'; to start it afresh from its starting_offsets (its sink's output rows stay), run '" +
         reset_command + "'";
}

std::string ResetWayOut(const std::string& reset_command, const std::string& data_dir,
                        const std::string& pipeline) {
  if (!reset_command.empty()) {
    return "To start it afresh from its starting_offsets (its sink's output rows stay), run '" +
           reset_command + "'";
  }
  return "To start it afresh, delete its checkpoint directory " +
         checkpoint::CheckpointDir(data_dir, pipeline) +
         " and the sink's progress rows of the pipeline";
}

std::string LossOrResetWayOut(const std::string& reset_command, const std::string& data_dir,
                              const std::string& pipeline) {
  constexpr std::string_view kYes = " --yes";
  if (!reset_command.ends_with(kYes)) return ResetWayOut(reset_command, data_dir, pipeline);
  std::string accept = reset_command;
  accept.insert(accept.size() - kYes.size(), " --accept-loss");
  return LossWayOut(accept, reset_command);
}

Status WithWayOut(const Status& s, const std::string& way_out) {
  if (s.ok() || way_out.empty()) return s;
  std::string msg = s.message();
  while (!msg.empty() && (msg.back() == '.' || msg.back() == ' ')) msg.pop_back();
  msg += ". " + way_out;
  switch (s.code()) {
    case StatusCode::kCorruption: return Status::Corruption(std::move(msg));
    case StatusCode::kInvalidArgument: return Status::InvalidArgument(std::move(msg));
    case StatusCode::kNotFound: return Status::NotFound(std::move(msg));
    case StatusCode::kOutOfRange: return Status::OutOfRange(std::move(msg));
    case StatusCode::kIoError: return Status::IoError(std::move(msg)).WithRetryable(s.retryable());
    case StatusCode::kAborted: return Status::Aborted(std::move(msg));
    default: return s;
  }
}

}  // namespace onceflow::engine
