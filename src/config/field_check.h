// The check that the fields the transforms need can exist in the source's rows.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "onceflow/status.h"

namespace onceflow::config {

// Checks, before any record is read, that every field the transforms of `configs` (and an
// aggregate last among them) need can exist when the rows the source decodes have at most the
// fields `columns` (csv: its columns; raw: key and value). A field that can never exist is
// invalid_argument "<key>: field 'f' can never exist: the rows have a, b here (<source>)",
// <key> naming the config key, e.g. "transform[1].where[0]". Transforms that read missing
// fields as null need nothing.
// `source` says where the columns come from, for the message ("source.csv_columns").
Status CheckFieldsExist(const std::vector<TransformConfig>& configs,
                        const std::vector<std::string>& columns, std::string_view source);

}  // namespace onceflow::config
