// TranslateNamedParameters: a small lexer that finds :field outside literals and comments.
#include "sink/postgres_params.h"

#include <algorithm>
#include <cctype>

namespace onceflow::sink {
namespace {

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

Status Bad(size_t at, const std::string& why) {
  return Status::InvalidArgument("at byte " + std::to_string(at) + ": " + why);
}

// The first keyword of `sql`, upper-cased, after spaces, comments and parentheses.
std::string FirstWord(const std::string& sql) {
  size_t i = 0;
  while (i < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[i])) || sql[i] == '(') {
      ++i;
    } else if (sql.compare(i, 2, "--") == 0) {
      i = sql.find('\n', i);
      if (i == std::string::npos) return "";
    } else if (sql.compare(i, 2, "/*") == 0) {
      i = sql.find("*/", i + 2);
      if (i == std::string::npos) return "";
      i += 2;
    } else {
      break;
    }
  }
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++])));
  }
  return word;
}

}  // namespace

Result<NamedSql> TranslateNamedParameters(const std::string& sql) {
  static constexpr std::string_view kTransactionControl[] = {
      "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE"};
  const std::string first = FirstWord(sql);
  if (std::find(std::begin(kTransactionControl), std::end(kTransactionControl), first) !=
      std::end(kTransactionControl)) {
    return Err(Status::InvalidArgument("transaction control (BEGIN, COMMIT, SAVEPOINT, ...) "
                                       "belongs to the sink; remove it"));
  }
  NamedSql out;
  out.sql.reserve(sql.size());
  const size_t n = sql.size();
  size_t i = 0;
  // Copies sql[i, j) to the output and moves i to j.
  auto copy_to = [&](size_t j) {
    out.sql.append(sql, i, j - i);
    i = j;
  };
  while (i < n) {
    const char c = sql[i];
    if (c == '\'') {
      // A string: '' is a quote inside; after E (not part of an identifier) \' too.
      const bool escapes =
          i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !IsIdentChar(sql[i - 2]));
      size_t j = i + 1;
      while (true) {
        if (j >= n) return Err(Bad(i, "a string literal is not closed"));
        if (escapes && sql[j] == '\\') {
          j += 2;
          continue;
        }
        if (sql[j] == '\'') {
          if (j + 1 < n && sql[j + 1] == '\'') {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      copy_to(j + 1);
    } else if (c == '"') {
      size_t j = i + 1;
      while (true) {
        if (j >= n) return Err(Bad(i, "a quoted identifier is not closed"));
        if (sql[j] == '"') {
          if (j + 1 < n && sql[j + 1] == '"') {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      copy_to(j + 1);
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      size_t j = sql.find('\n', i);
      copy_to(j == std::string::npos ? n : j);
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      // Block comments nest in PostgreSQL.
      size_t j = i + 2;
      int depth = 1;
      while (depth > 0) {
        if (j + 1 >= n) return Err(Bad(i, "a /* comment is not closed"));
        if (sql[j] == '/' && sql[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (sql[j] == '*' && sql[j + 1] == '/') {
          --depth;
          j += 2;
        } else {
          ++j;
        }
      }
      copy_to(j);
    } else if (c == '$') {
      if (i + 1 < n && std::isdigit(static_cast<unsigned char>(sql[i + 1])) &&
          (i == 0 || !IsIdentChar(sql[i - 1]))) {
        return Err(Bad(i, "parameter " + sql.substr(i, 2) +
                              " is positional ($n); name it after a field, :field"));
      }
      if (i > 0 && IsIdentChar(sql[i - 1])) {  // a $ inside an identifier
        copy_to(i + 1);
        continue;
      }
      // A dollar quote: $tag$ ... $tag$ (the tag may be empty).
      size_t j = i + 1;
      while (j < n && IsIdentChar(sql[j]) && sql[j] != '$') ++j;
      if (j < n && sql[j] == '$' && (j == i + 1 || IsIdentStart(sql[i + 1]))) {
        const std::string tag = sql.substr(i, j - i + 1);
        const size_t end = sql.find(tag, j + 1);
        if (end == std::string::npos) return Err(Bad(i, "a " + tag + " string is not closed"));
        copy_to(end + tag.size());
      } else {
        copy_to(i + 1);
      }
    } else if (c == ':') {
      if (i + 1 < n && sql[i + 1] == ':') {  // a cast, ::type
        copy_to(i + 2);
      } else if (i + 1 < n && IsIdentStart(sql[i + 1]) && (i == 0 || sql[i - 1] != ':')) {
        size_t j = i + 1;
        while (j < n && IsIdentChar(sql[j]) && sql[j] != '$') ++j;
        const std::string name = sql.substr(i + 1, j - i - 1);
        auto it = std::find(out.fields.begin(), out.fields.end(), name);
        size_t index = static_cast<size_t>(it - out.fields.begin());
        if (it == out.fields.end()) out.fields.push_back(name);
        out.sql += "$" + std::to_string(index + 1);
        i = j;
      } else {
        copy_to(i + 1);
      }
    } else {
      size_t j = i + 1;
      while (j < n && std::string_view("'\"-/$:").find(sql[j]) == std::string_view::npos) ++j;
      copy_to(j);
    }
  }
  return out;
}

}  // namespace onceflow::sink
