// The filter condition language of the pipeline file: `field op literal`.
#include "config/condition.h"

#include <charconv>
#include <cmath>
#include <optional>
#include <string>

#include "expr/expression.h"

namespace onceflow::config {
namespace {

// A number literal: an int64 if the whole text is one, else a finite double if the whole text
// is one. Words such as "inf" or "nan" are not numbers here.
std::optional<Value> ParseNumber(std::string_view text) {
  if (text.empty() || text.find_first_not_of("0123456789+-.eE") != std::string_view::npos ||
      text.find_first_of("0123456789") == std::string_view::npos) {
    return std::nullopt;
  }
  const char* end = text.data() + text.size();
  int64_t i = 0;
  auto [iptr, iec] = std::from_chars(text.data(), end, i);
  if (iec == std::errc() && iptr == end) return Value(i);
  double d = 0;
  auto [dptr, dec] = std::from_chars(text.data(), end, d);
  if (dec == std::errc() && dptr == end && std::isfinite(d)) return Value(d);
  return std::nullopt;
}

}  // namespace

Result<TransformConfig::Condition> ParseCondition(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  size_t pos = 0;
  auto skip_spaces = [&] {
    while (pos < text.size() && is_space(text[pos])) ++pos;
  };
  TransformConfig::Condition condition;
  skip_spaces();
  size_t field_begin = pos;
  while (pos < text.size() && !is_space(text[pos]) &&
         std::string_view("=!<>\"'").find(text[pos]) == std::string_view::npos) {
    ++pos;
  }
  condition.field = std::string(text.substr(field_begin, pos - field_begin));
  if (condition.field.empty()) return Err(Status::InvalidArgument("expected a field name first"));
  skip_spaces();
  std::string_view rest = text.substr(pos);
  for (std::string_view op : {"==", "!=", "<=", ">=", "<", ">"}) {
    if (rest.starts_with(op)) {
      condition.op = std::string(op);
      break;
    }
  }
  if (condition.op.empty()) {
    return Err(Status::InvalidArgument("expected an operator (==, !=, <, <=, >, >=) after '" +
                                       condition.field + "'"));
  }
  pos += condition.op.size();
  skip_spaces();
  std::string_view literal = text.substr(pos);
  while (!literal.empty() && is_space(literal.back())) literal.remove_suffix(1);
  if (literal.empty()) {
    return Err(Status::InvalidArgument("expected a value after '" + condition.op + "'"));
  }
  bool ordered = condition.op != "==" && condition.op != "!=";
  if (literal.front() == '"') {
    std::string s;
    size_t i = 1;
    for (; i < literal.size() && literal[i] != '"'; ++i) {
      if (literal[i] == '\\' && i + 1 < literal.size()) ++i;  // \" and \\ stand for " and \.
      s.push_back(literal[i]);
    }
    if (i >= literal.size()) return Err(Status::InvalidArgument("unterminated string"));
    if (i + 1 != literal.size()) {
      return Err(Status::InvalidArgument("unexpected text after the closing quote"));
    }
    condition.literal = std::move(s);
  } else if (literal == "null" || literal == "true" || literal == "false") {
    if (ordered) {
      return Err(Status::InvalidArgument("'" + condition.op + "' needs a number or a string, got " +
                                         std::string(literal)));
    }
    if (literal != "null") condition.literal = (literal == "true");
  } else if (std::optional<Value> number = ParseNumber(literal)) {
    condition.literal = std::move(*number);
  } else {
    return Err(Status::InvalidArgument(
        "expected a number, true, false, null or a \"quoted string\" after '" + condition.op +
        "', got '" + std::string(literal) + "'"));
  }
  return condition;
}

Result<TransformConfig::Condition> ParseWhere(std::string_view text) {
  Result<TransformConfig::Condition> legacy = ParseCondition(text);
  if (legacy.has_value()) return legacy;
  Result<std::unique_ptr<expr::Expression>> e = expr::Expression::Compile(text);
  if (e.has_value()) {
    const expr::Type type = (*e)->type();
    if (type != expr::Type::kBool && type != expr::Type::kAny && type != expr::Type::kNull) {
      return Err(Status::InvalidArgument("column 1: a condition must be BOOLEAN, got " +
                                         std::string(expr::TypeName(type))));
    }
    TransformConfig::Condition condition;
    condition.expression = std::string(text);
    return condition;
  }
  // Both failed. ParseCondition's messages that come after it read a field and an operator
  // ("expected a value after '=='", ...) say more about text written in its form.
  const std::string& m = legacy.error().message();
  if (m.starts_with("expected a field name") || m.starts_with("expected an operator")) {
    return Err(e.error());
  }
  return legacy;
}

std::string ConditionToString(const TransformConfig::Condition& c) {
  if (!c.expression.empty()) return c.expression;
  std::string text = c.field + " " + c.op + " ";
  if (const std::string* s = std::get_if<std::string>(&c.literal)) {
    text += "\"";
    for (char ch : *s) {
      if (ch == '"' || ch == '\\') text += '\\';
      text += ch;
    }
    text += "\"";
  } else if (const double* d = std::get_if<double>(&c.literal)) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), *d);  // shortest round trip
    const std::string_view number(buf, static_cast<size_t>(end - buf));
    text += number;
    // A float with an integral value ("10") would read back as an integer: keep a point.
    if (std::isfinite(*d) && number.find_first_of(".e") == std::string_view::npos) text += ".0";
  } else {
    text += ValueToString(c.literal);
  }
  return text;
}

}  // namespace onceflow::config
