#include "config/aggregate_function.h"

#include <cctype>
#include <utility>

namespace onceflow::config {

// "count", "sum(field)", "min(field)", "max(field)", "avg(field)".
Result<AggregateConfig::Aggregate> ParseAggregateFunction(std::string_view text) {
  using Function = AggregateConfig::Function;
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  text = trim(text);
  AggregateConfig::Aggregate a;
  if (text == "count" || text == "count()" || text == "count(*)") {
    a.function = Function::kCount;
    return a;
  }
  static constexpr std::pair<std::string_view, Function> kFunctions[] = {{"sum", Function::kSum},
                                                                         {"min", Function::kMin},
                                                                         {"max", Function::kMax},
                                                                         {"avg", Function::kAvg}};
  const size_t open = text.find('(');
  if (open == std::string_view::npos || text.back() != ')') {
    return Err(Status::InvalidArgument(
        "expected count, sum(field), min(field), max(field) or avg(field)"));
  }
  std::string_view name = trim(text.substr(0, open));
  std::string_view field = trim(text.substr(open + 1, text.size() - open - 2));
  for (const auto& [fn_name, fn] : kFunctions) {
    if (name != fn_name) continue;
    if (field.empty()) return Err(Status::InvalidArgument(std::string(name) + "() needs a field"));
    a.function = fn;
    a.field = std::string(field);
    return a;
  }
  return Err(Status::InvalidArgument("unknown function '" + std::string(name) +
                                     "' (expected count, sum, min, max or avg)"));
}

}  // namespace onceflow::config
