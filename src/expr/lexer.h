// The tokens of the expression language, with the column each starts at.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "onceflow/status.h"

namespace onceflow::expr {

struct Token {
  enum class Kind : uint8_t {
    kIdent,        // a name or a keyword: letters, digits, '_' and '.', not starting with a digit
    kQuotedIdent,  // `a name` in backquotes (``  stands for one backquote)
    kInt,          // 123
    kFloat,        // 1.5, 2e3, .5
    kString,  // 'text' (SQL: '' is a quote) or "text" (also \" and \\ as in the filter language)
    kSymbol,  // + - * / % || = == != <> < <= > >= ( ) ,
    kEnd,
  };
  Kind kind = Kind::kEnd;
  std::string text;  // the name, the symbol, the string's contents, the number as written
  int column = 1;    // 1-based
};

// Splits `text` into tokens ending with a kEnd token (its column one past the last character).
// invalid_argument "column N: ..." for a character that starts no token or an unterminated
// string.
Result<std::vector<Token>> Tokenize(std::string_view text);

}  // namespace onceflow::expr
