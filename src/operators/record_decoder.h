// RecordDecoder: turns a source record into a Row according to the source's format (json,
// csv, raw). A record that does not decode is an error whose message goes to the dead-letter
// table with the record's partition and offset.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "onceflow/ids.h"
#include "onceflow/options.h"
#include "onceflow/record.h"
#include "onceflow/row.h"
#include "onceflow/status.h"

namespace onceflow::operators {

// The formats:
// - json: the record is one JSON object. Scalars map to Values: an integer to int64 (above
//   INT64_MAX: a double), a number with '.' or 'e' to double, true/false, null, a string. A
//   nested object or array is kept as its minified JSON text (a string). A repeated key keeps
//   its first position and its last value. simdjson 3.0 refuses integers outside
//   [INT64_MIN, UINT64_MAX] and numbers beyond double's range as invalid JSON.
// - csv: one RFC 4180 line per record (a trailing "\n" or "\r\n" is ignored); a field in double
//   quotes may hold the delimiter, line breaks and "" for a quote. Values: an empty unquoted
//   field is null; a quoted field is always a string ("" is the empty string, "42" the string
//   42); an unquoted field that is wholly an integer or a finite float is a number, except with
//   a leading zero ("007" stays a string); anything else is a string. The column names are the
//   configured csv_columns, or else each partition's header line (offset 0), whose UTF-8 BOM is
//   dropped; every partition's header must have the same columns (`onceflow produce
//   --csv-header` writes a file's header line first into every partition).
// - raw: {"key": the key, "value": the value} as strings; no "key" field when the record has
//   no key (an empty key is a key).
// Decode reuses the strings *row already holds, so a caller that decodes many records into one
// Row allocates little per record.
//
// Thread-safety: Decode is const and may run from many task threads at once (the JSON parser
// is per thread). SetHeader may run concurrently with Decode of other partitions.
class RecordDecoder {
 public:
  // invalid_argument for a csv delimiter that is not one character (other than '"' or a line
  // break), or csv_columns with an empty or repeated name.
  static Result<std::unique_ptr<RecordDecoder>> Create(const RecordOptions& config);
  virtual ~RecordDecoder() = default;

  // Decodes `record` into *row (cleared first; left empty on an error). Returns false for a
  // record that is not data (a csv header line at offset 0). invalid_argument means the record
  // is bad and says how ("invalid JSON: <simdjson's message>", "JSON record is an array,
  // expected an object", "csv: 3 fields, the header has 4"): dead-letter it. Any other code is
  // not the record's fault (aborted: a csv partition whose header was not set) and must not be
  // dead-lettered.
  virtual Result<bool> Decode(PartitionId partition, Offset offset, const RecordView& record,
                              Row* row) const = 0;

  // csv without configured columns: the header line of a partition (its record at offset 0),
  // given by the engine before any Decode of that partition; a second call replaces it.
  // invalid_argument for a header that does not parse or has an empty or repeated column name,
  // and for one whose columns differ from another partition's header (the partitions of a
  // topic hold one kind of row: a different "header" is a data row taken for one, never a
  // guess). Other formats ignore it.
  virtual Status SetHeader(PartitionId partition, std::string_view header_line) {
    return Status::Ok();
  }
  // csv without configured columns: the columns of the headers set so far (they are all the
  // same), empty before the first SetHeader.
  virtual std::vector<std::string> HeaderColumns() const { return {}; }
  // Whether the engine must read offset 0 of each partition and call SetHeader.
  virtual bool needs_header() const { return false; }
};

}  // namespace onceflow::operators
