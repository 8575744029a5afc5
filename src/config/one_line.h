// OneLine: a config error quoting the user's text (a value, a key, a condition) stays one line.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace onceflow::config {

// `text` with its control characters written as escapes ("\n", "\r", "\t", "\x01"), so that a
// message holding a value such as "a\nb" is still one line (STYLE: bad input gives one clear
// line). Other bytes are kept as they are.
inline std::string OneLine(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace onceflow::config
