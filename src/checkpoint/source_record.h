// SourceRecord: which source a pipeline's checkpoint belongs to and where the pipeline started
// reading each partition, kept in `source.meta` beside the two logs. Written at the first batch
// (and again when a partition appears), read at every start, by status and by verify.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "onceflow/ids.h"
#include "onceflow/status.h"

namespace onceflow::checkpoint {

struct SourceRecord {
  static constexpr int kFormatVersion = 1;

  // The source's identity (source::SourceIdentity): type ("log", "kafka"), topic, and its
  // creation id (log: the topic id, empty for a topic created before ids; kafka: the cluster
  // id).
  std::string type;
  std::string topic;
  std::string id;
  // Per partition (index = partition): the offset where the pipeline started reading it, the
  // first offset its committed ranges cover; -1: not known (a partition not read yet, or a
  // checkpoint rebuilt from the sink's progress rows).
  std::vector<Offset> starts;
  // What the user accepted with `onceflow reset --accept-loss`, one line each (when, which
  // partitions, which offsets were lost): the record that the gap is deliberate.
  std::vector<std::string> accepted;

  // The start of `p`, or -1.
  Offset StartOf(PartitionId p) const {
    const auto i = static_cast<size_t>(p.value());
    return p.value() >= 0 && i < starts.size() ? starts[i] : Offset(-1);
  }
  friend bool operator==(const SourceRecord&, const SourceRecord&) = default;
};

// source.meta: `key=value` lines (format_version, type, topic, id, starts as
// "partition:offset,...", and any number of accepted=...). docs/formats/checkpoint.md. A newer
// version or an unknown key is refused naming the file.
std::string EncodeSourceRecord(const SourceRecord& record);
Result<SourceRecord> DecodeSourceRecord(std::string_view text, const std::string& path);

}  // namespace onceflow::checkpoint
