// JsonWriter: builds a JSON text by appending, for the UI's API answers. Commas between
// members and elements are placed by the writer; the caller opens and closes in order.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "util/json_escape.h"

namespace onceflow::ui {

// Not thread-safe; one answer per writer. Keys and strings are escaped (RFC 8259); a double
// that is not finite is written as null.
class JsonWriter {
 public:
  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }

  // The key of the next member. REQUIRES: inside an object.
  JsonWriter& Key(std::string_view key) {
    Separate();
    AppendString(key);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  JsonWriter& String(std::string_view s) {
    Separate();
    AppendString(s);
    return *this;
  }
  JsonWriter& Int(int64_t v) {
    Separate();
    out_ += std::to_string(v);
    return *this;
  }
  JsonWriter& Double(double v) {
    Separate();
    if (!std::isfinite(v)) {
      out_ += "null";
      return *this;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.17g", v);
    out_ += buf;
    return *this;
  }
  JsonWriter& Bool(bool v) {
    Separate();
    out_ += v ? "true" : "false";
    return *this;
  }
  JsonWriter& Null() {
    Separate();
    out_ += "null";
    return *this;
  }
  // A value that is already JSON text (e.g. an object rendered elsewhere).
  JsonWriter& Raw(std::string_view json) {
    Separate();
    out_ += json;
    return *this;
  }

  // Member shorthands.
  JsonWriter& Member(std::string_view key, std::string_view v) { return Key(key).String(v); }
  JsonWriter& Member(std::string_view key, const char* v) { return Key(key).String(v); }
  JsonWriter& Member(std::string_view key, const std::string& v) { return Key(key).String(v); }
  JsonWriter& Member(std::string_view key, int64_t v) { return Key(key).Int(v); }
  JsonWriter& Member(std::string_view key, int32_t v) { return Key(key).Int(v); }
  JsonWriter& Member(std::string_view key, double v) { return Key(key).Double(v); }
  JsonWriter& Member(std::string_view key, bool v) { return Key(key).Bool(v); }

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  JsonWriter& Open(char c) {
    Separate();
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  JsonWriter& Close(char c) {
    out_ += c;
    first_.pop_back();
    return *this;
  }
  // A comma before every member or element but the first of its container; none right after a
  // key.
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
  // Bytes that are not valid UTF-8 (a raw record of any bytes) become U+FFFD, so that the
  // answer is always valid JSON.
  void AppendString(std::string_view s) { AppendJsonString(&out_, s, InvalidUtf8::kReplace); }

  std::string out_;
  std::vector<bool> first_;  // per open container: no member or element written yet
  bool after_key_ = false;
};

}  // namespace onceflow::ui
