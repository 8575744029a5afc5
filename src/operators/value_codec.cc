// Value and Row encodings for the state store.
#include "operators/value_codec.h"

#include <cstring>

#include "util/coding.h"

namespace onceflow::operators {

void EncodeValue(std::string* dst, const Value& v) {
  switch (v.index()) {
    case 0: dst->push_back(0); break;
    case 1: dst->push_back(std::get<bool>(v) ? 2 : 1); break;
    case 2:
      dst->push_back(3);
      coding::PutFixed64(dst, static_cast<uint64_t>(std::get<int64_t>(v)));
      break;
    case 3: {
      dst->push_back(4);
      uint64_t bits;
      const double d = std::get<double>(v);
      std::memcpy(&bits, &d, 8);
      coding::PutFixed64(dst, bits);
      break;
    }
    default: {
      const std::string& s = std::get<std::string>(v);
      dst->push_back(5);
      coding::PutVarint64(dst, s.size());
      dst->append(s);
    }
  }
}

bool DecodeValue(const char** p, const char* end, Value* v) {
  if (*p >= end) return false;
  const char tag = *(*p)++;
  switch (tag) {
    case 0: *v = std::monostate(); return true;
    case 1:
    case 2: *v = tag == 2; return true;
    case 3:
    case 4: {
      if (end - *p < 8) return false;
      const uint64_t bits = coding::DecodeFixed64(*p);
      *p += 8;
      if (tag == 3) {
        *v = static_cast<int64_t>(bits);
      } else {
        double d;
        std::memcpy(&d, &bits, 8);
        *v = d;
      }
      return true;
    }
    case 5: {
      uint64_t n = 0;
      const char* q = coding::DecodeVarint64(*p, end, &n);
      if (q == nullptr || static_cast<uint64_t>(end - q) < n) return false;
      *v = std::string(q, n);
      *p = q + n;
      return true;
    }
    default: return false;
  }
}

void EncodeRow(std::string* dst, const Row& row) {
  coding::PutVarint64(dst, row.size());
  for (const auto& [name, value] : row.fields()) {
    coding::PutVarint64(dst, name.size());
    dst->append(name);
    EncodeValue(dst, value);
  }
}

Result<Row> DecodeRow(std::string_view bytes) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  uint64_t n = 0;
  if ((p = coding::DecodeVarint64(p, end, &n)) == nullptr || n > bytes.size()) {
    return Err(Status::Corruption("state: malformed row"));
  }
  Row row;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t len = 0;
    if ((p = coding::DecodeVarint64(p, end, &len)) == nullptr ||
        static_cast<uint64_t>(end - p) < len) {
      return Err(Status::Corruption("state: malformed row"));
    }
    std::string name(p, len);
    p += len;
    Value v;
    if (!DecodeValue(&p, end, &v)) return Err(Status::Corruption("state: malformed row"));
    row.mutable_fields().emplace_back(std::move(name), std::move(v));
  }
  if (p != end) return Err(Status::Corruption("state: malformed row"));
  return row;
}

const char* TypeName(const Value& v) {
  switch (v.index()) {
    case 0: return "null";
    case 1: return "a boolean";
    case 2: return "an integer";
    case 3: return "a float";
    default: return "a string";
  }
}

}  // namespace onceflow::operators
