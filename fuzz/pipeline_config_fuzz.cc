// libFuzzer target for a pipeline's TOML file read into a validated PipelineConfig
// (ParsePipelineConfig: toml++, the key-by-key reader, the validator), and for the two small
// languages inside it: filter conditions (ParseCondition, ParseWhere with expressions: the
// expression language alone is expression_fuzz's) and aggregate functions
// (ParseAggregateFunction). Built and run by scripts/fuzz.sh.
//
// Input: one mode byte, then the rest.
//   mode even: the rest is a pipeline file. A refusal must be one invalid_argument line that
//     starts with the file's name; a config that is read must pass Validate again, and each of
//     its filter conditions must print (ConditionToString) to text that parses back equal.
//   mode odd: the rest is one condition and one aggregate function: what parses must print and
//     parse back equal (conditions).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/aggregate_function.h"
#include "config/condition.h"
#include "config/pipeline_config.h"
#include "config/validator.h"
#include "fuzz_check.h"

namespace onceflow::config {
namespace {

constexpr const char* kPath = "/fuzz/pipeline.toml";

// Values compared as their bytes where they are floats: a NaN literal equals itself.
bool SameLiteral(const Value& a, const Value& b) {
  if (a.index() != b.index()) return false;
  if (const double* d = std::get_if<double>(&a)) {
    const double e = std::get<double>(b);
    return (*d != *d && e != e) || *d == e;
  }
  return a == b;
}

void CheckConditionRoundTrip(const TransformConfig::Condition& c) {
  const std::string text = ConditionToString(c);
  auto back = ParseWhere(text);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->expression == c.expression);
  FUZZ_CHECK(back->field == c.field);
  FUZZ_CHECK(back->op == c.op);
  FUZZ_CHECK(SameLiteral(back->literal, c.literal));
  FUZZ_CHECK(ConditionToString(*back) == text);
}

// One line, "<file>: ..." or "<file>:<line>:<column>: ...".
void CheckErrorLine(const Status& s) {
  FUZZ_CHECK(s.IsInvalidArgument());
  const std::string& m = s.message();
  FUZZ_CHECK(m.find('\n') == std::string::npos);
  FUZZ_CHECK(m.starts_with(std::string(kPath) + ":"));
}

void FuzzFile(std::string_view text) {
  auto config = ParsePipelineConfig(text, kPath);
  if (!config.has_value()) return CheckErrorLine(config.error());
  FUZZ_CHECK(config->file == kPath);
  const Status again = Validate(*config);
  FUZZ_CHECK(again.ok());
  for (const TransformConfig& t : config->transforms) {
    for (const TransformConfig::Condition& c : t.conditions) CheckConditionRoundTrip(c);
    if (t.type == TransformConfig::Type::kAggregate) {
      FUZZ_CHECK(!t.aggregate.key.empty());
      FUZZ_CHECK(!t.aggregate.aggregates.empty());
    }
  }
}

void FuzzLanguages(std::string_view text) {
  if (auto c = ParseCondition(text); c.has_value()) {
    CheckConditionRoundTrip(*c);
  }
  if (auto c = ParseWhere(text); c.has_value()) {
    CheckConditionRoundTrip(*c);
  }
  if (auto a = ParseAggregateFunction(text); a.has_value()) {
    FUZZ_CHECK(a->name.empty());
    FUZZ_CHECK((a->function == AggregateConfig::Function::kCount) == a->field.empty());
  }
}

}  // namespace
}  // namespace onceflow::config

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    onceflow::config::FuzzLanguages(rest);
  } else {
    onceflow::config::FuzzFile(rest);
  }
  return 0;
}
