// Expression: one expression of the language (`price * 0.908`, `SPLIT_INDEX(url, '/', 3)`),
// parsed, type-checked and compiled once, then evaluated per row.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "expr/ast.h"
#include "expr/eval_node.h"
#include "onceflow/row.h"
#include "onceflow/status.h"

namespace onceflow::expr {

// Lifecycle: Compile once at start, then Evaluate per row from any number of threads, each
// with its own EvalContext (Evaluate is const and keeps nothing between calls). No string is
// parsed per row; a row allocates only for a string result it returns (the row's own Value).
class Expression {
 public:
  // Parses, type-checks and compiles `text` (the language: parser.h; types: type_check.h);
  // regular expressions are compiled here. invalid_argument "column N: what is wrong".
  static Result<std::unique_ptr<Expression>> Compile(std::string_view text);

  // The value of the expression for `row`. A field the row lacks is NULL with
  // `missing_as_null`, else a failure. A failure (a division by zero, a value of a type the
  // operator does not take, a regular expression on a number) is invalid_argument
  // "column N: what", for the dead letters.
  Status Evaluate(const Row& row, bool missing_as_null, EvalContext* ctx, Value* out) const;
  // The same as a Datum, valid until ctx is used again; ctx->failed() says whether it failed
  // (FailureOf(*ctx) is then the Status Evaluate returns).
  Datum Eval(const Row& row, bool missing_as_null, EvalContext* ctx) const {
    ctx->Reset(&row, missing_as_null, slots_);
    return root_->Eval(*ctx);
  }
  static Status FailureOf(const EvalContext& ctx);

  // The static type (kAny when it depends on the fields' values).
  Type type() const { return type_; }
  // The fields it reads, each once, in order of appearance.
  const std::vector<std::string>& fields() const { return fields_; }
  const std::string& text() const { return text_; }

  Expression(const Expression&) = delete;
  Expression& operator=(const Expression&) = delete;

 private:
  Expression() = default;

  std::string text_;
  Type type_ = Type::kAny;
  std::vector<std::string> fields_;
  EvalNodeP root_;
  size_t slots_ = 0;  // scratch strings the nodes use, numbered from 0
};

}  // namespace onceflow::expr
