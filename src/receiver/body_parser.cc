// Body parsing with simdjson's DOM parser.
#include "receiver/body_parser.h"

#include <simdjson.h>

namespace onceflow::receiver {

std::vector<std::string_view> SplitLines(std::string_view body) {
  std::vector<std::string_view> lines;
  while (!body.empty()) {
    const size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.push_back(line);
    body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
  }
  return lines;
}

Status ParseJsonArray(std::string_view body, std::vector<std::string>* storage,
                      std::vector<std::string_view>* values) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto error = parser.parse(body.data(), body.size()).get(doc); error) {
    return Status::InvalidArgument(std::string("malformed JSON body: ") +
                                   simdjson::error_message(error));
  }
  simdjson::dom::array array;
  if (doc.get_array().get(array)) {
    return Status::InvalidArgument("a JSON body must be an array of records, e.g. "
                                   "[\"a\", {\"id\": 1}]");
  }
  const size_t first = storage->size();
  storage->reserve(first + array.size());
  size_t index = 0;
  for (simdjson::dom::element e : array) {
    std::string_view s;
    if (e.is_string()) {
      if (e.get_string().get(s)) {
        return Status::InvalidArgument("JSON element " + std::to_string(index) +
                                       " is not a valid string");
      }
      storage->emplace_back(s);
    } else {
      storage->push_back(simdjson::minify(e));
    }
    ++index;
  }
  // Views are taken only now: the strings no longer move.
  for (size_t i = first; i < storage->size(); ++i) values->push_back((*storage)[i]);
  return Status::Ok();
}

}  // namespace onceflow::receiver
