// Intent and commit record encodings.
#include "checkpoint/batch_intent.h"

#include "util/coding.h"

namespace onceflow::checkpoint {
namespace {
// 2 adds max_event_time_ms after the ranges, 3 a varint of flags after it.
constexpr char kIntentVersion = 3;
constexpr uint64_t kCloseWindowsFlag = 1;
constexpr char kCommitVersion = 1;

struct Reader {
  const char* p;
  const char* end;
  bool ok = true;
  uint64_t U() {
    uint64_t v = 0;
    if (ok && (p = coding::DecodeVarint64(p, end, &v)) == nullptr) ok = false;
    return ok ? v : 0;
  }
  int64_t S() { return coding::UnZigZag(U()); }
};

Status VersionError(std::string_view what, char v, int newest) {
  return Status::InvalidArgument(std::string(what) + " record of version " +
                                 std::to_string(static_cast<int>(v)) +
                                 " is not supported by this onceflow (it reads up to version " +
                                 std::to_string(newest) + "): "
                                 "the checkpoint was written by a newer onceflow");
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
  const int version = bytes[0];
  if (version < 1 || version > kIntentVersion) {
    return Err(VersionError("intent", bytes[0], kIntentVersion));
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

std::string EncodeCommit(BatchId batch) {
  std::string out(1, kCommitVersion);
  coding::PutVarint64(&out, static_cast<uint64_t>(batch.value()));
  return out;
}

Result<BatchId> DecodeCommit(std::string_view bytes) {
  if (bytes.empty()) return Err(Status::Corruption("empty commit record"));
  if (bytes[0] != kCommitVersion) return Err(VersionError("commit", bytes[0], kCommitVersion));
  Reader r{bytes.data() + 1, bytes.data() + bytes.size()};
  const uint64_t v = r.U();
  if (!r.ok || r.p != r.end) return Err(Status::Corruption("malformed commit record"));
  return BatchId(static_cast<int64_t>(v));
}

}  // namespace onceflow::checkpoint
