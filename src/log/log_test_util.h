// Helpers shared by the log's unit tests: owning-record conversions, appends and reads (temp
// directories come from the test library, src/testing).
#pragma once

#include <string>
#include <vector>

#include "log/partition_log.h"
#include "log/partition_reader.h"
#include "onceflow/record.h"
#include "testing/temp_dir.h"
#include "util/file.h"

namespace onceflow::log::testing {

using ::onceflow::testing::TempDir;

inline RecordView View(const Record& r, std::vector<HeaderView>* headers) {
  headers->clear();
  for (const Header& h : r.headers) headers->push_back({h.key, h.value});
  RecordView v;
  if (r.key) v.key = *r.key;
  v.value = r.value;
  v.timestamp_ms = r.timestamp_ms;
  v.headers = *headers;
  return v;
}

inline Record Own(const RecordView& v) {
  Record r;
  if (v.key) r.key = std::string(*v.key);
  r.value = std::string(v.value);
  r.timestamp_ms = v.timestamp_ms;
  for (const HeaderView& h : v.headers)
    r.headers.push_back({std::string(h.key), std::string(h.value)});
  return r;
}

inline std::string Encode(const std::vector<Record>& records) {
  BatchBuilder b;
  std::vector<HeaderView> headers;
  for (const Record& r : records) b.Add(View(r, &headers));
  return b.Finish();
}

// Appends one record per value, one batch each. Returns the first offset.
inline Offset AppendValues(PartitionLog* log, const std::vector<std::string>& values,
                           int64_t ts = 1000) {
  Offset first(-1);
  for (const std::string& v : values) {
    Record r;
    r.value = v;
    r.timestamp_ms = ts;
    auto off = log->Append(Encode({r}));
    if (!off.has_value()) return Offset(-1);
    if (first.value() < 0) first = *off;
  }
  return first;
}

// Reads every record from `from` to the end; fails the Result on any error.
inline Result<std::vector<std::pair<Offset, Record>>> ReadAll(const PartitionLog* log,
                                                              Offset from = Offset(0)) {
  std::vector<std::pair<Offset, Record>> out;
  PartitionReader reader(log, from, 4096);
  RecordView v;
  Offset o;
  while (true) {
    ONCEFLOW_ASSIGN_OR_RETURN(bool more, reader.Next(&v, &o));
    if (!more) break;
    out.emplace_back(o, Own(v));
  }
  return out;
}

}  // namespace onceflow::log::testing
