// Row: the engine's unit of data between the source's format and the sink: named fields with
// dynamically typed values (null, bool, integer, double, string), kept in insertion order.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace onceflow {

using Value = std::variant<std::monostate, bool, int64_t, double, std::string>;

// "null", "true", "42", "1.5", or the string itself.
std::string ValueToString(const Value& v);

class Row {
 public:
  using Field = std::pair<std::string, Value>;

  Row() = default;
  Row(std::initializer_list<Field> fields) : fields_(fields) {}

  // Sets a field, replacing a field of the same name or appending a new one.
  void Set(std::string_view name, Value value);
  // The field's value, or nullptr if the row has no such field.
  const Value* Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name) != nullptr; }
  // Removes a field; returns whether it existed.
  bool Remove(std::string_view name);

  // Typed accessors: nullopt when the field is missing or of another type (an integer is
  // accepted as a double).
  std::optional<int64_t> GetInt(std::string_view name) const;
  std::optional<double> GetDouble(std::string_view name) const;
  std::optional<std::string_view> GetString(std::string_view name) const;

  std::span<const Field> fields() const { return fields_; }
  std::vector<Field>& mutable_fields() { return fields_; }
  size_t size() const { return fields_.size(); }

  // A compact JSON object of the fields, for logs, dead letters and tests.
  std::string ToJson() const;

  friend bool operator==(const Row&, const Row&) = default;

 private:
  std::vector<Field> fields_;  // few fields per row: a linear search beats a map
};

}  // namespace onceflow
