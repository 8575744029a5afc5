// Topics: metadata, partition directories, key partitioning.
#include "log/topic.h"

#include <cctype>
#include <charconv>
#include <random>

#include "util/file.h"

namespace onceflow::log {
namespace {
// 2 adds topic_id; a version-1 topic.meta (no id) is still read.
constexpr int kTopicFormatVersion = 2;
constexpr std::string_view kMetaName = "topic.meta";

Result<int64_t> ParseInt(std::string_view v, std::string_view key, const std::string& path) {
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size()) {
    return Err(Status::Corruption(path + ": " + std::string(key) + " is not an integer: '" +
                                  std::string(v) + "'"));
  }
  return out;
}
}  // namespace

uint32_t Murmur2(std::string_view data) {
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const auto len = static_cast<uint32_t>(data.size());
  uint32_t h = 0x9747b28c ^ len;
  const auto* b = reinterpret_cast<const unsigned char*>(data.data());
  const size_t len4 = len / 4;
  for (size_t i = 0; i < len4; ++i) {
    uint32_t k = b[i * 4] | (b[i * 4 + 1] << 8) | (b[i * 4 + 2] << 16) |
                 (static_cast<uint32_t>(b[i * 4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint32_t tail = len & ~3u;
  switch (len % 4) {
    case 3: h ^= static_cast<uint32_t>(b[tail + 2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<uint32_t>(b[tail + 1]) << 8; [[fallthrough]];
    case 1:
      h ^= b[tail];
      h *= m;
      break;
    default: break;  // no tail bytes
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

Status ValidateTopicName(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") {
    return Status::InvalidArgument("invalid topic name '" + std::string(name) +
                                   "': 1 to 249 characters of [A-Za-z0-9._-], not . or ..");
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return Status::InvalidArgument("invalid topic name '" + std::string(name) +
                                     "': only [A-Za-z0-9._-] are allowed");
    }
  }
  return Status::Ok();
}

std::string NewTopicId() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 4; ++i) {
    const uint32_t v = rd();
    for (int shift = 28; shift >= 0; shift -= 4) id += kHex[(v >> shift) & 0xf];
  }
  return id;
}

std::string TopicDir(const std::string& data_dir, std::string_view name) {
  return JoinPath(JoinPath(data_dir, "topics"), name);
}

Result<std::vector<std::string>> ListTopics(const std::string& data_dir) {
  auto names = ListDir(JoinPath(data_dir, "topics"));
  if (!names.has_value()) {
    if (names.error().IsNotFound()) return std::vector<std::string>{};
    return Err(names.error());
  }
  std::vector<std::string> topics;
  for (const std::string& n : *names) {
    if (PathExists(JoinPath(TopicDir(data_dir, n), kMetaName))) topics.push_back(n);
  }
  return topics;
}

std::string EncodeTopicMeta(const TopicConfig& c) {
  std::string out = "# onceflow topic metadata\n";
  auto line = [&](std::string_view k, const std::string& v) {
    out += k;
    out += '=';
    out += v;
    out += '\n';
  };
  line("format_version", std::to_string(kTopicFormatVersion));
  line("partitions", std::to_string(c.partitions));
  line("durability", std::string(DurabilityName(c.log.durability)));
  line("segment_bytes", std::to_string(c.log.segment_bytes));
  line("index_interval_bytes", std::to_string(c.log.index_interval_bytes));
  line("retention_bytes", std::to_string(c.log.retention_bytes));
  line("retention_ms", std::to_string(c.log.retention_ms));
  line("preallocate", c.log.preallocate ? "true" : "false");
  if (!c.id.empty()) line("topic_id", c.id);
  return out;
}

Result<TopicConfig> DecodeTopicMeta(std::string_view text, const std::string& path) {
  TopicConfig c;
  bool have_version = false, have_partitions = false;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Err(Status::Corruption(path + ":" + std::to_string(line_no) + ": expected key=value"));
    }
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "format_version") {
      ONCEFLOW_ASSIGN_OR_RETURN(int64_t v, ParseInt(value, key, path));
      if (v < 1 || v > kTopicFormatVersion) {
        return Err(Status::InvalidArgument(path + ": topic format version " + std::to_string(v) +
                                           " is not supported (this onceflow reads version " +
                                           "1 to " + std::to_string(kTopicFormatVersion) + ")"));
      }
      have_version = true;
    } else if (key == "partitions") {
      ONCEFLOW_ASSIGN_OR_RETURN(int64_t v, ParseInt(value, key, path));
      if (v < 1 || v > Topic::kMaxPartitions) {
        return Err(Status::Corruption(path + ": partitions out of range"));
      }
      c.partitions = static_cast<int32_t>(v);
      have_partitions = true;
    } else if (key == "durability") {
      auto d = ParseDurability(value);
      if (!d) return Err(Status::Corruption(path + ": durability must be fsync or none"));
      c.log.durability = *d;
    } else if (key == "segment_bytes") {
      ONCEFLOW_ASSIGN_OR_RETURN(int64_t v, ParseInt(value, key, path));
      c.log.segment_bytes = static_cast<uint64_t>(v);
    } else if (key == "index_interval_bytes") {
      ONCEFLOW_ASSIGN_OR_RETURN(int64_t v, ParseInt(value, key, path));
      c.log.index_interval_bytes = static_cast<uint64_t>(v);
    } else if (key == "retention_bytes") {
      ONCEFLOW_ASSIGN_OR_RETURN(c.log.retention_bytes, ParseInt(value, key, path));
    } else if (key == "retention_ms") {
      ONCEFLOW_ASSIGN_OR_RETURN(c.log.retention_ms, ParseInt(value, key, path));
    } else if (key == "preallocate") {  // absent in topics made before it existed: false
      if (value != "true" && value != "false") {
        return Err(Status::Corruption(path + ": preallocate must be true or false"));
      }
      c.log.preallocate = value == "true";
    } else if (key == "topic_id") {  // version 2; absent in topics created before ids
      if (value.empty()) return Err(Status::Corruption(path + ": topic_id is empty"));
      c.id = std::string(value);
    } else {
      return Err(Status::InvalidArgument(path + ": unknown key '" + std::string(key) + "'"));
    }
  }
  if (!have_version || !have_partitions) {
    return Err(Status::Corruption(path + ": format_version and partitions are required"));
  }
  return c;
}

Result<std::unique_ptr<Topic>> Topic::Create(const std::string& data_dir, std::string_view name,
                                             const TopicConfig& config) {
  ONCEFLOW_RETURN_IF_ERROR(ValidateTopicName(name));
  if (config.partitions < 1 || config.partitions > kMaxPartitions) {
    return Err(Status::InvalidArgument("partitions must be between 1 and " +
                                       std::to_string(kMaxPartitions)));
  }
  if (config.log.segment_bytes < 4096 || config.log.segment_bytes > (1ULL << 31)) {
    return Err(Status::InvalidArgument("segment_bytes must be between 4096 and 2147483648"));
  }
  if (config.log.index_interval_bytes < 1) {
    return Err(Status::InvalidArgument("index_interval_bytes must be positive"));
  }
  const std::string dir = TopicDir(data_dir, name);
  const std::string meta = JoinPath(dir, kMetaName);
  if (PathExists(meta)) {
    return Err(Status::InvalidArgument("topic '" + std::string(name) + "' already exists"));
  }
  ONCEFLOW_RETURN_IF_ERROR(CreateDirs(dir));
  ONCEFLOW_RETURN_IF_ERROR(SyncDir(DirName(dir)));
  TopicConfig stored = config;
  stored.log.read_only = false;
  if (stored.id.empty()) stored.id = NewTopicId();
  // The partitions first, the metadata last: a topic is visible only once complete.
  std::unique_ptr<Topic> topic(new Topic(std::string(name), dir, stored));
  ONCEFLOW_RETURN_IF_ERROR(topic->OpenPartitions(false));
  ONCEFLOW_RETURN_IF_ERROR(WriteFileAtomically(meta, EncodeTopicMeta(stored)));
  return topic;
}

Result<std::unique_ptr<Topic>> Topic::Open(const std::string& data_dir, std::string_view name,
                                           bool read_only) {
  ONCEFLOW_RETURN_IF_ERROR(ValidateTopicName(name));
  const std::string dir = TopicDir(data_dir, name);
  const std::string meta = JoinPath(dir, kMetaName);
  auto text = ReadFileToString(meta);
  if (!text.has_value()) {
    if (text.error().IsNotFound()) {
      return Err(Status::NotFound("unknown topic '" + std::string(name) + "' in " + data_dir));
    }
    return Err(text.error());
  }
  ONCEFLOW_ASSIGN_OR_RETURN(TopicConfig config, DecodeTopicMeta(*text, meta));
  std::unique_ptr<Topic> topic(new Topic(std::string(name), dir, config));
  ONCEFLOW_RETURN_IF_ERROR(topic->OpenPartitions(read_only));
  return topic;
}

Status Topic::OpenPartitions(bool read_only) {
  LogOptions options = config_.log;
  options.read_only = read_only;
  for (int32_t p = 0; p < config_.partitions; ++p) {
    ONCEFLOW_ASSIGN_OR_RETURN(auto log,
                              PartitionLog::Open(JoinPath(dir_, std::to_string(p)), options));
    partitions_.push_back(std::move(log));
  }
  return Status::Ok();
}

Result<PartitionLog*> Topic::partition(PartitionId p) const {
  if (p.value() < 0 || p.value() >= config_.partitions) {
    return Err(Status::InvalidArgument("topic '" + name_ + "' has " +
                                       std::to_string(config_.partitions) +
                                       " partition(s): there is no partition " + p.ToString()));
  }
  return partitions_[static_cast<size_t>(p.value())].get();
}

PartitionId Topic::PartitionForKey(std::string_view key) const {
  return PartitionId(static_cast<int32_t>((Murmur2(key) & 0x7fffffff) %
                                          static_cast<uint32_t>(config_.partitions)));
}

}  // namespace onceflow::log
