// JsonWriter: builds a JSON text by appending, for the UI's API answers. Commas between
// members and elements are placed by the writer; the caller opens and closes in order.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

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

  // Appends `s` escaped for a JSON string. Bytes that are not valid UTF-8 (a raw record of any
  // bytes) become U+FFFD, so that the answer is always valid JSON.
  static void Escape(std::string_view s, std::string* out) {
    for (size_t i = 0; i < s.size();) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '"' || c == '\\') {
        *out += '\\';
        *out += static_cast<char>(c);
        ++i;
      } else if (c < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        *out += buf;
        ++i;
      } else if (c < 0x80) {
        *out += static_cast<char>(c);
        ++i;
      } else {
        const size_t n = Utf8SequenceLength(s.substr(i));
        if (n == 0) {
          *out += "\\ufffd";
          ++i;
        } else {
          out->append(s.substr(i, n));
          i += n;
        }
      }
    }
  }

 private:
  // The length of the valid UTF-8 sequence at the start of `s` (a lead byte >= 0x80), or 0.
  static size_t Utf8SequenceLength(std::string_view s) {
    const unsigned char c = static_cast<unsigned char>(s[0]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4, cp = c & 0x07;
    } else {
      return 0;
    }
    if (s.size() < n) return 0;
    for (size_t k = 1; k < n; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[k]);
      if ((d & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (d & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not valid UTF-8.
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return 0;
    }
    return n;
  }

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
  void AppendString(std::string_view s) {
    out_ += '"';
    Escape(s, &out_);
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;  // per open container: no member or element written yet
  bool after_key_ = false;
};

}  // namespace onceflow::ui
