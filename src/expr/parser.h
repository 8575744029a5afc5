// The expression language's parser: text into a syntax tree (ast.h).
#pragma once

#include <memory>
#include <string_view>

#include "expr/ast.h"
#include "onceflow/status.h"

namespace onceflow::expr {

// Parses one expression. The grammar, loosest binding first (keywords in any case):
//   OR; AND; NOT; comparisons (= == != <> < <= > >=, IS [NOT] NULL, [NOT] IN (a, b, ...));
//   || (concatenation); + -; * / %; unary - and +; then literals (123, 1.5, 'text', "text",
//   TRUE, FALSE, NULL), fields (name, a.b, `odd name`), f(args), CASE [x] WHEN c THEN v ...
//   [ELSE v] END, CAST(x AS type), (expr).
// invalid_argument "column N: what is wrong" at the first error. Nesting deeper than 200 is
// refused (the parser recurses).
Result<std::unique_ptr<Node>> Parse(std::string_view text);

}  // namespace onceflow::expr
