// SqliteRows, SqliteQueryOne, SqliteInts, SqliteExec: one connection per call.
#include "testing/sqlite_query.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

namespace onceflow::testing {

std::vector<std::string> SqliteRows(const std::string& path, const std::string& sql) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return out;
  }
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      if (i > 0) row += '|';
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      row += text != nullptr ? std::string(text, sqlite3_column_bytes(stmt, i)) : "NULL";
    }
    out.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

std::string SqliteQueryOne(const std::string& path, const std::string& sql) {
  std::vector<std::string> rows = SqliteRows(path, sql);
  if (rows.size() != 1) {
    ADD_FAILURE() << sql << ": " << rows.size() << " rows";
    return "";
  }
  return rows[0];
}

std::vector<std::vector<int64_t>> SqliteInts(const std::string& path, const std::string& sql) {
  std::vector<std::vector<int64_t>> rows;
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(path.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(h);
    return rows;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<int64_t> row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) row.push_back(sqlite3_column_int64(st, c));
      rows.push_back(std::move(row));
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return rows;
}

std::vector<std::vector<std::string>> SqliteTextRows(const std::string& path,
                                                     const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(path.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
      while (sqlite3_step(st) == SQLITE_ROW) {
        std::vector<std::string> row;
        for (int c = 0; c < sqlite3_column_count(st); ++c) {
          const unsigned char* t = sqlite3_column_text(st, c);
          row.emplace_back(t ? reinterpret_cast<const char*>(t) : "NULL");
        }
        rows.push_back(std::move(row));
      }
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return rows;
}

std::string SqliteExec(const std::string& path, const std::string& sql) {
  sqlite3* h = nullptr;
  std::string error;
  if (sqlite3_open(path.c_str(), &h) != SQLITE_OK) {
    error = "cannot open " + path;
  } else {
    char* msg = nullptr;
    if (sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      error = msg != nullptr ? msg : "error";
    }
    sqlite3_free(msg);
  }
  sqlite3_close(h);
  return error;
}

}  // namespace onceflow::testing
