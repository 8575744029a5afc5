// Key encoding shared by the keyed operators.
#include "engine/keyed_operator.h"

#include "engine/value_codec.h"

namespace onceflow::engine {

Result<std::string> EncodeKey(const Row& row, const std::vector<std::string>& fields) {
  std::string key;
  for (const std::string& f : fields) {
    const Value* v = row.Get(f);
    if (v == nullptr) return Err(Status::InvalidArgument("key field '" + f + "' is missing"));
    EncodeValue(&key, *v);
  }
  return key;
}

std::string LateMessage(int64_t event_time, int64_t watermark_ms, BatchId batch) {
  return "late record: event time " + std::to_string(event_time) + " is before the watermark " +
         std::to_string(watermark_ms) + " of batch " + batch.ToString();
}

}  // namespace onceflow::engine
