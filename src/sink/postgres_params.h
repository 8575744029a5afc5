// Named parameters for PostgreSQL: `:field` in a sink statement becomes `$n`, outside string
// literals, quoted identifiers, dollar-quoted strings and comments, and never in a `::type`
// cast. PostgreSQL itself only knows positional `$n` parameters.
#pragma once

#include <string>
#include <vector>

#include "onceflow/status.h"

namespace onceflow::sink {

struct NamedSql {
  std::string sql;                  // with $1, $2, ...
  std::vector<std::string> fields;  // $i+1 binds the row's field fields[i]; each name once
};

// Translates `sql`. The same :name twice is the same $n. A positional `$1` in the input, or an
// unterminated string, identifier or comment, is invalid_argument naming the byte offset.
// Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, ...) is refused: the sink owns the
// transaction.
Result<NamedSql> TranslateNamedParameters(const std::string& sql);

}  // namespace onceflow::sink
