// The syntax tree of an expression (`price * 0.908`, `CASE WHEN ... END`), as the parser builds
// it and the type checker annotates it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "onceflow/row.h"

namespace onceflow::expr {

// The static type of an expression. kAny is a field's: rows are dynamically typed, so its type
// is known only per record and checked then. kNull is the type of the literal NULL.
enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString, kAny };

// "NULL", "BOOLEAN", "BIGINT", "DOUBLE", "VARCHAR", "ANY": SQL's names.
std::string_view TypeName(Type type);

// One node of the tree. Columns are 1-based character positions in the expression's text, for
// the messages that point at a place in it.
struct Node {
  enum class Kind : uint8_t {
    kLiteral,  // literal
    kField,    // name
    kUnary,    // op ("-", "NOT"), children[0]
    kBinary,   // op ("+", "-", "*", "/", "%", "||", "=", "!=", "<", "<=", ">", ">=", "AND",
               // "OR"), children[0] and children[1]
    kIsNull,   // children[0]; negated: IS NOT NULL
    kIn,       // children[0] IN (children[1...]); negated: NOT IN
    kCase,     // children: when, then, when, then, ..., [else]; has_else
    kCast,     // children[0] AS cast_to
    kCall,     // op: the function's name in capitals; children: the arguments
  };

  Kind kind = Kind::kLiteral;
  int column = 1;
  std::string op;
  Value literal;
  std::string name;
  bool negated = false;
  bool has_else = false;
  Type cast_to = Type::kAny;
  std::vector<std::unique_ptr<Node>> children;
  // Set by the type checker.
  Type type = Type::kAny;
};

// The type of a literal value.
Type TypeOf(const Value& v);

}  // namespace onceflow::expr
