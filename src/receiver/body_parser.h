// Parsing of an HTTP request body into record values: newline-separated records, or a JSON
// array (Content-Type: application/json).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "onceflow/status.h"

namespace onceflow::receiver {

// Every line of `body` is a record (a trailing "\r" is removed; the newline after the last line
// is optional, so "a\nb\n" and "a\nb" are both two records). Views point into `body`.
std::vector<std::string_view> SplitLines(std::string_view body);

// A JSON array whose elements are the records: a string element is stored as its (unescaped)
// text, any other element as its minified JSON text. Values are appended to *storage (which
// must outlive the views in *values). invalid_argument says what is wrong and where.
Status ParseJsonArray(std::string_view body, std::vector<std::string>* storage,
                      std::vector<std::string_view>* values);

}  // namespace onceflow::receiver
