// Rows between the engine and Python: a Row is a dict of its fields (in order), a Value one of
// None, bool, int, float, str (or bytes, for a string that is not UTF-8). Every function here
// REQUIRES the GIL.
#pragma once

#include <nanobind/nanobind.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "onceflow/row.h"

namespace onceflow::python {

namespace nb = nanobind;

// A list of dicts, one per row. Field names repeat from row to row: their str objects are made
// once per call.
nb::list RowsToList(std::span<const Row> rows);
nb::dict RowToDict(const Row& row);

// Converts a dict to *out. Returns nullopt, or one line naming what does not fit (a value of an
// unsupported type names the field and the type; an object that is not a dict names its type).
std::optional<std::string> DictToRow(nb::handle obj, Row* out);

// repr() of a Python object, cut to a few hundred characters, for a dead letter.
std::string ShortRepr(nb::handle obj);

}  // namespace onceflow::python
