// Key encoding shared by the keyed operators.
#include "operators/keyed_operator.h"

#include "operators/value_codec.h"

namespace onceflow::operators {

Status AppendKey(const Row& row, const std::vector<std::string>& fields, std::string* key) {
  for (const std::string& f : fields) {
    const Value* v = row.Get(f);
    if (v == nullptr) return Status::InvalidArgument("key field '" + f + "' is missing");
    EncodeValue(key, *v);
  }
  return Status::Ok();
}

Result<std::string> EncodeKey(const Row& row, const std::vector<std::string>& fields) {
  std::string key;
  ONCEFLOW_RETURN_IF_ERROR(AppendKey(row, fields, &key));
  return key;
}

int32_t StateTaskOf(std::string_view key, int32_t tasks) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : key) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return static_cast<int32_t>(h % static_cast<uint64_t>(tasks));
}

std::string LateMessage(int64_t event_time, int64_t watermark_ms, BatchId batch) {
  return "late record: event time " + std::to_string(event_time) + " is before the watermark " +
         std::to_string(watermark_ms) + " of batch " + batch.ToString();
}

}  // namespace onceflow::operators
