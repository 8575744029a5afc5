// ParseConninfo and ConninfoSecrets: libpq's parser for what it accepts, and a scanner of the
// text as written for the forms a secret takes before libpq decodes it.
#include "sink/postgres_conninfo.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>

namespace onceflow::sink {
namespace {

constexpr const char* kSecretKeywords[] = {"password", "sslpassword"};

bool IsSecretKeyword(std::string_view keyword) {
  return std::any_of(std::begin(kSecretKeywords), std::end(kSecretKeywords),
                     [&](const char* k) { return keyword == k; });
}

bool IsUri(std::string_view s) {
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX undone (a URI's form of a byte).
std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// \x undone (a quoted keyword=value value's form of a quote or backslash).
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

void AddSecret(std::string_view raw, std::vector<std::string>* out) {
  for (std::string s : {std::string(raw), PercentDecode(raw), Unescape(raw)}) {
    if (!s.empty()) out->push_back(std::move(s));
  }
}

// The password of a URI's user info (scheme://user:password@host...), as written.
void ScanUri(std::string_view uri, std::vector<std::string>* out) {
  const size_t start = uri.find("://") + 3;
  size_t end = start;
  while (end < uri.size() && uri[end] != '@' && uri[end] != '/' && uri[end] != '?' &&
         !std::isspace(static_cast<unsigned char>(uri[end])) && uri[end] != '\'') {
    ++end;
  }
  if (end >= uri.size() || uri[end] != '@') return;
  const std::string_view user_info = uri.substr(start, end - start);
  const size_t colon = user_info.find(':');
  if (colon != std::string_view::npos) AddSecret(user_info.substr(colon + 1), out);
}

// Every `password=value` (or sslpassword) in `text` as written: quoted ('...' with \' inside)
// or up to a space, quote, or a URI query's '&'; and every URI's user-info password.
void ScanText(std::string_view text, std::vector<std::string>* out) {
  const size_t n = text.size();
  for (const char* keyword : kSecretKeywords) {
    const size_t klen = std::strlen(keyword);
    for (size_t at = text.find(keyword); at != std::string_view::npos;
         at = text.find(keyword, at + 1)) {
      // "sslpassword" also holds "password": the longer keyword covers it.
      if (at > 0 &&
          (std::isalnum(static_cast<unsigned char>(text[at - 1])) || text[at - 1] == '_')) {
        continue;
      }
      size_t i = at + klen;
      while (i < n && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      if (i >= n || text[i] != '=') continue;
      ++i;
      while (i < n && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      if (i < n && text[i] == '\'') {
        size_t j = i + 1;
        while (j < n && text[j] != '\'') j += text[j] == '\\' ? 2 : 1;
        AddSecret(text.substr(i + 1, std::min(j, n) - i - 1), out);
      } else {
        size_t j = i;
        while (j < n && !std::isspace(static_cast<unsigned char>(text[j])) && text[j] != '\'' &&
               text[j] != '&' && text[j] != '"') {
          ++j;
        }
        AddSecret(text.substr(i, j - i), out);
        // In a keyword=value string '&' belongs to the value: keep the longer reading too.
        size_t k = j;
        while (k < n && !std::isspace(static_cast<unsigned char>(text[k])) && text[k] != '\'') ++k;
        if (k > j) AddSecret(text.substr(i, k - i), out);
      }
    }
  }
  for (size_t at = text.find("://"); at != std::string_view::npos; at = text.find("://", at + 3)) {
    size_t b = at;
    while (b > 0 && std::isalpha(static_cast<unsigned char>(text[b - 1]))) --b;
    if (IsUri(text.substr(b))) ScanUri(text.substr(b), out);
  }
}

// The given parameters of one string (no expansion), or nullopt if libpq cannot parse it.
std::optional<std::vector<ConninfoParam>> ParseFlat(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);  // may quote the string, password included: never shown
    return std::nullopt;
  }
  std::vector<ConninfoParam> params;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) params.emplace_back(o->keyword, o->val);
  }
  PQconninfoFree(options);
  return params;
}

void Set(std::vector<ConninfoParam>* params, const ConninfoParam& p) {
  for (ConninfoParam& q : *params) {
    if (q.first == p.first) {
      q.second = p.second;
      return;
    }
  }
  params->push_back(p);
}

}  // namespace

bool IsExpandableDbname(std::string_view dbname) {
  return dbname.find('=') != std::string_view::npos || IsUri(dbname);
}

Result<std::vector<ConninfoParam>> ParseConninfo(const std::string& conninfo) {
  auto flat = ParseFlat(conninfo);
  if (!flat.has_value()) {
    return Err(Status::InvalidArgument(
        "postgres: sink.conninfo is not a valid libpq connection string (keyword=value pairs "
        "or a postgresql:// URI); libpq's message is not shown as it may quote a secret"));
  }
  std::vector<ConninfoParam> out;
  for (const ConninfoParam& p : *flat) {
    if (p.first != "dbname" || !IsExpandableDbname(p.second)) {
      Set(&out, p);
      continue;
    }
    auto inner = ParseFlat(p.second);
    if (!inner.has_value()) {
      return Err(Status::InvalidArgument(
          "postgres: the dbname of sink.conninfo is itself a connection string (it holds '=' "
          "or starts with postgresql://) that libpq cannot parse; its message is not shown as "
          "it may quote a secret"));
    }
    // libpq takes the expanded string's own dbname as a name.
    for (const ConninfoParam& q : *inner) Set(&out, q);
  }
  return out;
}

std::vector<std::string> ConninfoSecrets(const std::string& conninfo) {
  std::vector<std::string> out;
  ScanText(conninfo, &out);
  if (auto flat = ParseFlat(conninfo); flat.has_value()) {
    for (const ConninfoParam& p : *flat) {
      if (IsSecretKeyword(p.first)) AddSecret(p.second, &out);
      if (p.first == "dbname" && IsExpandableDbname(p.second)) {
        ScanText(p.second, &out);
        if (auto inner = ParseFlat(p.second); inner.has_value()) {
          for (const ConninfoParam& q : *inner) {
            if (IsSecretKeyword(q.first)) AddSecret(q.second, &out);
          }
        }
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string MaskSecrets(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

}  // namespace onceflow::sink
