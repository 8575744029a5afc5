// Layout of a pipeline's batch history (docs/formats/history.md is the reference; this header is
// its code): `<checkpoint>/history/` holds generation files named by a number, each a sequence of
// log record batches (log_format.h) of one record each: a header record, then one record per
// batch attempt whose value is BatchRecordToJson.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace onceflow::history {

// The history's directory under a checkpoint directory.
constexpr std::string_view kHistoryDirName = "history";
// The key of the first record of every generation file; its value is kHeaderValuePrefix
// followed by the writer's max_batches in decimal ("format=1 max_batches=10000").
constexpr std::string_view kHeaderKey = "onceflow-history";
constexpr std::string_view kHeaderValuePrefix = "format=1 max_batches=";
// The key of every other record, one batch attempt, is "batch:<batch id>:<outcome>" (so that a
// scan can tell batches and commits apart without parsing JSON); its value is a JSON object.
constexpr std::string_view kBatchKeyPrefix = "batch:";
// The writer keeps the two newest generations; each holds at most max_batches batch records,
// so the files always hold the last max_batches records (and at most twice that).
constexpr int kGenerationsKept = 2;
// history.max_batches when the config does not say.
constexpr int64_t kDefaultMaxBatches = 10000;

// The one make/parse pair for generation file names: the generation number zero-padded to 20
// digits, so that names sort as generations do ("00000000000000000003.history").
std::string MakeHistoryFileName(uint64_t generation);
// The generation of a history file name, or nullopt for any other name.
std::optional<uint64_t> ParseHistoryFileName(std::string_view name);

// The history directory of the checkpoint directory `checkpoint_dir`.
std::string HistoryDir(const std::string& checkpoint_dir);

// The make/parse pair of a batch record's key.
std::string MakeBatchKey(int64_t batch_id, std::string_view outcome);
struct ParsedBatchKey {
  int64_t batch_id = 0;
  std::string_view outcome;  // a view into the parsed key
};
std::optional<ParsedBatchKey> ParseBatchKey(std::string_view key);

}  // namespace onceflow::history
