// The `onceflow` command: parses the command line (CLI11), dispatches to the verb and turns its
// Status into one error line and an exit code. The one place where exceptions are caught.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "cli/pipeline_verbs.h"
#include "cli/serve_command.h"
#include "cli/ui_command.h"
#include "log/log_options.h"
#include "log/loss_record.h"
#include "onceflow/status.h"
#include "util/fault_points.h"

namespace onceflow::cli {

std::string ResolveDataDir(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("ONCEFLOW_DATA");
  if (env != nullptr && *env != '\0') return env;
  return kDefaultDataDir;
}

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

#ifndef ONCEFLOW_VERSION
#define ONCEFLOW_VERSION "unknown"
#endif
#ifndef ONCEFLOW_GIT_COMMIT
#define ONCEFLOW_GIT_COMMIT ""
#endif

// "onceflow 0.1.0 (git 0123456789ab)": the version CMake's project() states, and the commit
// the build was configured from when it was configured from a git checkout.
std::string VersionLine() {
  std::string line = std::string("onceflow ") + ONCEFLOW_VERSION;
  if (ONCEFLOW_GIT_COMMIT[0] != '\0') line += std::string(" (git ") + ONCEFLOW_GIT_COMMIT + ")";
  return line;
}

// The first argument that is neither an option nor an option's value: the verb, if any.
// Only --data takes a value before the verb.
const char* FirstVerb(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--data") {
      ++i;
      continue;
    }
    if (!a.empty() && a[0] == '-') continue;
    return argv[i];
  }
  return nullptr;
}

void PrintError(const Status& s) {
  // Corruption and I/O errors keep their code: it tells the reader what kind of trouble it is.
  const bool with_code = s.IsCorruption() || s.IsIoError();
  std::fprintf(stderr, "onceflow: error: %s\n",
               with_code ? s.ToString().c_str() : s.message().c_str());
}

log::Durability DurabilityFromFlag(const std::string& flag) {
  // CLI11's IsMember check has already refused anything else.
  return log::ParseDurability(flag).value_or(log::Durability::kFsync);
}

