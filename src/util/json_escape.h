// JSON string escaping (RFC 8259), the one implementation every JSON writer of onceflow uses.
#pragma once

#include <string>
#include <string_view>

namespace onceflow {

// What to do with bytes that are not valid UTF-8 (JSON text must be UTF-8).
enum class InvalidUtf8 {
  // Each such byte becomes U+FFFD, so the result is always valid JSON. For text meant to be read
  // by a JSON parser of ours or a person: the UI's answers, history records.
  kReplace,
  // Such bytes are copied as they are, so no byte of the value is lost; a strict JSON parser
  // then rejects the text instead of reading an altered value. For data: rows written to a sink
  // or dead-letter table, values sent to a receiver.
  kKeep,
};

// Appends `s` escaped for the inside of a JSON string (no quotes): `"` and `\` get a backslash;
// \b \f \n \r \t their short forms; other control characters and DEL become \u00XX. Valid
// UTF-8 is copied unchanged; invalid bytes as `invalid` says.
void AppendJsonEscaped(std::string* out, std::string_view s, InvalidUtf8 invalid);

// Appends `s` as a JSON string literal: the escaped text between double quotes.
void AppendJsonString(std::string* out, std::string_view s, InvalidUtf8 invalid);

// The length of the valid UTF-8 sequence at the start of `s`, or 0 if `s` does not start with
// one (overlong forms, surrogates and code points past U+10FFFF are invalid). REQUIRES: `s` is
// not empty.
size_t Utf8SequenceLength(std::string_view s);

}  // namespace onceflow
