// BlackholeSink: a sink that writes no output, for comparing onceflow's figures with published
// benchmark runs (which use a blackhole sink) only. It keeps the exactly-once bookkeeping: the
// progress rows, the count of rows and dead letters committed, in one file in the pipeline's
// checkpoint directory, replaced atomically (fsynced) at every commit.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "sink/sink.h"

namespace onceflow::sink {

// What the progress file holds (docs/formats/blackhole_progress.md), per pipeline.
struct BlackholePipeline {
  int64_t rows = 0;          // rows committed, each exactly once
  int64_t dead_letters = 0;  // dead letters committed
  std::map<int32_t, TaskProgress> progress;
};
using BlackholeState = std::map<std::string, BlackholePipeline>;

// Lifecycle: as Sink. Thread-safety: Commit serialises on one mutex (one file write per call).
// Durable when Commit returns: the progress file, fsynced, and its directory.
class BlackholeSink : public Sink {
 public:
  // `dir`: the pipeline's checkpoint directory; the file is dir/blackhole.progress.
  explicit BlackholeSink(std::string dir);

  Status Open() override;
  Result<std::map<int32_t, TaskProgress>> ReadProgress(const std::string& pipeline) override;
  Result<std::vector<CommitOutcome>> Commit(std::span<const TaskCommit> tasks) override;
  Result<std::map<int32_t, TaskProgress>> Claim(const std::string& pipeline,
                                                std::span<const int32_t> tasks,
                                                Epoch epoch) override;
  Status DeleteProgress(const std::string& pipeline) override;
  std::string Describe() const override { return "blackhole " + path_; }

  // The file's contents (empty when there is none). corruption names the file.
  Result<BlackholeState> ReadState() const;
  // `dir`/blackhole.progress.
  const std::string& path() const { return path_; }

 private:
  Result<BlackholeState> LoadLocked();

  std::string dir_;
  std::string path_;
  std::mutex mu_;  // one read-modify-write of the file at a time in this process
};

// The progress file of the pipeline whose checkpoint directory is `dir`.
std::string BlackholeProgressPath(const std::string& dir);

// Encodes and decodes the file (docs/formats/blackhole_progress.md).
std::string EncodeBlackholeState(const BlackholeState& state);
Result<BlackholeState> DecodeBlackholeState(std::string_view text, const std::string& path);

}  // namespace onceflow::sink
