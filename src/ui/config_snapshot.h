// The config snapshot: the pipeline file `onceflow run` started with, saved with its secrets
// masked as <checkpoint>/config.toml, so that the UI can show it and reopen the pipeline's
// source and sink (docs/formats/config_snapshot.md).
#pragma once

#include <string>
#include <string_view>

#include "config/pipeline_config.h"
#include "onceflow/status.h"

namespace onceflow::ui {

// `toml` with the value of every key whose name contains "password", "secret" or "token" or
// starts with "sasl" (any case, quoted or dotted keys, inline tables too) replaced by "***",
// and the password of every libpq connection string ("password=..." or a URI's
// "user:password@") inside any string replaced by ***.
std::string MaskSecrets(std::string_view toml);

// Writes <checkpoint_dir>/config.toml (atomically, creating the directory): a header line naming
// `config_path` made absolute, then MaskSecrets(`toml`).
Status SaveConfigSnapshot(const std::string& checkpoint_dir, const std::string& config_path,
                          std::string_view toml);

struct ConfigSnapshot {
  std::string source_path;  // the absolute path of the file run started with ("" unknown)
  std::string masked_toml;  // the file's text with secrets masked (without the header)
};

// Reads <checkpoint_dir>/config.toml; not_found when the pipeline never ran with this onceflow.
Result<ConfigSnapshot> ReadConfigSnapshot(const std::string& checkpoint_dir);

// The pipeline's config for reading its source and sink: the file it ran from when that still
// exists and still names the pipeline `name` (it holds the secrets, which are never shown), else
// the masked snapshot parsed as if it were that file (relative paths resolve the same way).
Result<config::PipelineConfig> LoadSnapshotConfig(const ConfigSnapshot& snapshot,
                                                  const std::string& name);

// The name of the snapshot file inside a checkpoint directory.
inline constexpr std::string_view kConfigSnapshotFile = "config.toml";

}  // namespace onceflow::ui