int Main(int argc, char** argv) {
  // Losses the log records (a torn tail cut at recovery, a skipped range read across) are said
  // on stderr, whichever verb opened the log.
  log::SetLossReporter([](const log::LossEvent& e) {
    std::fprintf(stderr, "onceflow: warning: %s\n", e.Describe().c_str());
  });
  CLI::App app{
      "onceflow: stream processing with exactly-once output. This command runs pipelines "
      "described in TOML files (run, status, verify), manages the topics of the embedded "
      "durable log (topics, produce, consume) and runs demos (demo: the exactly-once ledger "
      "under kill -9; demo-log: the log's speed).",
      "onceflow"};
  app.require_subcommand(1);
  app.set_version_flag("--version", VersionLine(), "Print the version and exit");
  app.footer("The data directory is --data DIR, else $ONCEFLOW_DATA, else " +
             std::string(kDefaultDataDir) + ". Run 'onceflow VERB --help' for a verb's options.");

  // --data is accepted before the verb and after it, on every verb.
  std::string data_flag;
  auto add_data_option = [&](CLI::App* cmd) {
    cmd->add_option(
           "--data", data_flag,
           "Data directory (default: $ONCEFLOW_DATA, else " + std::string(kDefaultDataDir) + ")")
        ->option_text("DIR");
  };
  add_data_option(&app);
  std::function<Status()> action;
  // --kafka BOOTSTRAP: topics, produce and consume work on a Kafka cluster instead.
  std::string kafka_flag;
  auto add_kafka_option = [&](CLI::App* cmd) {
    cmd->add_option("--kafka", kafka_flag,
                    "Work on the Kafka cluster at BOOTSTRAP (host:port[,...]) instead of the "
                    "embedded log")
        ->option_text("BOOTSTRAP");
  };

  // run, status, verify, demo
  AddPipelineVerbs(&app, add_data_option, &data_flag, &action);

  // serve: the receiver
  AddServeVerb(&app, add_data_option, &data_flag, &action);

  // ui: the web UI, JSON API and metrics of the pipelines
  AddUiVerb(&app, add_data_option, &data_flag, &action);

  // topics create | list | describe
  CLI::App* topics = app.add_subcommand("topics", "Create, list, describe and repair topics");
  topics->require_subcommand(1);
  add_data_option(topics);
  add_kafka_option(topics);

  TopicsCreateOptions create;
  std::string create_durability(log::DurabilityName(create.log.durability));
  CLI::App* create_cmd = topics->add_subcommand("create", "Create a topic");
  create_cmd->add_option("name", create.name, "Topic name: 1-249 characters of [A-Za-z0-9._-]")
      ->required();
  create_cmd->add_option("-p,--partitions", create.partitions, "Number of partitions (1-10000)")
      ->capture_default_str();
  create_cmd
      ->add_option("--segment-bytes", create.log.segment_bytes,
                   "Roll to a new segment file once a segment holds this many bytes")
      ->capture_default_str();
  create_cmd
      ->add_option("--retention-bytes", create.log.retention_bytes,
                   "Delete a partition's oldest sealed segments beyond this size (-1: keep all)")
      ->capture_default_str();
  create_cmd
      ->add_option("--retention-ms", create.log.retention_ms,
                   "Delete sealed segments whose newest record is older than this (-1: keep all)")
      ->capture_default_str();
  create_cmd
      ->add_option("--durability", create_durability,
                   "fsync: a produce returns once the records are on disk; none: once the OS "
                   "has them (for throwaway data)")
      ->check(CLI::IsMember({"fsync", "none"}))
      ->capture_default_str();
  add_data_option(create_cmd);
  add_kafka_option(create_cmd);
  create_cmd->callback([&] {
    action = [&] {
      if (!kafka_flag.empty()) return RunKafkaTopicsCreate(kafka_flag, create);
      create.data_dir = ResolveDataDir(data_flag);
      create.log.durability = DurabilityFromFlag(create_durability);
      return RunTopicsCreate(create);
    };
  });

  CLI::App* list_cmd = topics->add_subcommand("list", "Print the topic names, one per line");
  add_data_option(list_cmd);
  add_kafka_option(list_cmd);
  list_cmd->callback([&] {
    action = [&] {
      if (!kafka_flag.empty()) return RunKafkaTopicsList(kafka_flag);
      return RunTopicsList(ResolveDataDir(data_flag));
    };
  });

  std::string describe_name;
  CLI::App* describe_cmd = topics->add_subcommand(
      "describe", "Print a topic's configuration and, per partition, its offsets and size");
  describe_cmd->footer(
      "END is the next offset to be assigned (Kafka's latest offset); RECORDS = END - EARLIEST. "
      "DATA BYTES counts the batches; DISK BYTES the blocks the partition's files occupy.");
  describe_cmd->add_option("name", describe_name, "Topic name")->required();
  add_data_option(describe_cmd);
  add_kafka_option(describe_cmd);
  describe_cmd->callback([&] {
    action = [&] {
      if (!kafka_flag.empty()) return RunKafkaTopicsDescribe(kafka_flag, describe_name);
      return RunTopicsDescribe(ResolveDataDir(data_flag), describe_name);
    };
  });

  TopicsRepairOptions repair;
  int32_t repair_partition = -1;
  CLI::App* repair_cmd = topics->add_subcommand(
      "repair", "Find damaged ranges in a topic's segments; with --skip-damaged, skip them");
  repair_cmd->footer(
      "Scans every segment of the partitions for damage that makes reads or the log's "
      "recovery stop (a torn tail is not damage: it is cut and recorded when the partition is "
      "opened). Prints one line per damaged range: its offsets, file and byte. Without "
      "--skip-damaged nothing changes and damage exits non-zero. With it, each range is "
      "recorded as lost in the partition's LOSSES file and the segment is split around it: "
      "readers and pipelines skip those offsets (a pipeline reading across them prints a "
      "line naming them), and 'topics describe' lists them. Needs the partition's writer "
      "lock: stop producers first.");
  repair_cmd->add_option("name", repair.name, "Topic name")->required();
  repair_cmd->add_option("-p,--partition", repair_partition, "Only this partition")
      ->option_text("P");
  repair_cmd->add_flag("--skip-damaged", repair.skip_damaged,
                       "Record the damaged ranges as lost and skip them (irreversible)");
  add_data_option(repair_cmd);
  repair_cmd->callback([&] {
    action = [&] {
      repair.data_dir = ResolveDataDir(data_flag);
      if (repair_partition >= 0) repair.partition = repair_partition;
      return RunTopicsRepair(repair);
    };
  });

  // produce
  ProduceOptions produce;
  CLI::App* produce_cmd =
      app.add_subcommand("produce", "Append one record per line of stdin to a topic");
  produce_cmd->footer(
      "Each line is a record (a trailing \\r is removed; the timestamp is the wall-clock time). "
      "Keyed records go to the partition of their key's murmur2 hash (as Kafka's default "
      "partitioner); records without a key go round robin, one batch per partition at a time. "
      "The records of a partition keep their input order. Prints the count to stderr; exits "
      "non-zero on any error.");
  produce_cmd->add_option("topic", produce.topic, "Topic name")->required();
  produce_cmd
      ->add_option("-k,--key-separator", produce.key_separator,
                   "Split each line at the first SEP into key and value (a line without "
                   "SEP has no key). Without this option no record has a key")
      ->option_text("SEP");
  produce_cmd
      ->add_option("--batch-bytes", produce.batch_bytes,
                   "Append a partition's batch once it holds this many bytes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  produce_cmd
      ->add_option("--batch-records", produce.batch_records,
                   "...or this many records. While the partition's previous append is still "
                   "being fsynced a batch keeps growing, up to 64 times these limits")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  produce_cmd
      ->add_option("--to", produce.to,
                   "Send through a receiver ('onceflow serve') instead of the local log: each "
                   "batch is one request, retried until acknowledged, never stored twice")
      ->option_text("http://HOST:PORT");
  produce_cmd->add_option("--producer-id", produce.producer_id,
                          "With --to: the producer id (default: a random one for this run)");
  produce_cmd
      ->add_option("--first-sequence", produce.first_sequence,
                   "With --to: the sequence number of the first record (to continue a producer "
                   "id used before)")
      ->capture_default_str();
  produce_cmd->add_option("--token-file", produce.token_file,
                          "With --to: send the bearer token in this file");
  produce_cmd->add_flag(
      "--csv-header", produce.csv_header,
      "The first line is a csv header: it is written first into every empty partition and "
      "must be the first record of every other one (a csv pipeline takes each partition's "
      "record at offset 0 as its header)");
  add_data_option(produce_cmd);
  add_kafka_option(produce_cmd);
  produce_cmd->callback([&] {
    action = [&] {
      if (!kafka_flag.empty()) return RunKafkaProduce(kafka_flag, produce);
      produce.data_dir = ResolveDataDir(data_flag);
      return RunProduce(produce);
    };
  });

  // nexmark generate
  CLI::App* nexmark = app.add_subcommand("nexmark", "The Nexmark benchmark's event generator");
  nexmark->require_subcommand(1);
  NexmarkGenerateOptions nexmark_gen;
  std::string nexmark_kind = "bid";
  std::string nexmark_rate_shape = "constant";
  CLI::App* generate_cmd = nexmark->add_subcommand(
      "generate", "Write the Nexmark generator's events into a topic (embedded log or Kafka)");
  generate_cmd->footer(
      "Writes the same events, as the same JSON objects, as a pipeline's [source] type = "
      "\"nexmark\" with the same settings: the kind's event j into partition j mod P (P: the "
      "topic's partitions). The topic must exist; in the embedded log it must be empty, so "
      "that its offsets are the generator's (with partitions = P). README, \"Nexmark\".");
  generate_cmd->add_option("--topic", nexmark_gen.topic, "The topic to write into")->required();
  generate_cmd
      ->add_option("--events", nexmark_gen.generator.events,
                   "How many events the generator makes in all (people, auctions and bids, "
                   "1:3:46); the kind's share of them is written")
      ->required();
  generate_cmd->add_option("--kind", nexmark_kind, "Which events: bid, auction, person or all")
      ->check(CLI::IsMember({"bid", "auction", "person", "all"}))
      ->capture_default_str();
  generate_cmd
      ->add_option("--events-per-second", nexmark_gen.generator.events_per_second,
                   "Event time: event n is at base time + n * 1000 / this (ms)")
      ->capture_default_str();
  generate_cmd
      ->add_option("--base-time-ms", nexmark_gen.generator.base_time_ms,
                   "The event time of event 0, ms since the Unix epoch")
      ->capture_default_str();
  generate_cmd
      ->add_option("--out-of-order-group", nexmark_gen.generator.out_of_order_group,
                   "Event times permuted within groups of this many events (1: in order)")
      ->capture_default_str();
  generate_cmd
      ->add_option("--rate-shape", nexmark_rate_shape,
                   "constant, or square or sine between --events-per-second and "
                   "--next-events-per-second over --rate-period-s (as source.rate_shape)")
      ->check(CLI::IsMember({"constant", "square", "sine"}))
      ->capture_default_str();
  generate_cmd->add_option("--next-events-per-second", nexmark_gen.generator.next_events_per_second,
                           "With a rate shape: the second rate");
  generate_cmd
      ->add_option("--rate-period-s", nexmark_gen.generator.rate_period_s,
                   "With a rate shape: its period in seconds of event time")
      ->capture_default_str();
  add_data_option(generate_cmd);
  add_kafka_option(generate_cmd);
  generate_cmd->callback([&] {
    action = [&] {
      nexmark_gen.generator.kind = nexmark_kind == "all"       ? NexmarkKind::kAll
                                   : nexmark_kind == "auction" ? NexmarkKind::kAuction
                                   : nexmark_kind == "person"  ? NexmarkKind::kPerson
                                                               : NexmarkKind::kBid;
      nexmark_gen.generator.rate_shape = nexmark_rate_shape == "sine" ? NexmarkRateShape::kSine
                                         : nexmark_rate_shape == "square"
                                             ? NexmarkRateShape::kSquare
                                             : NexmarkRateShape::kConstant;
      nexmark_gen.kafka = kafka_flag;
      nexmark_gen.data_dir = ResolveDataDir(data_flag);
      return RunNexmarkGenerate(nexmark_gen);
    };
  });

  // consume
  ConsumeOptions consume;
  CLI::App* consume_cmd =
      app.add_subcommand("consume", "Print a topic's record values to stdout, one per line");
  consume_cmd->footer(
      "Reads from the earliest offset, partition by partition: partition 0 to its end, then "
      "partition 1, and so on; with --follow, then each partition's new records as they "
      "arrive. Opens the topic read-only, so it may run while another process produces. "
      "Exits 0 at the end of the log (without --follow).");
  consume_cmd->add_option("topic", consume.topic, "Topic name")->required();
  CLI::Option* partition_opt =
      consume_cmd->add_option("-p,--partition", consume.partition, "Read only this partition")
          ->option_text("P");
  consume_cmd
      ->add_option("-o,--offset", consume.offset,
                   "Start at this offset (requires --partition); default: the earliest offset")
      ->option_text("O")
      ->needs(partition_opt);
  consume_cmd->add_option("-n,--max", consume.max_records, "Stop after printing N records")
      ->option_text("N")
      ->check(CLI::NonNegativeNumber);
  consume_cmd->add_flag("--print-offsets", consume.print_offsets,
                        "Prefix each value with 'partition:offset '");
  consume_cmd->add_flag("--print-keys", consume.print_keys,
                        "Prefix the value of each keyed record with its key and the key "
                        "separator (the output can be produced again with the same separator)");
  consume_cmd
      ->add_option("-k,--key-separator", consume.key_separator,
                   "The separator printed by --print-keys")
      ->option_text("SEP")
      ->capture_default_str();
  consume_cmd->add_flag("-f,--follow", consume.follow,
                        "At the end of the log, wait for more records; SIGINT or SIGTERM (or "
                        "--max) ends it with exit status 0");
  add_data_option(consume_cmd);
  add_kafka_option(consume_cmd);
  consume_cmd->callback([&] {
    action = [&] {
      if (!kafka_flag.empty()) return RunKafkaConsume(kafka_flag, consume);
      consume.data_dir = ResolveDataDir(data_flag);
      return RunConsume(consume);
    };
  });

  // demo-log: the log demo
  LogDemoOptions log_demo;
  std::string demo_durability(log::DurabilityName(log_demo.durability));
  CLI::App* log_demo_cmd = app.add_subcommand(
      "demo-log", "Produce, consume back and verify a demo topic; show the log's speeds");
  log_demo_cmd->footer(
      "Creates a topic 'demo' in a fresh <data>/demo directory (removed first), produces keyed "
      "records to it as 'onceflow produce' does, consumes them back, verifies count, offsets, "
      "per-partition order and content, and prints the throughput and the bytes on disk. Exits "
      "non-zero if the verification fails.");
  log_demo_cmd->add_option("-n,--records", log_demo.records, "Records to produce")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  log_demo_cmd->add_option("--value-bytes", log_demo.value_bytes, "Bytes per value")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  log_demo_cmd->add_option("-p,--partitions", log_demo.partitions, "Partitions of the demo topic")
      ->capture_default_str();
  log_demo_cmd->add_option("--durability", demo_durability, "fsync or none")
      ->check(CLI::IsMember({"fsync", "none"}))
      ->capture_default_str();
  add_data_option(log_demo_cmd);
  log_demo_cmd->callback([&] {
    action = [&] {
      log_demo.data_dir = ResolveDataDir(data_flag);
      log_demo.durability = DurabilityFromFlag(demo_durability);
      return RunLogDemo(log_demo);
    };
  });

  // CLI11 would say "The following arguments were not expected: frobnicate".
  if (const char* verb = FirstVerb(argc, argv); verb != nullptr) {
    bool known = false;
    for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      known = known || sub->check_name(verb);
    }
    if (!known) {
      std::fprintf(stderr, "onceflow: error: unknown verb '%s' (see onceflow --help)\n", verb);
      return kExitUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help: prints the usage to stdout, exit 0
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "onceflow: error: %s\nRun with --help for usage.\n", e.what());
    return kExitUsage;
  }
  if (!action) {
    std::fprintf(stderr, "onceflow: error: no verb given\nRun with --help for usage.\n");
    return kExitUsage;
  }
  // Fault injection for every verb (and the children the demo starts, which inherit it). A bad
  // spec is a usage error: a typo must not silently test nothing.
  if (Status armed = faults::ArmFromEnvironment(); !armed.ok()) {
    std::fprintf(stderr, "onceflow: error: %s\n", armed.message().c_str());
    return kExitUsage;
  }
  Status s = action();
  if (!s.ok()) {
    PrintError(s);
    return kExitError;
  }
  return 0;
}

}  // namespace
}  // namespace onceflow::cli

int main(int argc, char** argv) {
  try {
    return onceflow::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    // Only a library that throws gets here (std::bad_alloc, std::system_error from a thread).
    std::fprintf(stderr, "onceflow: error: internal: %s\n", e.what());
    return 1;
  }
}
