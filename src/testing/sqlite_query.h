// Plain SQL on an SQLite database file through a connection of the test's own: what another
// reader of the file sees, independent of the sink under test.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace onceflow::testing {

// The result rows of `sql` on the database at `path` (opened read-only), each row's columns
// joined by '|', NULL shown as "NULL". Fails the current test on an SQL error or when the file
// cannot be opened.
std::vector<std::string> SqliteRows(const std::string& path, const std::string& sql);

// The single value of a one-row query (columns joined by '|'); fails the test on another count.
std::string SqliteQueryOne(const std::string& path, const std::string& sql);

// The rows of a query returning integers, one vector per row. Silent: a file that cannot be
// opened or a failing query gives no rows (the ledger checks report that themselves).
std::vector<std::vector<int64_t>> SqliteInts(const std::string& path, const std::string& sql);

// The rows of a query, every column as text (NULL as "NULL"). Silent like SqliteInts.
std::vector<std::vector<std::string>> SqliteTextRows(const std::string& path,
                                                     const std::string& sql);

// Runs SQL that returns nothing (a test's tampering with a sink's tables), read-write; returns
// "" or SQLite's message.
std::string SqliteExec(const std::string& path, const std::string& sql);

}  // namespace onceflow::testing
