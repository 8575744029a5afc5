// The additive mode's sums per table and key.
#include "sink/additive_sums.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

namespace onceflow::sink {
namespace {

// Appends an order-preserving encoding of a key value: a type byte, then integers and doubles
// as 8 big-endian bytes that compare as the numbers do, text with 0x00 escaped as 0x00 0x01
// and ended by 0x00 0x00. Equal encodings are equal keys.
void AppendKeyBytes(const Value& v, std::string* out) {
  auto put64 = [&](uint64_t x) {
    for (int s = 56; s >= 0; s -= 8) out->push_back(static_cast<char>((x >> s) & 0xff));
  };
  out->push_back(static_cast<char>(1 + v.index()));
  if (const auto* b = std::get_if<bool>(&v)) {
    out->push_back(*b ? 1 : 0);
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    put64(static_cast<uint64_t>(*i) ^ (uint64_t{1} << 63));
  } else if (const auto* d = std::get_if<double>(&v)) {
    uint64_t bits;
    if (std::isnan(*d)) {
      bits = ~uint64_t{0};
    } else {
      const double z = *d == 0 ? 0.0 : *d;  // -0.0 and 0.0 are one key
      std::memcpy(&bits, &z, 8);
      bits = (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
    }
    put64(bits);
  } else if (const auto* s = std::get_if<std::string>(&v)) {
    for (char c : *s) {
      out->push_back(c);
      if (c == 0) out->push_back(1);
    }
    out->push_back(0);
    out->push_back(0);
  }
}

std::string Int128ToString(__int128 v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  unsigned __int128 u = negative ? -static_cast<unsigned __int128>(v) : v;
  std::string digits;
  while (u != 0) {
    digits.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (negative) digits.push_back('-');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

}  // namespace

AdditiveSums::AdditiveSums(std::span<const AddTo> add) {
  for (size_t i = 0; i < add.size(); ++i) {
    const AddTo& a = add[i];
    size_t t = 0;
    while (t < tables_.size() && tables_[t].name != a.table) ++t;
    if (t == tables_.size()) {
      Table table;
      table.name = a.table;
      for (const ColumnField& k : a.key) table.key_columns.push_back(k.column);
      tables_.push_back(std::move(table));
    }
    Table& table = tables_[t];
    Target target;
    target.table = t;
    target.label = "sink.add[" + std::to_string(i) + "] (" + a.table + ")";
    for (const std::string& column : table.key_columns) {
      for (const ColumnField& k : a.key) {
        if (k.column == column) target.key_fields.push_back(k.field);
      }
    }
    for (const ColumnField& d : a.add) {
      auto it = std::find(table.columns.begin(), table.columns.end(), d.column);
      if (it == table.columns.end()) it = table.columns.insert(table.columns.end(), d.column);
      target.columns.push_back(static_cast<size_t>(it - table.columns.begin()));
      const bool negate = d.field.starts_with('-');
      target.fields.push_back(negate ? d.field.substr(1) : d.field);
      target.negate.push_back(negate);
    }
    targets_.push_back(std::move(target));
  }
}

std::string AdditiveSums::Check(const Row& row) const {
  for (const Target& t : targets_) {
    const Table& table = tables_[t.table];
    for (size_t k = 0; k < t.key_fields.size(); ++k) {
      const Value* v = row.Get(t.key_fields[k]);
      if (v == nullptr || std::holds_alternative<std::monostate>(*v)) {
        return t.label + ": the row has no field '" + t.key_fields[k] + "' for key column " +
               table.key_columns[k] + (v == nullptr ? "" : " (it is null)");
      }
    }
    for (size_t d = 0; d < t.fields.size(); ++d) {
      const Value* v = row.Get(t.fields[d]);
      if (v == nullptr) {
        return t.label + ": the row has no field '" + t.fields[d] + "' to add to column " +
               table.columns[t.columns[d]];
      }
      if (!std::holds_alternative<int64_t>(*v) && !std::holds_alternative<double>(*v)) {
        return t.label + ": field '" + t.fields[d] + "' is " + ValueToString(*v) +
               ", not a number to add to column " + table.columns[t.columns[d]];
      }
    }
  }
  return "";
}

void AdditiveSums::Add(const Row& row) {
  for (const Target& t : targets_) {
    Table& table = tables_[t.table];
    scratch_.clear();
    for (const std::string& f : t.key_fields) AppendKeyBytes(*row.Get(f), &scratch_);
    auto [it, inserted] = table.index.try_emplace(scratch_, table.entries.size());
    if (inserted) {
      Entry entry;
      for (const std::string& f : t.key_fields) entry.key.push_back(*row.Get(f));
      entry.sums.resize(table.columns.size());
      table.entries.push_back(std::move(entry));
    }
    Entry& entry = table.entries[it->second];
    for (size_t d = 0; d < t.fields.size(); ++d) {
      Sum& sum = entry.sums[t.columns[d]];
      const Value& v = *row.Get(t.fields[d]);
      if (const auto* i = std::get_if<int64_t>(&v)) {
        sum.integer += t.negate[d] ? -static_cast<__int128>(*i) : static_cast<__int128>(*i);
      } else {
        const double x = std::get<double>(v);
        sum.real += t.negate[d] ? -x : x;
        sum.is_real = true;
      }
    }
  }
}

Status AdditiveSums::AddRows(std::span<const SinkRow> rows, const AppendWrite& append,
                             std::vector<RowError>* errors) {
  const size_t errors_before = errors->size();
  good_.clear();
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string error = Check(rows[i].row);
    if (error.empty()) {
      good_.push_back(i);
    } else {
      errors->push_back({i, std::move(error)});
    }
  }
  if (append && !good_.empty()) {
    // The plain rows first: a row the table refuses must add nothing either.
    append_errors_.clear();
    if (good_.size() == rows.size()) {
      ONCEFLOW_RETURN_IF_ERROR(append(rows, &append_errors_));
    } else {
      subset_.clear();
      for (size_t i : good_) subset_.push_back(rows[i]);
      ONCEFLOW_RETURN_IF_ERROR(append(subset_, &append_errors_));
    }
    for (RowError& e : append_errors_) {
      const size_t row = good_[e.index];
      good_[e.index] = SIZE_MAX;
      errors->push_back({row, std::move(e.message)});
    }
  }
  for (size_t i : good_) {
    if (i != SIZE_MAX) Add(rows[i].row);
  }
  std::sort(errors->begin() + static_cast<std::ptrdiff_t>(errors_before), errors->end(),
            [](const RowError& a, const RowError& b) { return a.index < b.index; });
  return Status::Ok();
}

void AdditiveSums::Clear() {
  for (Table& t : tables_) {
    t.entries.clear();
    t.index.clear();
  }
}

bool AdditiveSums::empty() const {
  return std::all_of(tables_.begin(), tables_.end(),
                     [](const Table& t) { return t.entries.empty(); });
}

std::vector<size_t> AdditiveSums::SortedEntries(const Table& table) const {
  std::vector<std::pair<std::string_view, size_t>> keys;
  keys.reserve(table.index.size());
  for (const auto& [encoded, i] : table.index) keys.emplace_back(encoded, i);
  std::sort(keys.begin(), keys.end());
  std::vector<size_t> order;
  order.reserve(keys.size());
  for (const auto& k : keys) order.push_back(k.second);
  return order;
}

Result<Value> AdditiveSums::Total(const Table& table, const Entry& entry, size_t column) const {
  const Sum& sum = entry.sums[column];
  if (sum.is_real) return Value(sum.real + static_cast<double>(sum.integer));
  if (sum.integer > std::numeric_limits<int64_t>::max() ||
      sum.integer < std::numeric_limits<int64_t>::min()) {
    return Err(Status::Aborted(Name(table, entry) + ": the batch's sum for column " +
                               table.columns[column] + ", " + Int128ToString(sum.integer) +
                               ", is outside the 64-bit integer range; refused (nothing "
                               "of the batch is committed)"));
  }
  return Value(static_cast<int64_t>(sum.integer));
}

std::string AdditiveSums::Name(const Table& table, const Entry& entry) {
  std::string name = "table " + table.name + " key ";
  for (size_t k = 0; k < entry.key.size(); ++k) {
    if (k > 0) name += ",";
    name += table.key_columns[k] + "=" + ValueToString(entry.key[k]);
  }
  return name;
}

}  // namespace onceflow::sink
