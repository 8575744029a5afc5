// Intent and commit record encodings.
#include "checkpoint/batch_intent.h"

#include "util/coding.h"
#include "util/crc32c.h"

namespace onceflow::checkpoint {
namespace {
// Intents: 2 adds max_event_time_ms after the ranges, 3 a varint of flags after it.
constexpr char kIntentVersion = 3;
constexpr uint64_t kCloseWindowsFlag = 1;
constexpr char kCommitVersion = 2;  // 2 adds the partition marks after the batch

struct Reader {
  const char* p;
  const char* end;
  bool ok = true;
  uint32_t Fixed32() {
    if (!ok || end - p < 4) {
      ok = false;
      return 0;
    }
    const uint32_t v = coding::DecodeFixed32(p);
    p += 4;
    return v;
  }
  uint64_t U() {
    uint64_t v = 0;
    if (ok && (p = coding::DecodeVarint64(p, end, &v)) == nullptr) ok = false;
    return ok ? v : 0;
  }
  int64_t S() { return coding::UnZigZag(U()); }
};

Status VersionError(std::string_view what, int v, int newest) {
  return Status::InvalidArgument(std::string(what) + " record of version " + std::to_string(v) +
                                 " is not supported by this onceflow (it reads up to version " +
                                 std::to_string(newest) +
                                 "): the checkpoint was written by a newer onceflow");
}
}  // namespace

std::string EncodeIntent(const BatchIntent& in) {
  std::string out(1, kIntentVersion);
  coding::PutVarint64(&out, static_cast<uint64_t>(in.batch.value()));
  coding::PutVarint64(&out, coding::ZigZag(in.batch_time_ms));
  coding::PutVarint64(&out, coding::ZigZag(in.watermark_ms));
  coding::PutVarint64(&out, in.seed);
  coding::PutVarint64(&out, in.ranges.size());
  for (const auto& r : in.ranges) {
    coding::PutVarint64(&out, static_cast<uint64_t>(r.partition.value()));
    coding::PutVarint64(&out, static_cast<uint64_t>(r.from.value()));
    coding::PutVarint64(&out, static_cast<uint64_t>(r.until.value()));
  }
  coding::PutVarint64(&out, coding::ZigZag(in.max_event_time_ms));
  coding::PutVarint64(&out, in.close_windows ? kCloseWindowsFlag : 0);
  return out;
}

Result<BatchIntent> DecodeIntent(std::string_view bytes) {
  if (bytes.empty()) return Err(Status::Corruption("empty intent record"));
  const int version = static_cast<uint8_t>(bytes[0]);  // a byte, 0..255
  if (version < 1 || version > kIntentVersion) {
    return Err(VersionError("intent", version, kIntentVersion));
  }
  Reader r{bytes.data() + 1, bytes.data() + bytes.size()};
  BatchIntent in;
  in.batch = BatchId(static_cast<int64_t>(r.U()));
  in.batch_time_ms = r.S();
  in.watermark_ms = r.S();
  in.seed = r.U();
  const uint64_t n = r.U();
  if (!r.ok || n > bytes.size()) return Err(Status::Corruption("malformed intent record"));
  for (uint64_t i = 0; i < n && r.ok; ++i) {
    OffsetRange t;
    t.partition = PartitionId(static_cast<int32_t>(r.U()));
    t.from = Offset(static_cast<int64_t>(r.U()));
    t.until = Offset(static_cast<int64_t>(r.U()));
    in.ranges.push_back(t);
  }
  if (version >= 2) {
    in.max_event_time_ms = r.S();
  }
  if (version >= 3) {
    const uint64_t flags = r.U();
    if (r.ok && (flags & ~kCloseWindowsFlag) != 0) {
      return Err(Status::Corruption("intent record has unknown flags " + std::to_string(flags) +
                                    " (written by a newer onceflow?)"));
    }
    in.close_windows = (flags & kCloseWindowsFlag) != 0;
  }
  if (version < 2) {
    in.watermark_ms = kNoWatermark;  // version 1 wrote 0 and had no event time
  }
  if (!r.ok || r.p != r.end) return Err(Status::Corruption("malformed intent record"));
  return in;
}

uint32_t RecordFingerprint(const RecordView& record) {
  char head[9];
  head[0] = record.key.has_value() ? 1 : 0;
  coding::EncodeFixed64(head + 1, static_cast<uint64_t>(record.timestamp_ms));
  uint32_t crc = crc32c::Value(head, sizeof(head));
  char len[8];
  if (record.key) {
    coding::EncodeFixed64(len, record.key->size());
    crc = crc32c::Extend(crc, len, sizeof(len));
    crc = crc32c::Extend(crc, record.key->data(), record.key->size());
  }
  return crc32c::Extend(crc, record.value.data(), record.value.size());
}

std::string EncodeCommit(BatchId batch, std::span<const PartitionMark> marks) {
  std::string out(1, kCommitVersion);
  coding::PutVarint64(&out, static_cast<uint64_t>(batch.value()));
  coding::PutVarint64(&out, marks.size());
  for (const PartitionMark& m : marks) {
    coding::PutVarint64(&out, static_cast<uint64_t>(m.partition.value()));
    coding::PutVarint64(&out, static_cast<uint64_t>(m.offset.value()));
    coding::PutFixed32(&out, m.fingerprint);
  }
  return out;
}

Result<CommitRecord> DecodeCommitRecord(std::string_view bytes) {
  if (bytes.empty()) return Err(Status::Corruption("empty commit record"));
  const int version = static_cast<uint8_t>(bytes[0]);  // a byte, 0..255
  if (version < 1 || version > kCommitVersion) {
    return Err(VersionError("commit", version, kCommitVersion));
  }
  Reader r{bytes.data() + 1, bytes.data() + bytes.size()};
  CommitRecord out;
  out.batch = BatchId(static_cast<int64_t>(r.U()));
  if (version >= 2) {
    const uint64_t n = r.U();
    if (!r.ok || n > bytes.size()) return Err(Status::Corruption("malformed commit record"));
    for (uint64_t i = 0; i < n && r.ok; ++i) {
      PartitionMark m;
      m.partition = PartitionId(static_cast<int32_t>(r.U()));
      m.offset = Offset(static_cast<int64_t>(r.U()));
      m.fingerprint = r.Fixed32();
      out.marks.push_back(m);
    }
  }
  if (!r.ok || r.p != r.end) return Err(Status::Corruption("malformed commit record"));
  return out;
}

Result<BatchId> DecodeCommit(std::string_view bytes) {
  ONCEFLOW_ASSIGN_OR_RETURN(CommitRecord record, DecodeCommitRecord(bytes));
  return record.batch;
}

}  // namespace onceflow::checkpoint
