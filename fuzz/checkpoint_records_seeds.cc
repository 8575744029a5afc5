// Writes the seed corpus of checkpoint_records_fuzz (fuzz/corpus/checkpoint_records/): intents
// of every version, commit records with and without marks, and source.meta files, each behind
// the target's mode byte.
//
// Usage: checkpoint_records_seeds DIR
#include <cstdint>
#include <string>

#include "checkpoint/batch_intent.h"
#include "checkpoint/source_record.h"
#include "seed_writer.h"

namespace onceflow::checkpoint {
namespace {

using fuzz::WithMode;

int Main(int argc, char** argv) {
  fuzz::Seeds seeds;
  BatchIntent intent;
  intent.batch = BatchId(41);
  intent.batch_time_ms = 1700000000000;
  intent.watermark_ms = 1699999990000;
  intent.max_event_time_ms = 1699999995000;
  intent.seed = 0x9e3779b97f4a7c15ULL;
  intent.ranges = {{PartitionId(0), Offset(10), Offset(20)},
                   {PartitionId(1), Offset(5), Offset(5)},
                   {PartitionId(2), Offset(0), Offset(300)}};
  seeds.emplace_back("intent-v3", WithMode(0, EncodeIntent(intent)));
  intent.close_windows = true;
  intent.watermark_ms = kNoWatermark;
  seeds.emplace_back("intent-v3-close-windows", WithMode(0, EncodeIntent(intent)));
  // The same intent as version 1 and 2 wrote it: no max event time and flags (1), no flags (2).
  std::string v3 = EncodeIntent(intent);
  std::string v2 = v3.substr(0, v3.size() - 1);  // the flags varint is one byte here
  v2[0] = 2;
  seeds.emplace_back("intent-v2", WithMode(0, v2));
  BatchIntent old;
  old.batch = BatchId(7);
  old.ranges = {{PartitionId(0), Offset(0), Offset(100)}};
  // Version 1 ends after the ranges: the version-3 bytes without max_event_time_ms
  // (zigzag(INT64_MIN), a 10-byte varint) and the flags (one byte).
  std::string v1 = EncodeIntent(old);
  v1.resize(v1.size() - 11);
  v1[0] = 1;
  seeds.emplace_back("intent-v1", WithMode(0, v1));
  seeds.emplace_back("intent-body", WithMode(3, EncodeIntent(intent).substr(1)));

  const PartitionMark marks[] = {{PartitionId(0), Offset(19), 0xdeadbeef},
                                 {PartitionId(2), Offset(299), 0x01020304}};
  seeds.emplace_back("commit-v2-marks", WithMode(0, EncodeCommit(BatchId(41), marks)));
  seeds.emplace_back("commit-v2-empty", WithMode(0, EncodeCommit(BatchId(0))));
  std::string commit_v1 = EncodeCommit(BatchId(12));
  commit_v1 = commit_v1.substr(0, commit_v1.size() - 1);  // no mark count
  commit_v1[0] = 1;
  seeds.emplace_back("commit-v1", WithMode(0, commit_v1));

  SourceRecord source;
  source.type = "log";
  source.topic = "transfers";
  source.id = "0f3c9a2e-5b1d-4c7e-9a41-6d2f8b0e7c55";
  source.starts = {Offset(0), Offset(-1), Offset(1200)};
  source.accepted = {"2026-12-01T10:00:00Z partition 1 offsets 40..49 lost"};
  seeds.emplace_back("source-meta", WithMode(0, EncodeSourceRecord(source)));
  SourceRecord kafka;
  kafka.type = "kafka";
  kafka.topic = "orders";
  seeds.emplace_back("source-meta-kafka", WithMode(0, EncodeSourceRecord(kafka)));
  // Generator inputs: a few bytes of each kind.
  seeds.emplace_back("generated-log-records", WithMode(1, std::string(48, '\x5a')));
  seeds.emplace_back("generated-source", WithMode(2, "log\x01orders\x01id\x03\x02\x07\x01x"));
  return fuzz::WriteSeeds(argc, argv, seeds);
}

}  // namespace
}  // namespace onceflow::checkpoint

int main(int argc, char** argv) { return onceflow::checkpoint::Main(argc, argv); }
