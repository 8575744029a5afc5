// The compiled form of an expression: a tree of typed evaluation nodes, and the per-evaluation
// context they read the row from and report a failure to.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "expr/ast.h"
#include "onceflow/row.h"

namespace onceflow::expr {

// A value during evaluation. A string is a view: of the row, of the node's literal or of a
// scratch string of the context (valid until the context is reset), so that no value is
// copied or allocated on the way.
struct Datum {
  Type type = Type::kNull;  // never kAny
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string_view s;

  static Datum Null() { return {}; }
  static Datum Bool(bool v) {
    Datum d;
    d.type = Type::kBool;
    d.b = v;
    return d;
  }
  static Datum Int(int64_t v) {
    Datum d;
    d.type = Type::kInt;
    d.i = v;
    return d;
  }
  static Datum Double(double v) {
    Datum d;
    d.type = Type::kDouble;
    d.d = v;
    return d;
  }
  static Datum String(std::string_view v) {
    Datum d;
    d.type = Type::kString;
    d.s = v;
    return d;
  }
  bool null() const { return type == Type::kNull; }
  bool number() const { return type == Type::kInt || type == Type::kDouble; }
  double AsDouble() const { return type == Type::kInt ? static_cast<double>(i) : d; }
};

// A field's value as a Datum (a view of the row's string).
Datum FromValue(const Value& v);
// The Value of a Datum (a string is copied).
Value ToValue(const Datum& d);
// "BIGINT 5", "VARCHAR 'abc'" (long strings cut), "NULL": for messages.
std::string Describe(const Datum& d);
// Text of a value as CAST(... AS VARCHAR) and || write it: 42, 1.5 (shortest round trip),
// true, false. REQUIRES: !d.null().
void AppendText(const Datum& d, std::string* out);

// What one evaluation reads and where it reports: the row, the scratch strings of the nodes
// that build strings, and the first failure. Reused from record to record by one thread (the
// scratch strings keep their capacity); not thread-safe.
class EvalContext {
 public:
  void Reset(const Row* row, bool missing_as_null, size_t slots) {
    row_ = row;
    missing_as_null_ = missing_as_null;
    failed_ = false;
    if (slots_.size() < slots) slots_.resize(slots);
  }
  const Row& row() const { return *row_; }
  bool missing_as_null() const { return missing_as_null_; }
  // Scratch string `slot`, emptied: each string-building node has its own.
  std::string& Slot(int slot) {
    std::string& s = slots_[static_cast<size_t>(slot)];
    s.clear();
    return s;
  }
  // Records the first failure; returns NULL, which the callers pass on unexamined.
  Datum Fail(int column, std::string message) {
    if (!failed_) {
      failed_ = true;
      error_column_ = column;
      error_ = std::move(message);
    }
    return Datum::Null();
  }
  bool failed() const { return failed_; }
  int error_column() const { return error_column_; }
  const std::string& error() const { return error_; }

 private:
  const Row* row_ = nullptr;
  bool missing_as_null_ = false;
  bool failed_ = false;
  int error_column_ = 0;
  std::string error_;
  std::vector<std::string> slots_;
};

// A node of the compiled tree. Eval returns the node's value; after a failure (ctx.failed())
// the value is meaningless and the caller returns at once.
class EvalNode {
 public:
  explicit EvalNode(int column) : column_(column) {}
  virtual ~EvalNode() = default;
  virtual Datum Eval(EvalContext& ctx) const = 0;
  int column() const { return column_; }

  EvalNode(const EvalNode&) = delete;
  EvalNode& operator=(const EvalNode&) = delete;

 private:
  const int column_;
};
using EvalNodeP = std::unique_ptr<EvalNode>;

}  // namespace onceflow::expr
