// The verbs of the `onceflow` command. main.cc parses the command line into these option
// structs and calls the matching Run function; each verb lives in its own <verb>_command.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "log/log_options.h"
#include "onceflow/options.h"
#include "onceflow/status.h"

namespace onceflow::cli {

// The data directory when neither --data nor $ONCEFLOW_DATA names one.
inline constexpr const char* kDefaultDataDir = "./onceflow-data";

// Returns `flag` if not empty, else $ONCEFLOW_DATA if set and not empty, else kDefaultDataDir.
std::string ResolveDataDir(const std::string& flag);

struct TopicsCreateOptions {
  std::string data_dir;
  std::string name;
  int32_t partitions = 1;
  log::LogOptions log;  // segment_bytes, retention_*, durability from the flags
};

// `onceflow topics create`: creates the topic. Prints a confirmation to stderr.
Status RunTopicsCreate(const TopicsCreateOptions& options);
// `onceflow topics list`: prints the topic names of the data directory, one per line.
Status RunTopicsList(const std::string& data_dir);
// `onceflow topics describe`: prints the topic's configuration and a table with, per partition,
// the earliest and end offsets, the record count, the segment count and the bytes on disk.
Status RunTopicsDescribe(const std::string& data_dir, const std::string& name);

struct TopicsRepairOptions {
  std::string data_dir;
  std::string name;
  std::optional<int32_t> partition;  // none: every partition
  bool skip_damaged = false;
};
// `onceflow topics repair`: scans the partitions' segments for damage and prints one line per
// damaged range. Without skip_damaged nothing changes and damage is an error naming the command
// that skips it; with it, each range is recorded as lost (LOSSES) and readers skip it.
Status RunTopicsRepair(const TopicsRepairOptions& options);

struct ProduceOptions {
  std::string data_dir;
  std::string topic;
  // Splits each line into key and value at its first occurrence; none: no line has a key.
  std::optional<std::string> key_separator;
  // A partition's batch is handed to the log once it holds this many bytes or records.
  size_t batch_bytes = 64u << 10;
  uint32_t batch_records = 10000;
  // Through a receiver instead of the local log: http://HOST:PORT (empty: the local log). Each
  // batch is one request with the next sequences of `producer_id`, retried until acknowledged.
  std::string to;
  std::string producer_id;  // empty: a random id for this run
  int64_t first_sequence = 0;
  std::string token_file;
  // The first line of stdin is a csv header: it becomes the first record (offset 0) of every
  // partition that is empty, and must equal offset 0 of every partition that is not, so that a
  // csv pipeline reading the topic finds the same header at the start of each partition.
  bool csv_header = false;
};

// `onceflow produce`: appends one record per line of stdin, then prints the count to stderr.
Status RunProduce(const ProduceOptions& options);

struct NexmarkGenerateOptions {
  std::string data_dir;
  std::string topic;
  std::string kafka;  // bootstrap servers; empty: the embedded log of data_dir
  // The generator's settings (partitions unused: the topic's partition count is).
  NexmarkSourceOptions generator{};
};

// `onceflow nexmark generate`: writes the kind's events among the generator's first
// generator.events into `topic` (which must exist; in the embedded log, empty): event j of the
// kind to partition j mod P, P the topic's partition count. Prints the count to stderr.
Status RunNexmarkGenerate(const NexmarkGenerateOptions& options);

struct ConsumeOptions {
  std::string data_dir;
  std::string topic;
  std::optional<int32_t> partition;  // none: every partition, in partition order
  std::optional<int64_t> offset;     // REQUIRES: partition set. None: the earliest offset.
  std::optional<uint64_t> max_records;
  bool print_offsets = false;  // prefix "partition:offset "
  bool print_keys = false;     // prefix "key<key_separator>" to records that have a key
  std::string key_separator = "\t";
  bool follow = false;  // wait for more records until SIGINT/SIGTERM or --max
};

// `onceflow consume`: prints the values of the topic's records, one per line, to stdout.
Status RunConsume(const ConsumeOptions& options);

// The same verbs on a Kafka cluster (--kafka BOOTSTRAP); the data directory is not used.
// Kafka's END is the last stable offset, what read_committed readers see; consume reads with
// read_committed.
Status RunKafkaTopicsCreate(const std::string& bootstrap, const TopicsCreateOptions& options);
Status RunKafkaTopicsList(const std::string& bootstrap);
Status RunKafkaTopicsDescribe(const std::string& bootstrap, const std::string& name);
Status RunKafkaProduce(const std::string& bootstrap, const ProduceOptions& options);
Status RunKafkaConsume(const std::string& bootstrap, const ConsumeOptions& options);

struct LogDemoOptions {
  std::string data_dir;  // the demo works in <data_dir>/demo, removed first
  uint64_t records = 1000000;
  size_t value_bytes = 100;
  int32_t partitions = 4;
  log::Durability durability = log::Durability::kFsync;
};

// `onceflow demo-log`: produces, consumes back and verifies a topic, printing throughput
// figures. Returns a corruption error if what was consumed is not what was produced.
Status RunLogDemo(const LogDemoOptions& options);

struct PipelineRunOptions {
  std::string data_dir;
  std::string config_path;  // the pipeline's TOML file
  // Exit (0) once everything that was in the source when the run started is committed.
  bool until_caught_up = false;
  int64_t max_batches = -1;  // -1: no limit
  // A progress line goes to stderr at most this often, after a committed batch.
  double progress_interval_s = 5;
  // Serve the UI (src/ui: pages, /api/v1, /metrics) on HOST:PORT while running; "": none.
  std::string ui;
  std::string ui_token_file;  // require this bearer token on the UI's /api and /metrics
  // The lines even on a terminal, where --until-caught-up would draw a progress bar.
  bool no_progress = false;
};

// `onceflow run`: recovers the pipeline and runs it until SIGINT/SIGTERM (a clean stop after
// the current batch), until it is caught up, or until a fatal error. Progress goes to stderr.
Status RunPipeline(const PipelineRunOptions& options);

// The options of the verbs that inspect a pipeline: status and verify.
struct PipelineInspectOptions {
  std::string data_dir;
  std::string config_path;
};

// `onceflow status`: prints the pipeline's last committed batch, epoch, unfinished batch and,
// per partition, the committed offset, the source's end offset and the lag. Takes no lock: it
// may run while the pipeline runs.
Status RunStatus(const PipelineInspectOptions& options);

// `onceflow verify`: checks that the sink's progress rows agree with the checkpoint (no gap, no
// overlap, no batch or epoch from the future). Prints OK and a summary, or every violation and
// then returns a corruption error. Meant for a stopped pipeline: while it runs, the checkpoint
// and the sink are read at slightly different moments.
Status RunVerify(const PipelineInspectOptions& options);

struct PipelineResetOptions {
  std::string data_dir;
  std::string config_path;
  bool yes = false;  // without it, only say what would be done
  // Instead of starting from starting_offsets: accept that the source lost or rewrote records
  // the pipeline committed, and continue each partition at the committed offset, or at the
  // source's end where the source now ends before it. Recorded in the new checkpoint.
  bool accept_loss = false;
};

// `onceflow reset`: starts a pipeline afresh — removes its checkpoint (with its keyed state)
// once the sink holds no progress row of it, so that the next run starts from starting_offsets
// (with accept_loss: from where it was, or the source's end where records were lost).
// The sink's output rows are not touched. Refused while the pipeline runs. Without `yes`, prints
// what it would do and returns an error naming the command that does it.
Status RunReset(const PipelineResetOptions& options);

struct ChaosOptions {
  std::string data_dir;
  std::string config_path;  // the pipeline's TOML file
  int kills = 20;           // kills to land before the last run
  uint64_t seed = 0;        // of every choice; 0: a random seed, printed
  bool power_loss = false;  // also simulated power losses at fault points
  bool faults = false;      // also injected I/O errors and thrown faults
  // "FIELD=TABLE.COLUMN": also the per-record audit (chaos_key_audit.h); "": none.
  std::string audit_key;
};

// `onceflow chaos`: runs the pipeline as `run --until-caught-up` children, kills each at a
// random moment or fault point (or by a power loss or an injected error) and restarts it, until
// `kills` kills landed; then one last run without faults, `verify` and, for the embedded log
// into SQLite, a reference run whose sink must equal the pipeline's. Prints the report; returns
// a corruption error naming the first violation, if any.
Status RunChaos(const ChaosOptions& options);

struct LedgerDemoOptions {
  std::string data_dir;  // the demo works in <data_dir>/demo-ledger, removed first
  int64_t transfers = 1000000;
  int64_t accounts = 10000;
  int kills = 5;      // SIGKILLs of the running pipeline
  uint64_t seed = 0;  // of the transfers and the kill moments; 0: a random seed
  // Per partition and batch; 0: chosen from the number of transfers.
  int64_t max_records_per_partition = 0;
  // No progress bar on stderr even when it is a terminal.
  bool no_progress = false;
};

// `onceflow demo`: the exactly-once ledger demo. Produces random transfers, runs the ledger
// pipeline as a child process that it SIGKILLs `kills` times, then checks the ledger against
// the transfers and prints a verdict. Returns a corruption error on any violation.
Status RunLedgerDemo(const LedgerDemoOptions& options);

}  // namespace onceflow::cli
