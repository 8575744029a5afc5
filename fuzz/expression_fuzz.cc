// libFuzzer target for the expression language (src/expr/: lexer, parser, type checker,
// compiler, evaluation) and the filter conditions that use it (ParseWhere). Built and run by
// scripts/fuzz.sh.
//
// Input: one mode byte, then the rest.
//   mode even: the rest is an expression. A refusal is invalid_argument "column N: ..." with N
//     inside the text (or one past its end). A compiled expression is evaluated twice on each of
//     a few rows (every value type, NULLs, a missing field): the results are equal, a failure
//     is "column N: ..." likewise, and a value that is not NULL has the static type the checker
//     gave (unless that is ANY; a DOUBLE may come from BIGINT arithmetic only where the type
//     is ANY).
//   mode odd: the rest is a filter condition: what ParseWhere reads prints (ConditionToString)
//     to text that reads back equal.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/condition.h"
#include "expr/expression.h"
#include "fuzz_check.h"

namespace onceflow::expr {
namespace {

// "column N: ..." with 1 <= N <= size + 1.
void CheckColumnMessage(const Status& s, size_t size) {
  FUZZ_CHECK(s.IsInvalidArgument());
  const std::string& m = s.message();
  FUZZ_CHECK(m.starts_with("column "));
  size_t n = 0;
  size_t i = 7;
  for (; i < m.size() && m[i] >= '0' && m[i] <= '9'; ++i) n = n * 10 + (m[i] - '0');
  FUZZ_CHECK(i > 7 && i < m.size() && m[i] == ':');
  FUZZ_CHECK(n >= 1 && n <= size + 1);
}

bool SameValue(const Value& a, const Value& b) {
  if (a.index() != b.index()) return false;
  if (const double* d = std::get_if<double>(&a)) {
    const double e = std::get<double>(b);
    return (*d != *d && e != e) || *d == e;
  }
  return a == b;
}

const Row& RowAt(int i) {
  static const Row kRows[] = {
      {{"a", int64_t{7}},
       {"b", 2.5},
       {"s", std::string("x/y&channel_id=3")},
       {"t", true},
       {"n", Value()},
       {"price", int64_t{1000}},
       {"url", std::string("https://a.b/c/d/e")}},
      {{"a", int64_t{0}},
       {"b", -0.0},
       {"s", std::string()},
       {"t", false},
       {"n", int64_t{1}},
       {"price", INT64_MIN},
       {"url", int64_t{5}}},
      {{"a", std::string("7")}, {"b", Value()}, {"s", int64_t{3}}, {"n", std::string("n")}},
  };
  return kRows[i];
}

void FuzzExpression(std::string_view text) {
  Result<std::unique_ptr<Expression>> e = Expression::Compile(text);
  if (!e.has_value()) return CheckColumnMessage(e.error(), text.size());
  EvalContext ctx;
  for (int r = 0; r < 3; ++r) {
    for (bool missing_as_null : {false, true}) {
      Value first, second;
      Status s1 = (*e)->Evaluate(RowAt(r), missing_as_null, &ctx, &first);
      Status s2 = (*e)->Evaluate(RowAt(r), missing_as_null, &ctx, &second);
      FUZZ_CHECK(s1.ok() == s2.ok());
      if (!s1.ok()) {
        CheckColumnMessage(s1, text.size());
        FUZZ_CHECK(s1.message() == s2.message());
        continue;
      }
      FUZZ_CHECK(SameValue(first, second));
      const Type want = (*e)->type();
      if (want != Type::kAny && first.index() != 0) FUZZ_CHECK(TypeOf(first) == want);
      if (const std::string* str = std::get_if<std::string>(&first)) fuzz::Touch(*str);
    }
  }
}

void FuzzWhere(std::string_view text) {
  auto c = config::ParseWhere(text);
  if (!c.has_value()) return;
  const std::string written = config::ConditionToString(*c);
  auto back = config::ParseWhere(written);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->field == c->field);
  FUZZ_CHECK(back->op == c->op);
  FUZZ_CHECK(back->expression == c->expression);
  FUZZ_CHECK(SameValue(back->literal, c->literal));
}

}  // namespace
}  // namespace onceflow::expr

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    onceflow::expr::FuzzWhere(rest);
  } else {
    onceflow::expr::FuzzExpression(rest);
  }
  return 0;
}
