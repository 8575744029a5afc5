// RecordDecoder implementations: JSON (simdjson's DOM parser), CSV (RFC 4180) and raw bytes.
// Decoders write into the caller's Row in place, reusing its strings, so that a caller that
// decodes many records into one Row allocates little per record.
#include "operators/record_decoder.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <utility>

namespace onceflow::operators {
namespace {

// Fills a row's fields in order, overwriting the fields it held before: their names and string
// values keep their capacity. Finish() drops the left-over fields.
class RowFiller {
 public:
  // `expected_fields`: how many fields the row will likely have, to allocate them at once.
  RowFiller(Row* row, size_t expected_fields) : fields_(row->mutable_fields()) {
    if (fields_.capacity() < expected_fields) fields_.reserve(expected_fields);
  }

  // The value slot of a new field `name`. With `check_repeats`, a name seen before in this row
  // returns that field's slot instead (the later value wins, as in Row::Set).
  Value& Add(std::string_view name, bool check_repeats) {
    if (check_repeats) {
      for (size_t i = 0; i < size_; ++i) {
        if (fields_[i].first == name) return fields_[i].second;
      }
    }
    if (size_ < fields_.size()) {
      fields_[size_].first.assign(name);
    } else {
      fields_.emplace_back(std::string(name), Value());
    }
    return fields_[size_++].second;
  }

  void Finish() { fields_.resize(size_); }

