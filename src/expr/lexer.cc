// The expression language's tokenizer.
#include "expr/lexer.h"

#include <cctype>

namespace onceflow::expr {
namespace {

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status ErrorAt(size_t pos, const std::string& what) {
  return Status::InvalidArgument("column " + std::to_string(pos + 1) + ": " + what);
}

// A character for a message: printable as itself, else as its code.
std::string Shown(char c) {
  if (std::isprint(static_cast<unsigned char>(c))) return std::string("'") + c + "'";
  static const char kHex[] = "0123456789abcdef";
  const auto u = static_cast<unsigned char>(c);
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 15];
}

}  // namespace

Result<std::vector<Token>> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  size_t pos = 0;
  while (true) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    Token token;
    token.column = static_cast<int>(pos + 1);
    if (pos >= text.size()) {
      tokens.push_back(std::move(token));
      return tokens;
    }
    const char c = text[pos];
    if (IsIdentStart(c)) {
      size_t end = pos;
      while (end < text.size() && IsIdentChar(text[end])) ++end;
      token.kind = Token::Kind::kIdent;
      token.text = std::string(text.substr(pos, end - pos));
      pos = end;
    } else if (IsDigit(c) || (c == '.' && pos + 1 < text.size() && IsDigit(text[pos + 1]))) {
      size_t end = pos;
      bool is_float = false;
      while (end < text.size() && IsDigit(text[end])) ++end;
      if (end < text.size() && text[end] == '.') {
        is_float = true;
        ++end;
        while (end < text.size() && IsDigit(text[end])) ++end;
      }
      if (end < text.size() && (text[end] == 'e' || text[end] == 'E')) {
        size_t exp = end + 1;
        if (exp < text.size() && (text[exp] == '+' || text[exp] == '-')) ++exp;
        if (exp < text.size() && IsDigit(text[exp])) {
          is_float = true;
          end = exp;
          while (end < text.size() && IsDigit(text[end])) ++end;
        }
      }
      if (end < text.size() && IsIdentStart(text[end])) {
        return Err(ErrorAt(end, "unexpected " + Shown(text[end]) + " after the number '" +
                                    std::string(text.substr(pos, end - pos)) + "'"));
      }
      token.kind = is_float ? Token::Kind::kFloat : Token::Kind::kInt;
      token.text = std::string(text.substr(pos, end - pos));
      pos = end;
    } else if (c == '\'' || c == '"' || c == '`') {
      token.kind = c == '`' ? Token::Kind::kQuotedIdent : Token::Kind::kString;
      size_t i = pos + 1;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == c) {
          if (i + 1 < text.size() && text[i + 1] == c) {  // a doubled quote: one quote
            token.text.push_back(c);
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        // In a "string" (the filter language's) a backslash keeps the next character; in a
        // 'string' it is itself, as in SQL, so that regular expressions read as written.
        if (text[i] == '\\' && c == '"' && i + 1 < text.size()) ++i;
        token.text.push_back(text[i]);
        ++i;
      }
      if (!closed) {
        return Err(ErrorAt(pos, c == '`' ? "unterminated `name`" : "unterminated string"));
      }
      if (token.kind == Token::Kind::kQuotedIdent && token.text.empty()) {
        return Err(ErrorAt(pos, "empty `name`"));
      }
      pos = i;
    } else {
      static constexpr std::string_view kTwo[] = {"||", "==", "!=", "<>", "<=", ">="};
      static constexpr std::string_view kOne = "+-*/%=<>(),";
      token.kind = Token::Kind::kSymbol;
      for (std::string_view two : kTwo) {
        if (text.substr(pos, 2) == two) token.text = std::string(two);
      }
      if (token.text.empty()) {
        if (kOne.find(c) == std::string_view::npos) {
          return Err(ErrorAt(pos, "unexpected " + Shown(c)));
        }
        token.text = std::string(1, c);
      }
      pos += token.text.size();
    }
    tokens.push_back(std::move(token));
  }
}

}  // namespace onceflow::expr
