// The type checker: what each node of a parsed expression yields, checked once before any
// record is read.
#pragma once

#include <string>
#include <vector>

#include "expr/ast.h"
#include "onceflow/status.h"

namespace onceflow::expr {

// Sets node->type on every node of the tree and checks what can be known before a record is
// seen: the functions exist and get the right number of arguments, operands that are literals
// or typed subexpressions have types the operator takes (`'a' * 2`, `NOT 5`, `x = NULL` are
// refused), CASE branches agree, a regular expression's pattern is a string literal. Fields
// are of type ANY (rows are dynamically typed): their values are checked per record, where a
// mismatch is a dead letter. invalid_argument "column N: what is wrong".
Status TypeCheck(Node* root);

// The names of the fields the expression reads, each once, in order of first appearance.
std::vector<std::string> FieldsOf(const Node& root);

// The function names the language knows, "ABS, CEIL, ...", for messages.
const std::string& KnownFunctions();

}  // namespace onceflow::expr