 private:
  std::vector<Row::Field>& fields_;
  size_t size_ = 0;
};

void SetString(Value* value, std::string_view s) {
  if (std::string* str = std::get_if<std::string>(value)) {
    str->assign(s);
  } else {
    value->emplace<std::string>(s);
  }
}

// ---- JSON ----

// A simdjson parser is not thread-safe and keeps its buffers between documents: one per thread.
// simdjson reads up to SIMDJSON_PADDING bytes past the end of its input, so records are copied
// into a buffer with that much room.
struct JsonThreadState {
  simdjson::dom::parser parser;
  std::string padded;
};

JsonThreadState& ThreadJsonState() {
  thread_local JsonThreadState state;
  return state;
}

const char* JsonTypeName(simdjson::dom::element_type type) {
  switch (type) {
    case simdjson::dom::element_type::ARRAY: return "an array";
    case simdjson::dom::element_type::OBJECT: return "an object";
    case simdjson::dom::element_type::STRING: return "a string";
    case simdjson::dom::element_type::BOOL: return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
    default: return "a number";
  }
}

class JsonDecoder final : public RecordDecoder {
 public:
  Result<bool> Decode(PartitionId partition, Offset offset, const RecordView& record,
                      Row* row) const override {
    JsonThreadState& state = ThreadJsonState();
    const size_t size = record.value.size();
    if (state.padded.size() < size + simdjson::SIMDJSON_PADDING) {
      state.padded.resize(size + simdjson::SIMDJSON_PADDING);
    }
    if (size > 0) std::memcpy(state.padded.data(), record.value.data(), size);
    simdjson::dom::element root;
    simdjson::error_code error = state.parser.parse(state.padded.data(), size, false).get(root);
    if (error != simdjson::SUCCESS) {
      row->mutable_fields().clear();
      return Err(
          Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(error)));
    }
    simdjson::dom::object object;
    if (root.get_object().get(object) != simdjson::SUCCESS) {
      row->mutable_fields().clear();
      return Err(Status::InvalidArgument(std::string("JSON record is ") +
                                         JsonTypeName(root.type()) + ", expected an object"));
    }
    RowFiller filler(row, object.size());
    for (simdjson::dom::key_value_pair field : object) {
      Value& value = filler.Add(field.key, /*check_repeats=*/true);
      simdjson::dom::element element = field.value;
      switch (element.type()) {
        case simdjson::dom::element_type::INT64: value = element.get_int64().value_unsafe(); break;
        case simdjson::dom::element_type::UINT64:
          // Only integers above INT64_MAX are UINT64: they do not fit an int64.
          value = static_cast<double>(element.get_uint64().value_unsafe());
          break;
        case simdjson::dom::element_type::DOUBLE:
          value = element.get_double().value_unsafe();
          break;
        case simdjson::dom::element_type::BOOL: value = element.get_bool().value_unsafe(); break;
        case simdjson::dom::element_type::NULL_VALUE: value = std::monostate(); break;
        case simdjson::dom::element_type::STRING:
          SetString(&value, element.get_string().value_unsafe());
          break;
        case simdjson::dom::element_type::ARRAY:
        case simdjson::dom::element_type::OBJECT:
          SetString(&value, simdjson::minify(element));
          break;
      }
    }
    filler.Finish();
    return true;
  }
};

// ---- CSV ----

// Splits one CSV record (RFC 4180: a field in double quotes may hold the delimiter, line breaks
// and "" for a quote) and calls emit(index, text, quoted) for each field in order. `text` may
// point into `line` or into *scratch, and is valid only during the call. Returns the number of
// fields.
template <typename Emit>
Result<size_t> SplitCsv(std::string_view line, char delimiter, std::string* scratch, Emit&& emit) {
  size_t count = 0;
  size_t pos = 0;
  while (true) {
    if (pos < line.size() && line[pos] == '"') {
      const size_t start = pos + 1;
      size_t i = start;
      bool escaped = false;
      size_t close;
      while (true) {
        close = line.find('"', i);
        if (close == std::string_view::npos) {
          return Err(Status::InvalidArgument("csv: field " + std::to_string(count + 1) +
                                             " has no closing quote"));
        }
        if (close + 1 < line.size() && line[close + 1] == '"') {
          if (!escaped) scratch->clear();
          escaped = true;
          scratch->append(line.substr(i, close + 1 - i));  // the text and one quote
          i = close + 2;
          continue;
        }
        break;
      }
      if (escaped) {
        scratch->append(line.substr(i, close - i));
        emit(count, std::string_view(*scratch), true);
      } else {
        emit(count, line.substr(start, close - start), true);
      }
      ++count;
      pos = close + 1;
      if (pos == line.size()) return count;
      if (line[pos] != delimiter) {
        return Err(Status::InvalidArgument("csv: field " + std::to_string(count) +
                                           ": unexpected '" + std::string(1, line[pos]) +
                                           "' after the closing quote"));
      }
      ++pos;
    } else {
      size_t end = line.find(delimiter, pos);
      emit(count, line.substr(pos, end == std::string_view::npos ? end : end - pos), false);
      ++count;
      if (end == std::string_view::npos) return count;
      pos = end + 1;
    }
  }
}

// Drops one trailing line break ("\n" or "\r\n"): records are often stored as lines.
std::string_view TrimLineBreak(std::string_view line) {
  if (line.ends_with('\n')) line.remove_suffix(1);
  if (line.ends_with('\r')) line.remove_suffix(1);
  return line;
}

// Stores an unquoted CSV field: empty is null; an integer or a float spelled as the whole field
// is a number, except with a leading zero ("007" stays a string, as zip codes and ids do).
void SetCsvValue(Value* value, std::string_view text) {
  if (text.empty()) {
    *value = std::monostate();
    return;
  }
  std::string_view digits = text.starts_with('-') ? text.substr(1) : text;
  bool numeric = !digits.empty() &&
                 (std::isdigit(static_cast<unsigned char>(digits[0])) || digits[0] == '.') &&
                 text.find_first_not_of("0123456789+-.eE") == std::string_view::npos &&
                 !(digits.size() > 1 && digits[0] == '0' &&
                   std::isdigit(static_cast<unsigned char>(digits[1])));
  if (numeric) {
    const char* end = text.data() + text.size();
    int64_t i = 0;
    auto [iptr, iec] = std::from_chars(text.data(), end, i);
    if (iec == std::errc() && iptr == end) {
      *value = i;
      return;
    }
    double d = 0;
    auto [dptr, dec] = std::from_chars(text.data(), end, d);
    if (dec == std::errc() && dptr == end && std::isfinite(d)) {
      *value = d;
      return;
    }
  }
  SetString(value, text);
}

class CsvDecoder final : public RecordDecoder {
 public:
  CsvDecoder(char delimiter, std::vector<std::string> columns)
      : delimiter_(delimiter), columns_(std::move(columns)) {}

  Result<bool> Decode(PartitionId partition, Offset offset, const RecordView& record,
                      Row* row) const override {
    if (!columns_.empty()) return DecodeWith(columns_, record.value, row);
    if (offset.value() == 0) {
      row->mutable_fields().clear();
      return false;  // The header line.
    }
    std::shared_lock lock(mu_);
    auto it = headers_.find(partition);
    if (it == headers_.end()) {
      row->mutable_fields().clear();
      // Not the record's fault: the caller did not give the header. Not invalid_argument, so
      // that the record is not dead-lettered.
      return Err(Status::Aborted("csv: no header for partition " + partition.ToString() +
                                 " (SetHeader was not called)"));
    }
    return DecodeWith(it->second, record.value, row);
  }

