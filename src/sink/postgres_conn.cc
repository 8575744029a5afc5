// PgConn: a libpq connection with errors as Status values that never carry the password.
#include "sink/postgres_conn.h"

#include <charconv>
#include <cstring>

#include "sink/postgres_conninfo.h"

namespace onceflow::sink {
namespace {

// libpq's messages end with a newline; a multi-line message is kept on one line.
std::string OneLine(std::string_view text) {
  std::string out(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  for (char& c : out) {
    if (c == '\n') c = ' ';
  }
  return out;
}

}  // namespace

Result<std::string> DescribeConninfo(const std::string& conninfo) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<ConninfoParam> params, ParseConninfo(conninfo));
  std::string host, hostaddr, port, dbname;
  for (const auto& [keyword, value] : params) {
    if (value.empty()) continue;
    if (keyword == "host") host = value;
    if (keyword == "hostaddr") hostaddr = value;
    if (keyword == "port") port = value;
    if (keyword == "dbname") dbname = value;
  }
  std::string out = "postgres";
  if (!host.empty()) out += " host=" + host;
  if (!hostaddr.empty()) out += " hostaddr=" + hostaddr;
  if (!port.empty()) out += " port=" + port;
  if (!dbname.empty()) out += " dbname=" + dbname;
  // A secret can hide in any value (a host given as a URI, a dbname that quotes one).
  return MaskSecrets(std::move(out), ConninfoSecrets(conninfo));
}

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& conninfo, std::string describe) {
  // The given parameters with expand_dbname: a dbname that is a connection string or URI
  // (`dbname=${DATABASE_URL}`) is used as one, as DescribeConninfo describes it.
  PGconn* conn = nullptr;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);                      // may quote a secret
    conn = PQconnectdb(conninfo.c_str());  // fails with a message about the syntax
  } else {
    std::vector<const char*> keywords, values;
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (o->val == nullptr) continue;
      keywords.push_back(o->keyword);
      values.push_back(o->val);
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    conn = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
    PQconninfoFree(options);
  }
  if (conn == nullptr) return Err(Status::IoError(describe + ": cannot connect: out of memory"));
  if (PQstatus(conn) != CONNECTION_OK) {
    // libpq's connection errors name host, port, user and the server's reason; a database
    // name may quote anything the user wrote, so every secret is masked.
    Status s =
        Status::IoError(describe + ": cannot connect: " +
                        MaskSecrets(OneLine(PQerrorMessage(conn)), ConninfoSecrets(conninfo)));
    PQfinish(conn);
    return Err(std::move(s));
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);  // NOTICEs are not errors
  return std::unique_ptr<PgConn>(new PgConn(conn, std::move(describe)));
}

PgConn::~PgConn() { PQfinish(conn_); }

Status PgConn::Exec(const std::string& sql, std::string_view what, bool config) {
  PgResult r(PQexec(conn_, sql.c_str()));
  // A string of several statements returns the last result; an error stops at once.
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
    return Status::Ok();
  }
  return Error(r.get(), what, config);
}

Result<PgResult> PgConn::Query(const std::string& sql, const std::vector<const char*>& params,
                               std::string_view what) {
  PgResult r(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                          params.data(), nullptr, nullptr, 0));
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  return Err(Error(r.get(), what));
}

bool PgConn::ReadPipelineResults(std::vector<PgResult>* results, size_t* first_error) {
  *first_error = SIZE_MAX;
  int nulls = 0;
  while (true) {
    PGresult* raw = PQgetResult(conn_);
    if (raw == nullptr) {
      // One NULL ends each query's results; two in a row, or a broken connection: lost.
      if (broken() || ++nulls > 1) return false;
      continue;
    }
    nulls = 0;
    PgResult res(raw);
    const ExecStatusType st = PQresultStatus(raw);
    if (st == PGRES_PIPELINE_SYNC) return true;
    if (st == PGRES_FATAL_ERROR && *first_error == SIZE_MAX) *first_error = results->size();
    results->push_back(std::move(res));
  }
}

Status PgConn::Error(const PGresult* result, std::string_view what, bool config) const {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  // The server's primary message (and its detail), without the "ERROR:" and LINE decoration;
  // libpq's own message when the server sent none (the connection broke).
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const char* detail =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL) : nullptr;
  std::string message;
  if (primary != nullptr) {
    message = primary;
    if (detail != nullptr) message += std::string(" (") + detail + ")";
  } else {
    message = result != nullptr ? PQresultErrorMessage(result) : "";
    if (message.empty()) message = PQerrorMessage(conn_);
  }
  message = OneLine(message);
  const std::string text = describe_ + ": " + std::string(what) + ": " + message +
                           (state != nullptr ? std::string(" (SQLSTATE ") + state + ")" : "");
  if (broken() || state == nullptr || std::strncmp(state, "08", 2) == 0 ||
      std::strncmp(state, "57P", 3) == 0) {
    // The connection is gone, or the server is shutting down: the owner reconnects, and the
    // retried batch finds out from the progress rows what committed.
    return Status::IoError(text + "; the connection is lost (the batch is retried)");
  }
  if (std::strncmp(state, "40", 2) == 0) return Status::Busy(text);  // deadlock, serialization
  if (std::strncmp(state, "53", 2) == 0 || std::strncmp(state, "58", 2) == 0) {
    return Status::IoError(text);  // disk full, out of memory, I/O error on the server
  }
  if (config && std::strncmp(state, "42", 2) == 0) return Status::InvalidArgument(text);
  return Status::Aborted(text);
}

std::string_view SqlState(const PGresult* result) {
  const char* s = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  return s != nullptr ? s : "";
}

std::string PrimaryMessage(const PGresult* result) {
  const char* m = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  return m != nullptr ? m : "error";
}

bool IsRowErrorState(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return false;
  static constexpr std::string_view kRowClasses[] = {
      "22",               // data exception: bad input syntax, value out of range, string too long
      "23",               // integrity constraint violation: not null, unique, check, foreign key
      "21",               // cardinality violation: a row affected twice
      "2F", "38", "39",   // errors raised by SQL and external routines
      "P0",               // PL/pgSQL RAISE
      "09", "27", "44"};  // trigger errors, WITH CHECK OPTION
  for (std::string_view c : kRowClasses) {
    if (sqlstate.substr(0, 2) == c) return true;
  }
  // Of the syntax and access rule class, only the types that a row's values gave the
  // parameters (`-:amount` with a string): a missing table or column is the pipeline's fault.
  static constexpr std::string_view kTypeStates[] = {"42804", "42883", "42725",
                                                     "42P18", "42P08", "42846"};
  for (std::string_view t : kTypeStates) {
    if (sqlstate == t) return true;
  }
  return false;
}

bool AppendValueText(const Value& value, std::string* out, std::string* error) {
  switch (value.index()) {
    case 0: return false;
    case 1: *out += std::get<bool>(value) ? '1' : '0'; return true;
    case 2: {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), std::get<int64_t>(value));
      out->append(buf, end);
      return true;
    }
    case 3: {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), std::get<double>(value));
      out->append(buf, end);
      return true;
    }
    default: {
      const std::string& s = std::get<std::string>(value);
      if (s.find('\0') != std::string::npos) {
        *error = "a string holds a NUL byte, which PostgreSQL text cannot hold";
        return false;
      }
      *out += s;
      return true;
    }
  }
}

}  // namespace onceflow::sink
