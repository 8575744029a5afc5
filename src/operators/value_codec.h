// A compact, order-free binary encoding of Values and Rows, for keys and values in the state
// store (docs/formats/state.md). Deterministic: equal values encode to equal bytes.
#pragma once

#include <string>
#include <string_view>

#include "onceflow/row.h"
#include "onceflow/status.h"

namespace onceflow::operators {

// Appends v: a tag byte (0 null, 1 false, 2 true, 3 int64 LE, 4 double LE bits, 5 string:
// varint length + bytes).
void EncodeValue(std::string* dst, const Value& v);
// Reads a value at *p (advanced past it); false if [*p, end) does not hold one.
bool DecodeValue(const char** p, const char* end, Value* v);

// The name of a value's type in messages: "null", "a boolean", "an integer", "a float",
// "a string".
const char* TypeName(const Value& v);

// A row: varint field count, then (varint name length, name, value) per field.
void EncodeRow(std::string* dst, const Row& row);
Result<Row> DecodeRow(std::string_view bytes);

}  // namespace onceflow::operators
