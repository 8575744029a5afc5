// Row and Value helpers.
#include "onceflow/row.h"

#include <cinttypes>
#include <cstdio>

#include "util/row_json.h"

namespace onceflow {

std::string ValueToString(const Value& v) {
  switch (v.index()) {
    case 0: return "null";
    case 1: return std::get<bool>(v) ? "true" : "false";
    case 2: return std::to_string(std::get<int64_t>(v));
    case 3: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", std::get<double>(v));
      return buf;
    }
    default: return std::get<std::string>(v);
  }
}

void Row::Set(std::string_view name, Value value) {
  for (Field& f : fields_) {
    if (f.first == name) {
      f.second = std::move(value);
      return;
    }
  }
  fields_.emplace_back(std::string(name), std::move(value));
}

const Value* Row::Get(std::string_view name) const {
  for (const Field& f : fields_) {
    if (f.first == name) return &f.second;
  }
  return nullptr;
}

bool Row::Remove(std::string_view name) {
  for (auto it = fields_.begin(); it != fields_.end(); ++it) {
    if (it->first == name) {
      fields_.erase(it);
      return true;
    }
  }
  return false;
}

std::optional<int64_t> Row::GetInt(std::string_view name) const {
  const Value* v = Get(name);
  if (v == nullptr || !std::holds_alternative<int64_t>(*v)) return std::nullopt;
  return std::get<int64_t>(*v);
}

std::optional<double> Row::GetDouble(std::string_view name) const {
  const Value* v = Get(name);
  if (v == nullptr) return std::nullopt;
  if (std::holds_alternative<double>(*v)) return std::get<double>(*v);
  if (std::holds_alternative<int64_t>(*v)) return static_cast<double>(std::get<int64_t>(*v));
  return std::nullopt;
}

std::optional<std::string_view> Row::GetString(std::string_view name) const {
  const Value* v = Get(name);
  if (v == nullptr || !std::holds_alternative<std::string>(*v)) return std::nullopt;
  return std::string_view(std::get<std::string>(*v));
}

std::string Row::ToJson() const {
  std::string out;
  AppendRowJson(&out, *this);
  return out;
}

}  // namespace onceflow
