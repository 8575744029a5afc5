// source.meta: encoding and decoding.
#include "checkpoint/source_record.h"

#include <charconv>

namespace onceflow::checkpoint {
namespace {

bool ParseInt(std::string_view v, int64_t* out) {
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  return ec == std::errc() && end == v.data() + v.size();
}

}  // namespace

std::string EncodeSourceRecord(const SourceRecord& r) {
  std::string out = "# onceflow pipeline source (docs/formats/checkpoint.md)\n";
  out += "format_version=" + std::to_string(SourceRecord::kFormatVersion) + "\n";
  out += "type=" + r.type + "\n";
  out += "topic=" + r.topic + "\n";
  if (!r.id.empty()) out += "id=" + r.id + "\n";
  std::string starts;
  for (size_t p = 0; p < r.starts.size(); ++p) {
    if (r.starts[p].value() < 0) continue;
    if (!starts.empty()) starts += ',';
    starts += std::to_string(p) + ":" + std::to_string(r.starts[p].value());
  }
  out += "starts=" + starts + "\n";
  for (const std::string& line : r.accepted) out += "accepted=" + line + "\n";
  return out;
}

Result<SourceRecord> DecodeSourceRecord(std::string_view text, const std::string& path) {
  SourceRecord r;
  bool have_version = false, have_type = false;
  auto bad = [&](const std::string& what) { return Err(Status::Corruption(path + ": " + what)); };
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return bad("expected key=value, got '" + std::string(line) + "'");
    }
    const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "format_version") {
      int64_t v = 0;
      if (!ParseInt(value, &v)) return bad("format_version is not a number");
      if (v != SourceRecord::kFormatVersion) {
        return Err(Status::InvalidArgument(path + ": format version " + std::to_string(v) +
                                           " is not supported (this onceflow "
                                           "reads version " +
                                           std::to_string(SourceRecord::kFormatVersion) +
                                           "; was it written by a newer onceflow?)"));
      }
      have_version = true;
    } else if (key == "type") {
      r.type = std::string(value);
      have_type = true;
    } else if (key == "topic") {
      r.topic = std::string(value);
    } else if (key == "id") {
      r.id = std::string(value);
    } else if (key == "accepted") {
      r.accepted.emplace_back(value);
    } else if (key == "starts") {
      std::string_view rest = value;
      while (!rest.empty()) {
        const size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        const size_t colon = item.find(':');
        int64_t p = 0, o = 0;
        if (colon == std::string_view::npos || !ParseInt(item.substr(0, colon), &p) ||
            !ParseInt(item.substr(colon + 1), &o) || p < 0 || p > (1 << 20) || o < 0) {
          return bad("starts: expected partition:offset, got '" + std::string(item) + "'");
        }
        if (r.starts.size() <= static_cast<size_t>(p)) r.starts.resize(p + 1, Offset(-1));
        r.starts[static_cast<size_t>(p)] = Offset(o);
      }
    } else {
      return Err(Status::InvalidArgument(path + ": unknown key '" + std::string(key) + "'"));
    }
  }
  if (!have_version || !have_type) return bad("format_version and type are required");
  return r;
}

}  // namespace onceflow::checkpoint
