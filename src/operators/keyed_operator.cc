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

std::string LateMessage(int64_t event_time, int64_t watermark_ms, BatchId batch) {
  return "late record: event time " + std::to_string(event_time) + " is before the watermark " +
         std::to_string(watermark_ms) + " of batch " + batch.ToString();
}

}  // namespace onceflow::operators
