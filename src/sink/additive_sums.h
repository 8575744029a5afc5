// AdditiveSums: a commit's deltas summed per table and key, for the SQL sinks' additive mode
// (README, "Additive upserts"): what the rows add to counters and balances, before one upsert
// per key reaches the database.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "onceflow/options.h"
#include "onceflow/row.h"
#include "onceflow/status.h"
#include "sink/sink_protocol.h"

namespace onceflow::sink {

// Lifecycle: made once per sink from its validated `add` entries (ValidateAdditiveOptions);
// AddRows() (or Add() per row) while a commit writes, the sums read and Clear()ed when the commit's
// rows are all written. Integer deltas sum exactly (128 bits: no row count can overflow them); a
// sum outside int64 is refused by Total(), naming table, key and column. A REAL delta makes its
// column's sum a double (summed in row order; integers of the same key join it as doubles).
// Thread-safety: none.
class AdditiveSums {
 public:
  // One column's sum for one key.
  struct Sum {
    __int128 integer = 0;
    double real = 0;
    bool is_real = false;  // some delta was a double
  };
  // One key of a table: the key values (in the table's key column order) and one sum per
  // added column.
  struct Entry {
    std::vector<Value> key;
    std::vector<Sum> sums;
  };
  // One table of the `add` entries: its key columns, the columns some entry adds to, and the
  // keys the commit touched, in first-touch order.
  struct Table {
    std::string name;
    std::vector<std::string> key_columns;
    std::vector<std::string> columns;
    std::vector<Entry> entries;
    std::unordered_map<std::string, size_t> index;  // EncodeKey(key) -> entries
  };

  // REQUIRES: ValidateAdditiveOptions accepted `add`.
  explicit AdditiveSums(std::span<const AddTo> add);

  // "" when `row` has every field the entries need, a key field no null and a delta an
  // integer or a double; else why not, naming the entry and field (the row's dead letter).
  std::string Check(const Row& row) const;
  // Adds the row's deltas to the sums. REQUIRES: Check(row) == "".
  void Add(const Row& row);

  // The append writer's Write: writes the rows to sink.append's table, each row it refuses
  // appended to `*errors` with its index in the rows it was given; not ok if the database failed.
  using AppendWrite = std::function<Status(std::span<const SinkRow>, std::vector<RowError>*)>;
  // One Write of an additive writer: checks each row (Check: a row that fails is a dead letter
  // and adds nothing), hands the good rows to `append` first (a row the table refuses is a dead
  // letter and adds nothing either), then adds the survivors' deltas to the sums. Appends the
  // dead letters to `*errors` in row order, with their indexes in `rows`. Returns what `append`
  // returned when it failed (nothing is then added).
  // `append` empty: no sink.append. It is given `rows` itself when every row passed the check,
  // else a copy of the good ones that lives until the next AddRows().
  Status AddRows(std::span<const SinkRow> rows, const AppendWrite& append,
                 std::vector<RowError>* errors);
  // Forgets the sums (keeps the tables).
  void Clear();
  bool empty() const;

  std::span<const Table> tables() const { return tables_; }
  // The indexes of `table`'s entries in key order (the order the upserts run in, so that two
  // writers of the same keys lock them in the same order).
  std::vector<size_t> SortedEntries(const Table& table) const;
  // Sum `column` of `entry` as the value to write: an int64, or a double when some delta was.
  // A final Aborted naming table, key and column when an integer sum leaves int64.
  Result<Value> Total(const Table& table, const Entry& entry, size_t column) const;
  // "table accounts key id=5": an entry in messages.
  static std::string Name(const Table& table, const Entry& entry);

 private:
  // One `add` entry resolved against its table.
  struct Target {
    size_t table;
    std::string label;                    // "sink.add[1] (accounts)"
    std::vector<std::string> key_fields;  // in the table's key column order
    std::vector<size_t> columns;          // index into Table::columns, per delta
    std::vector<std::string> fields;      // the delta's field, without its '-'
    std::vector<bool> negate;
  };

  std::vector<Table> tables_;
  std::vector<Target> targets_;
  std::string scratch_;  // Add's encoded key
  // AddRows' scratch: the rows that passed the check (SIZE_MAX: refused by the append), the
  // append's errors and the rows handed to it when some failed.
  std::vector<size_t> good_;
  std::vector<RowError> append_errors_;
  std::vector<SinkRow> subset_;
};

}  // namespace onceflow::sink
