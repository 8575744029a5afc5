// The DURABLE file: slots, the writer's publish, the reader's read.
#include "log/durable_end.h"

#include <array>

#include "util/coding.h"
#include "util/crc32c.h"

namespace onceflow::log {
namespace {

// How often a reader re-reads a file whose two slots both fail their checksum before calling
// it corrupt: both can only be caught mid-write if the writer published twice during one read.
constexpr int kReadAttempts = 5;

std::string DurablePath(const std::string& dir) { return JoinPath(dir, kDurableEndName); }

}  // namespace

std::string EncodeDurableSlot(const DurableSlot& slot) {
  std::string out(kDurableSlotSize, '\0');
  coding::EncodeFixed64(out.data(), static_cast<uint64_t>(slot.end.value()));
  coding::EncodeFixed32(out.data() + 8, slot.seq);
  coding::EncodeFixed32(out.data() + 12, crc32c::Value(out.data(), 12));
  return out;
}

std::optional<DurableSlot> ParseDurableSlot(std::string_view bytes) {
  if (bytes.size() < kDurableSlotSize) return std::nullopt;
  std::array<char, kDurableSlotSize> b{};
  bytes.copy(b.data(), b.size());
  if (crc32c::Value(b.data(), 12) != coding::DecodeFixed32(b.data() + 12)) return std::nullopt;
  DurableSlot slot;
  slot.end = Offset(static_cast<int64_t>(coding::DecodeFixed64(b.data())));
  slot.seq = coding::DecodeFixed32(b.data() + 8);
  if (slot.end < Offset(0)) return std::nullopt;
  return slot;
}

std::optional<DurableSlot> NewestDurableSlot(std::string_view file_bytes) {
  std::optional<DurableSlot> a = ParseDurableSlot(file_bytes.substr(0, kDurableSlotSize));
  std::optional<DurableSlot> b =
      file_bytes.size() >= kDurableFileSize
          ? ParseDurableSlot(file_bytes.substr(kDurableSlotSize, kDurableSlotSize))
          : std::nullopt;
  if (!a) return b;
  if (!b) return a;
  // Serial-number order: the two slots are consecutive publishes, one apart.
  return static_cast<int32_t>(b->seq - a->seq) > 0 ? b : a;
}

Result<std::unique_ptr<DurableEndWriter>> DurableEndWriter::Open(const std::string& dir,
                                                                 Offset end) {
  const std::string path = DurablePath(dir);
  std::optional<DurableSlot> newest;
  if (auto bytes = ReadFileToString(path); bytes.has_value()) {
    newest = NewestDurableSlot(*bytes);
  } else if (!bytes.error().IsNotFound()) {
    return Err(bytes.error());
  }
  if (!newest) {
    // Created whole, in slot 0, so that a reader never finds the file without a valid slot.
    // The rename makes it appear at once; readers that find no file fall back to the data on
    // disk, which is all durable now (the caller synced it).
    std::string bytes = EncodeDurableSlot({end, 0});
    bytes.resize(kDurableFileSize, '\0');
    ONCEFLOW_RETURN_IF_ERROR(WriteFileAtomically(path, bytes));
    ONCEFLOW_ASSIGN_OR_RETURN(File file, File::Open(path, File::Mode::kReadWrite));
    return std::unique_ptr<DurableEndWriter>(new DurableEndWriter(std::move(file), 0));
  }
  ONCEFLOW_ASSIGN_OR_RETURN(File file, File::Open(path, File::Mode::kReadWrite));
  std::unique_ptr<DurableEndWriter> writer(new DurableEndWriter(std::move(file), newest->seq));
  ONCEFLOW_RETURN_IF_ERROR(writer->Publish(end));
  return writer;
}

Status DurableEndWriter::Publish(Offset end) {
  const uint32_t seq = seq_ + 1;
  ONCEFLOW_RETURN_IF_ERROR(
      file_.WriteAt((seq % 2) * kDurableSlotSize, EncodeDurableSlot({end, seq})));
  seq_ = seq;
  return Status::Ok();
}

Result<std::optional<Offset>> DurableEndReader::Read() {
  if (!file_) {
    auto file = File::Open(DurablePath(dir_), File::Mode::kReadOnly);
    if (!file.has_value()) {
      if (file.error().IsNotFound()) return std::optional<Offset>();
      return Err(file.error());
    }
    file_ = std::move(*file);
  }
  char bytes[kDurableFileSize];
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    ONCEFLOW_ASSIGN_OR_RETURN(size_t got, file_->ReadAt(0, sizeof(bytes), bytes));
    if (std::optional<DurableSlot> slot = NewestDurableSlot(std::string_view(bytes, got))) {
      return std::optional<Offset>(slot->end);
    }
  }
  return Err(Status::Corruption(file_->path() +
                                ": no valid slot (checksum mismatch at bytes 0 and 16); opening "
                                "the partition for writing (e.g. `onceflow produce`) rewrites it"));
}

}  // namespace onceflow::log
