// The config snapshot: masking, writing and reading <checkpoint>/config.toml.
#include "ui/config_snapshot.h"

#include <filesystem>
#include <regex>

#include "util/file.h"

namespace onceflow::ui {
namespace {

constexpr std::string_view kHeader = "# onceflow run: ";
constexpr std::string_view kHeaderTail = " (saved at start, secrets masked)\n";

}  // namespace

std::string MaskSecrets(std::string_view toml) {
  // A key naming a secret, bare or quoted, possibly the last part of a dotted key, and its
  // string value (basic, literal, or multi-line).
  static const std::regex kSecretKey(
      R"re(((?:^|[\s{,.])"?[A-Za-z0-9_\-.]*(?:password|secret|token|sasl)[A-Za-z0-9_\-.]*"?\s*=\s*)("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'[^'\n]*'))re",
      std::regex::icase | std::regex::ECMAScript);
  // libpq keyword/value form and URIs, inside any value.
  static const std::regex kConninfoPassword(R"re((password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s"']+))re",
                                            std::regex::icase);
  static const std::regex kUriPassword(R"re((://[^:/@\s"']+:)[^@\s"']+@)re");
  std::string out = std::regex_replace(std::string(toml), kSecretKey, "$1\"***\"");
  out = std::regex_replace(out, kConninfoPassword, "$1***");
  out = std::regex_replace(out, kUriPassword, "$1***@");
  return out;
}

Status SaveConfigSnapshot(const std::string& checkpoint_dir, const std::string& config_path,
                          std::string_view toml) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(config_path, ec);
  const std::string source = ec ? config_path : abs.lexically_normal().string();
  ONCEFLOW_RETURN_IF_ERROR(CreateDirs(checkpoint_dir));
  std::string text(kHeader);
  text += source;
  text += kHeaderTail;
  text += MaskSecrets(toml);
  return WriteFileAtomically(JoinPath(checkpoint_dir, kConfigSnapshotFile), text);
}

Result<ConfigSnapshot> ReadConfigSnapshot(const std::string& checkpoint_dir) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::string text,
                            ReadFileToString(JoinPath(checkpoint_dir, kConfigSnapshotFile)));
  ConfigSnapshot snapshot;
  std::string_view t = text;
  const size_t eol = t.find('\n');
  std::string_view first = t.substr(0, eol == std::string_view::npos ? t.size() : eol + 1);
  if (first.starts_with(kHeader) && first.ends_with(kHeaderTail)) {
    snapshot.source_path = std::string(
        first.substr(kHeader.size(), first.size() - kHeader.size() - kHeaderTail.size()));
    t.remove_prefix(first.size());
  }
  snapshot.masked_toml = std::string(t);
  return snapshot;
}

Result<config::PipelineConfig> LoadSnapshotConfig(const ConfigSnapshot& snapshot,
                                                  const std::string& name) {
  if (!snapshot.source_path.empty() && PathExists(snapshot.source_path)) {
    Result<config::PipelineConfig> original = config::LoadPipelineConfig(snapshot.source_path);
    if (original.has_value() && original->name == name) return original;
  }
  return config::ParsePipelineConfig(snapshot.masked_toml, snapshot.source_path);
}

}  // namespace onceflow::ui