  Status SetHeader(PartitionId partition, std::string_view header_line) override {
    if (!columns_.empty()) return Status::Ok();
    header_line = TrimLineBreak(header_line);
    if (header_line.starts_with("\xEF\xBB\xBF")) header_line.remove_prefix(3);  // A UTF-8 BOM.
    std::vector<std::string> columns;
    std::string scratch;
    Result<size_t> count =
        SplitCsv(header_line, delimiter_, &scratch,
                 [&](size_t, std::string_view text, bool) { columns.emplace_back(text); });
    if (!count.has_value()) {
      return count.error().WithContext("header of partition " + partition.ToString());
    }
    ONCEFLOW_RETURN_IF_ERROR(
        CheckColumns(columns).WithContext("header of partition " + partition.ToString()));
    std::unique_lock lock(mu_);
    for (const auto& [other, other_columns] : headers_) {
      if (other == partition || other_columns == columns) continue;
      return Status::InvalidArgument(
          "csv: partition " + partition.ToString() + " starts with '" + Join(columns) +
          "' (offset 0) but partition " + other.ToString() + " with the header '" +
          Join(other_columns) +
          "': every partition of a csv topic must start with the same header line, or one of "
          "them is a data row taken for a header. Produce a csv file into a topic of several "
          "partitions with `onceflow produce TOPIC --csv-header < FILE` (its first line becomes "
          "the first record of every partition), or set source.csv_columns for a topic "
          "without header lines");
    }
    headers_[partition] = std::move(columns);
    return Status::Ok();
  }

  std::vector<std::string> HeaderColumns() const override {
    std::shared_lock lock(mu_);
    return headers_.empty() ? std::vector<std::string>() : headers_.begin()->second;
  }

  bool needs_header() const override { return columns_.empty(); }

  // Column names must be non-empty and distinct.
  static Status CheckColumns(const std::vector<std::string>& columns) {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].empty()) {
        return Status::InvalidArgument("csv: column " + std::to_string(i + 1) + " has no name");
      }
      for (size_t j = 0; j < i; ++j) {
        if (columns[j] == columns[i]) {
          return Status::InvalidArgument("csv: column '" + columns[i] + "' appears twice");
        }
      }
    }
    return Status::Ok();
  }

 private:
  std::string Join(const std::vector<std::string>& columns) const {
    std::string text;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) text += delimiter_;
      text += columns[i];
    }
    return text;
  }

  Result<bool> DecodeWith(const std::vector<std::string>& columns, std::string_view line,
                          Row* row) const {
    thread_local std::string scratch;
    RowFiller filler(row, columns.size());
    Result<size_t> count = SplitCsv(TrimLineBreak(line), delimiter_, &scratch,
                                    [&](size_t index, std::string_view text, bool quoted) {
                                      if (index >= columns.size()) return;
                                      Value& value = filler.Add(columns[index], false);
                                      if (quoted) {
                                        SetString(&value, text);
                                      } else {
                                        SetCsvValue(&value, text);
                                      }
                                    });
    filler.Finish();
    if (!count.has_value() || *count != columns.size()) {
      row->mutable_fields().clear();
      if (!count.has_value()) return Err(count.error());
      return Err(Status::InvalidArgument("csv: " + std::to_string(*count) +
                                         " fields, the header has " +
                                         std::to_string(columns.size())));
    }
    return true;
  }

  const char delimiter_;
  const std::vector<std::string> columns_;  // Configured columns; empty: per-partition headers.
  mutable std::shared_mutex mu_;            // Guards headers_: SetHeader may race with Decode.
  std::unordered_map<PartitionId, std::vector<std::string>> headers_;
};

// ---- raw ----

class RawDecoder final : public RecordDecoder {
 public:
  Result<bool> Decode(PartitionId partition, Offset offset, const RecordView& record,
                      Row* row) const override {
    RowFiller filler(row, 2);
    if (record.key.has_value()) SetString(&filler.Add("key", false), *record.key);
    SetString(&filler.Add("value", false), record.value);
    filler.Finish();
    return true;
  }
};

}  // namespace

Result<std::unique_ptr<RecordDecoder>> RecordDecoder::Create(const RecordOptions& config) {
  switch (config.format) {
    case RecordFormat::kJson: return std::make_unique<JsonDecoder>();
    case RecordFormat::kRaw: return std::make_unique<RawDecoder>();
    case RecordFormat::kCsv: break;
  }
  if (config.csv_delimiter.size() != 1 || config.csv_delimiter[0] == '"' ||
      config.csv_delimiter[0] == '\n' || config.csv_delimiter[0] == '\r') {
    return Err(Status::InvalidArgument(
        "csv: the delimiter must be one character other than a quote or a line break, got '" +
        config.csv_delimiter + "'"));
  }
  ONCEFLOW_RETURN_IF_ERROR(CsvDecoder::CheckColumns(config.csv_columns));
  return std::make_unique<CsvDecoder>(config.csv_delimiter[0], config.csv_columns);
}

}  // namespace onceflow::operators
