// The Kafka sink's progress marker: encoding and decoding (docs/formats/sink_progress.md).
#include "sink/kafka_progress_marker.h"

#include <charconv>
#include <optional>

#include "sink/sink_protocol.h"

namespace onceflow::sink {

std::string MarkerKey(const std::string& pipeline, int32_t task) {
  return pipeline + "/" + std::to_string(task);
}

std::string EncodeMarker(const TaskProgress& p) {
  return "batch=" + p.last_batch.ToString() + " epoch=" + p.epoch.ToString() +
         " ranges=" + EncodeRanges(p.ranges) + " started=" + EncodeStarts(p.started) +
         (p.digest.has_value() ? " digest=" + EncodeDigest(*p.digest) : std::string()) +
         " source=" + p.source;
}

Result<TaskProgress> DecodeMarker(std::string_view text) {
  const bool first_version = text.find(" started=") == std::string_view::npos;
  auto field = [&](std::string_view name, bool last) -> std::optional<std::string_view> {
    const std::string prefix = std::string(name) + "=";
    const size_t at = text.find(prefix);
    if (at == std::string_view::npos) return std::nullopt;
    const size_t start = at + prefix.size();
    const size_t end = last ? text.size() : text.find(' ', start);
    return text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  };
  auto number = [](std::optional<std::string_view> s, int64_t* out) {
    if (!s || s->empty()) return false;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), *out);
    return ec == std::errc() && p == s->data() + s->size();
  };
  int64_t batch = 0, epoch = 0;
  if (!number(field("batch", false), &batch) || !number(field("epoch", false), &epoch)) {
    return Err(Status::InvalidArgument("bad progress marker '" + std::string(text) + "'"));
  }
  std::optional<std::string_view> ranges = field("ranges", first_version);
  if (!ranges) return Err(Status::InvalidArgument("progress marker without ranges"));
  TaskProgress p;
  p.last_batch = BatchId(batch);
  p.epoch = Epoch(epoch);
  ONCEFLOW_ASSIGN_OR_RETURN(p.ranges, DecodeRanges(*ranges));
  std::optional<std::string_view> started;
  if (!first_version) {
    started = field("started", false);
    const size_t at = text.find(" source=");
    if (!started || at == std::string_view::npos) {
      return Err(Status::InvalidArgument("bad progress marker '" + std::string(text) + "'"));
    }
    p.source = std::string(text.substr(at + 8));
    // Version 3: the output digest, before the source (which is the rest of the value).
    const std::string_view head = text.substr(0, at);
    if (const size_t d = head.find(" digest="); d != std::string_view::npos) {
      const std::string_view digest = head.substr(d + 8);
      p.digest = DecodeDigest(digest);
      if (!p.digest.has_value()) {
        return Err(Status::InvalidArgument("bad output digest in progress marker '" +
                                           std::string(text) + "'"));
      }
    }
  }
  ONCEFLOW_ASSIGN_OR_RETURN(p.started, StartsFromColumn(started, p.ranges));
  return p;
}

}  // namespace onceflow::sink
