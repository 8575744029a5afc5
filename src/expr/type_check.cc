// The expression type checker.
#include "expr/type_check.h"

#include <algorithm>
#include <optional>
#include <string_view>

namespace onceflow::expr {
namespace {

struct FunctionSpec {
  std::string_view name;
  size_t min_args;
  size_t max_args;
};

// Every function of the language, alphabetically.
constexpr FunctionSpec kFunctions[] = {
    {"ABS", 1, 1},         {"CEIL", 1, 1},           {"CEILING", 1, 1},
    {"CHAR_LENGTH", 1, 1}, {"COALESCE", 1, 64},      {"CONCAT", 1, 64},
    {"COUNT_CHAR", 2, 2},  {"DATE_FORMAT", 2, 2},    {"DAY", 1, 1},
    {"FLOOR", 1, 1},       {"HOUR", 1, 1},           {"LENGTH", 1, 1},
    {"LOWER", 1, 1},       {"MINUTE", 1, 1},         {"MOD", 2, 2},
    {"MONTH", 1, 1},       {"REGEXP_EXTRACT", 2, 3}, {"SECOND", 1, 1},
    {"SPLIT_INDEX", 3, 3}, {"UPPER", 1, 1},          {"YEAR", 1, 1},
};

bool IsNumeric(Type t) {
  return t == Type::kInt || t == Type::kDouble || t == Type::kAny || t == Type::kNull;
}
bool IsInteger(Type t) { return t == Type::kInt || t == Type::kAny || t == Type::kNull; }
bool IsString(Type t) { return t == Type::kString || t == Type::kAny || t == Type::kNull; }
bool IsBool(Type t) { return t == Type::kBool || t == Type::kAny || t == Type::kNull; }

Status ErrorAt(const Node& node, const std::string& what) {
  return Status::InvalidArgument("column " + std::to_string(node.column) + ": " + what);
}

// The type of a value that is either a or b (CASE, COALESCE), or nullopt if none is.
std::optional<Type> Unify(Type a, Type b) {
  if (a == Type::kNull) return b;
  if (b == Type::kNull || a == b) return a;
  if (a == Type::kAny || b == Type::kAny) return Type::kAny;
  if ((a == Type::kInt && b == Type::kDouble) || (a == Type::kDouble && b == Type::kInt)) {
    return Type::kDouble;
  }
  return std::nullopt;
}

// Whether `op` (a comparison) takes operands of types a and b; the refusal otherwise.
Status CheckComparable(const Node& at, std::string_view op, Type a, Type b) {
  if (a == Type::kNull || b == Type::kNull) {
    return ErrorAt(
        at, "'" + std::string(op) + " NULL' is never true in SQL: use IS NULL or IS NOT NULL");
  }
  const bool ordered = op != "=" && op != "!=" && op != "IN";
  if (ordered && (a == Type::kBool || b == Type::kBool)) {
    return ErrorAt(at, "'" + std::string(op) + "' needs numbers or strings, got BOOLEAN");
  }
  if (a == Type::kAny || b == Type::kAny || a == b) return Status::Ok();
  if (IsNumeric(a) && IsNumeric(b)) return Status::Ok();
  return ErrorAt(
      at, "cannot compare " + std::string(TypeName(a)) + " with " + std::string(TypeName(b)));
}

Status CheckArgument(const Node& call, size_t index, bool ok, std::string_view wanted) {
  if (ok) return Status::Ok();
  const Node& arg = *call.children[index];
  return ErrorAt(arg, call.op + "'s argument " + std::to_string(index + 1) + " must be " +
                          std::string(wanted) + ", got " + std::string(TypeName(arg.type)));
}

Status CheckCall(Node* n) {
  const FunctionSpec* spec = nullptr;
  for (const FunctionSpec& f : kFunctions) {
    if (f.name == n->op) spec = &f;
  }
  if (spec == nullptr) {
    return ErrorAt(*n, "unknown function " + n->op + " (known: " + KnownFunctions() + ")");
  }
  const size_t argc = n->children.size();
  if (argc < spec->min_args || argc > spec->max_args) {
    std::string want = std::to_string(spec->min_args);
    if (spec->max_args != spec->min_args) {
      want += spec->max_args > 3 ? " or more" : " or " + std::to_string(spec->max_args);
    }
    return ErrorAt(*n, n->op + " takes " + want + " argument" + (spec->max_args == 1 ? "" : "s") +
                           ", got " + std::to_string(argc));
  }
  auto type = [&](size_t i) { return n->children[i]->type; };
  const std::string_view f = n->op;
  if (f == "LOWER" || f == "UPPER") {
    ONCEFLOW_RETURN_IF_ERROR(CheckArgument(*n, 0, IsString(type(0)), "a VARCHAR"));
    n->type = Type::kString;
  } else if (f == "LENGTH" || f == "CHAR_LENGTH") {
    ONCEFLOW_RETURN_IF_ERROR(CheckArgument(*n, 0, IsString(type(0)), "a VARCHAR"));
    n->type = Type::kInt;
  } else if (f == "COUNT_CHAR") {
    ONCEFLOW_RETURN_IF_ERROR(CheckArgument(*n, 0, IsString(type(0)), "a VARCHAR"));
    ONCEFLOW_RETURN_IF_ERROR(CheckArgument(*n, 1, IsString(type(1)), "a VARCHAR"));
    n->type = Type::kInt;
  } else if (f == "SPLIT_INDEX") {
    ONCEFLOW_RETURN_IF_ERROR(CheckArgument(*n, 0, IsString(type(0)), "a VARCHAR"));
    ONCEFLOW_RETURN_IF_ERROR(CheckArgument(*n, 1, IsString(type(1)), "a VARCHAR"));
    ONCEFLOW_RETURN_IF_ERROR(CheckArgument(*n, 2, IsInteger(type(2)), "a BIGINT"));
    n->type = Type::kString;
  } else if (f == "REGEXP_EXTRACT") {
    ONCEFLOW_RETURN_IF_ERROR(CheckArgument(*n, 0, IsString(type(0)), "a VARCHAR"));
    const Node& pattern = *n->children[1];
    if (pattern.kind != Node::Kind::kLiteral || pattern.type != Type::kString) {
      return ErrorAt(pattern, "REGEXP_EXTRACT's pattern must be a string literal (it is "
                              "compiled once, at start)");
    }
    if (argc == 3) {
      ONCEFLOW_RETURN_IF_ERROR(CheckArgument(*n, 2, IsInteger(type(2)), "a BIGINT"));
    }
    n->type = Type::kString;
  } else if (f == "MOD") {
    ONCEFLOW_RETURN_IF_ERROR(CheckArgument(*n, 0, IsNumeric(type(0)), "a number"));
    ONCEFLOW_RETURN_IF_ERROR(CheckArgument(*n, 1, IsNumeric(type(1)), "a number"));
    n->type = type(0) == Type::kAny || type(1) == Type::kAny         ? Type::kAny
              : type(0) == Type::kDouble || type(1) == Type::kDouble ? Type::kDouble
                                                                     : Type::kInt;
  } else if (f == "ABS" || f == "FLOOR" || f == "CEIL" || f == "CEILING") {
    ONCEFLOW_RETURN_IF_ERROR(CheckArgument(*n, 0, IsNumeric(type(0)), "a number"));
    n->type = type(0) == Type::kNull ? Type::kInt : type(0);
  } else if (f == "COALESCE") {
    Type t = Type::kNull;
    for (size_t i = 0; i < argc; ++i) {
      std::optional<Type> u = Unify(t, type(i));
      if (!u.has_value()) {
        return ErrorAt(*n->children[i], "COALESCE's arguments have types " +
                                            std::string(TypeName(t)) + " and " +
                                            std::string(TypeName(type(i))));
      }
      t = *u;
    }
    n->type = t;
  } else if (f == "CONCAT") {
    n->type = Type::kString;
  } else if (f == "DATE_FORMAT") {
    ONCEFLOW_RETURN_IF_ERROR(
        CheckArgument(*n, 0, IsInteger(type(0)), "a BIGINT (milliseconds since the epoch)"));
    const Node& format = *n->children[1];
    if (format.kind != Node::Kind::kLiteral || format.type != Type::kString) {
      return ErrorAt(format, "DATE_FORMAT's format must be a string literal");
    }
    n->type = Type::kString;
  } else {  // YEAR MONTH DAY HOUR MINUTE SECOND
    ONCEFLOW_RETURN_IF_ERROR(
        CheckArgument(*n, 0, IsInteger(type(0)), "a BIGINT (milliseconds since the epoch)"));
    n->type = Type::kInt;
  }
  return Status::Ok();
}

Status Check(Node* n) {
  for (auto& child : n->children) ONCEFLOW_RETURN_IF_ERROR(Check(child.get()));
  auto child_type = [&](size_t i) { return n->children[i]->type; };
  switch (n->kind) {
    case Node::Kind::kLiteral: n->type = TypeOf(n->literal); return Status::Ok();
    case Node::Kind::kField: n->type = Type::kAny; return Status::Ok();
    case Node::Kind::kUnary:
      if (n->op == "NOT") {
        if (!IsBool(child_type(0))) {
          return ErrorAt(*n, "NOT needs a BOOLEAN, got " + std::string(TypeName(child_type(0))));
        }
        n->type = Type::kBool;
      } else {
        if (!IsNumeric(child_type(0))) {
          return ErrorAt(*n, "'-' needs a number, got " + std::string(TypeName(child_type(0))));
        }
        n->type = child_type(0) == Type::kNull ? Type::kInt : child_type(0);
      }
      return Status::Ok();
    case Node::Kind::kBinary: {
      const Type a = child_type(0);
      const Type b = child_type(1);
      const std::string& op = n->op;
      if (op == "AND" || op == "OR") {
        for (Type t : {a, b}) {
          if (!IsBool(t)) {
            return ErrorAt(*n, op + " needs BOOLEAN operands, got " + std::string(TypeName(t)));
          }
        }
        n->type = Type::kBool;
      } else if (op == "||") {
        n->type = Type::kString;
      } else if (op == "+" || op == "-" || op == "*" || op == "/" || op == "%") {
        for (Type t : {a, b}) {
          if (!IsNumeric(t)) {
            return ErrorAt(*n, "'" + op + "' needs numbers, got " + std::string(TypeName(t)));
          }
        }
        n->type = a == Type::kAny || b == Type::kAny         ? Type::kAny
                  : a == Type::kDouble || b == Type::kDouble ? Type::kDouble
                                                             : Type::kInt;
      } else {
        ONCEFLOW_RETURN_IF_ERROR(CheckComparable(*n, op, a, b));
        n->type = Type::kBool;
      }
      return Status::Ok();
    }
    case Node::Kind::kIsNull: n->type = Type::kBool; return Status::Ok();
    case Node::Kind::kIn:
      for (size_t i = 1; i < n->children.size(); ++i) {
        ONCEFLOW_RETURN_IF_ERROR(
            CheckComparable(*n->children[i], "IN", child_type(0), child_type(i)));
      }
      n->type = Type::kBool;
      return Status::Ok();
    case Node::Kind::kCase: {
      Type t = Type::kNull;
      const size_t pairs = (n->children.size() - (n->has_else ? 1 : 0)) / 2;
      for (size_t i = 0; i < pairs; ++i) {
        const Node& when = *n->children[2 * i];
        if (!IsBool(when.type)) {
          return ErrorAt(when, "WHEN needs a BOOLEAN, got " + std::string(TypeName(when.type)));
        }
      }
      for (size_t i = 0; i < n->children.size(); ++i) {
        if (i < 2 * pairs && i % 2 == 0) continue;  // a WHEN
        std::optional<Type> u = Unify(t, child_type(i));
        if (!u.has_value()) {
          return ErrorAt(*n->children[i], "the CASE's results have types " +
                                              std::string(TypeName(t)) + " and " +
                                              std::string(TypeName(child_type(i))));
        }
        t = *u;
      }
      n->type = t;
      return Status::Ok();
    }
    case Node::Kind::kCast: {
      const Type from = child_type(0);
      const bool ok = from == Type::kAny || from == Type::kNull || from == n->cast_to ||
                      n->cast_to == Type::kString ||
                      (n->cast_to == Type::kBool && from == Type::kString) ||
                      (n->cast_to != Type::kBool && from != Type::kBool);
      if (!ok) {
        return ErrorAt(*n, "cannot cast " + std::string(TypeName(from)) + " to " +
                               std::string(TypeName(n->cast_to)));
      }
      n->type = n->cast_to;
      return Status::Ok();
    }
    case Node::Kind::kCall: return CheckCall(n);
  }
  return Status::Ok();
}

void CollectFields(const Node& n, std::vector<std::string>* out) {
  if (n.kind == Node::Kind::kField && std::find(out->begin(), out->end(), n.name) == out->end()) {
    out->push_back(n.name);
  }
  for (const auto& child : n.children) CollectFields(*child, out);
}

}  // namespace

Status TypeCheck(Node* root) { return Check(root); }

std::vector<std::string> FieldsOf(const Node& root) {
  std::vector<std::string> fields;
  CollectFields(root, &fields);
  return fields;
}

const std::string& KnownFunctions() {
  static const std::string names = [] {
    std::string s;
    for (const FunctionSpec& f : kFunctions) s += (s.empty() ? "" : ", ") + std::string(f.name);
    return s;
  }();
  return names;
}

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kNull: return "NULL";
    case Type::kBool: return "BOOLEAN";
    case Type::kInt: return "BIGINT";
    case Type::kDouble: return "DOUBLE";
    case Type::kString: return "VARCHAR";
    case Type::kAny: return "ANY";
  }
  return "?";
}

Type TypeOf(const Value& v) {
  switch (v.index()) {
    case 1: return Type::kBool;
    case 2: return Type::kInt;
    case 3: return Type::kDouble;
    case 4: return Type::kString;
    default: return Type::kNull;
  }
}

}  // namespace onceflow::expr
