// A Row as JSON text.
#include "util/row_json.h"

#include <charconv>
#include <variant>

#include "util/json_escape.h"

namespace onceflow {

// Strings keep bytes that are not UTF-8: this text is sink output and dead letters, data that
// must not be altered.
void AppendRowJson(std::string* out, const Row& row) {
  out->push_back('{');
  bool first = true;
  for (const auto& [name, value] : row.fields()) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, name, InvalidUtf8::kKeep);
    out->push_back(':');
    if (const auto* s = std::get_if<std::string>(&value)) {
      AppendJsonString(out, *s, InvalidUtf8::kKeep);
    } else if (const auto* n = std::get_if<int64_t>(&value)) {
      // What ValueToString writes (std::to_string), without a string per value.
      char buf[24];
      out->append(buf, std::to_chars(buf, buf + sizeof buf, *n).ptr);
    } else if (const auto* d = std::get_if<double>(&value)) {
      // What ValueToString writes (printf's "%.17g": to_chars with a precision is specified
      // to write what printf does), without printf's format parsing.
      char buf[40];
      out->append(buf,
                  std::to_chars(buf, buf + sizeof buf, *d, std::chars_format::general, 17).ptr);
    } else {
      out->append(ValueToString(value));
    }
  }
  out->push_back('}');
}

}  // namespace onceflow
