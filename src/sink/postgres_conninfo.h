// A libpq connection string, as the PostgreSQL sink reads it: its parameters with a dbname that
// is itself a connection string expanded (libpq's expand_dbname), and the secrets it carries in
// every form libpq accepts, so that no message, description or error ever shows them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "onceflow/status.h"

namespace onceflow::sink {

// A parameter as given: keyword and value (decoded: quotes, escapes and %XX undone).
using ConninfoParam = std::pair<std::string, std::string>;

// Whether libpq would expand `dbname` into parameters of its own when asked to (PQconnectdbParams
// with expand_dbname): it holds '=' or starts with postgresql:// or postgres://. So does the sink
// when it connects: `dbname=${DATABASE_URL}` means what it says.
bool IsExpandableDbname(std::string_view dbname);

// The parameters `conninfo` gives (keyword=value pairs or a postgresql:// URI, its query
// parameters included), in libpq's keyword order, with an expandable dbname replaced by the
// parameters of its own string at its place (they override the ones before it, later ones
// override them, as in libpq). A string libpq cannot parse is invalid_argument without libpq's
// message, which may quote a secret.
Result<std::vector<ConninfoParam>> ParseConninfo(const std::string& conninfo);

// Every secret in `conninfo`, for masking: the values of password and sslpassword, at the top
// level and in an expanded dbname, decoded and as written (quoted, escaped, %-encoded), and the
// password of every URI's user info. Found even where libpq cannot parse the string. Longest
// first, no empty one.
std::vector<std::string> ConninfoSecrets(const std::string& conninfo);

// `text` with every occurrence of every secret replaced by "***".
std::string MaskSecrets(std::string text, const std::vector<std::string>& secrets);

}  // namespace onceflow::sink
