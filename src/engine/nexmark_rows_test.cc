// The Nexmark source's rows (NexmarkSource::ReadRows, the path a task takes) against the JSON
// decoder over the same source's records (Read): the same fields, order, types and values for
// every kind, whichever row they are filled into.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "operators/record_decoder.h"
#include "source/nexmark_source.h"

namespace onceflow::engine {
namespace {

std::unique_ptr<source::NexmarkSource> OpenSource(NexmarkKind kind, int64_t events,
                                                  int32_t partitions) {
  NexmarkSourceOptions o;
  o.kind = kind;
  o.events = events;
  o.partitions = partitions;
  o.out_of_order_group = 7;
  auto source = source::NexmarkSource::Open(o);
  EXPECT_TRUE(source.has_value());
  return std::move(*source);
}

struct Made {
  std::vector<Row> rows;
  std::vector<int64_t> timestamps;
};

// Every row of the partition through ReadRows; with `move_out`, each row is moved from (as a
// task that keeps its rows does), else copied (as a combining task does, the row reused).
Made ReadRowsOf(source::NexmarkSource* s, PartitionId p, bool move_out) {
  Made out;
  Status st = s->ReadRows(p, Offset(0), s->EndOf(p), [&](Offset, Row* row, int64_t ts) {
    out.rows.push_back(move_out ? std::move(*row) : *row);
    out.timestamps.push_back(ts);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

// Every record of the partition through Read, decoded by the JSON decoder.
Made DecodedOf(source::NexmarkSource* s, PartitionId p) {
  auto decoder = operators::RecordDecoder::Create(RecordOptions{});
  EXPECT_TRUE(decoder.has_value());
  Made out;
  Status st = s->Read(p, Offset(0), s->EndOf(p), [&](Offset o, const RecordView& r) {
    Row row;
    auto decoded = (*decoder)->Decode(p, o, r, &row);
    EXPECT_TRUE(decoded.has_value() && *decoded);
    out.rows.push_back(std::move(row));
    out.timestamps.push_back(r.timestamp_ms);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

TEST(NexmarkRowsTest, RowsAreWhatTheJsonDecoderMakesOfTheRecords) {
  for (NexmarkKind kind :
       {NexmarkKind::kBid, NexmarkKind::kAuction, NexmarkKind::kPerson, NexmarkKind::kAll}) {
    auto source = OpenSource(kind, 3000, 3);
    for (int32_t p = 0; p < 3; ++p) {
      const Made want = DecodedOf(source.get(), PartitionId(p));
      ASSERT_FALSE(want.rows.empty());
      for (bool move_out : {true, false}) {
        const Made got = ReadRowsOf(source.get(), PartitionId(p), move_out);
        ASSERT_EQ(got.rows.size(), want.rows.size());
        for (size_t i = 0; i < got.rows.size(); ++i) {
          ASSERT_EQ(got.rows[i], want.rows[i])
              << "kind " << static_cast<int>(kind) << " partition " << p << " offset " << i << ": "
              << got.rows[i].ToJson() << " vs " << want.rows[i].ToJson();
        }
        EXPECT_EQ(got.timestamps, want.timestamps);
      }
    }
  }
}

TEST(NexmarkRowsTest, ARowChangedByTheReaderIsFilledAgainWhole) {
  auto source = OpenSource(NexmarkKind::kAll, 200, 1);
  const Made want = DecodedOf(source.get(), PartitionId(0));
  std::vector<Row> got;
  // The reader renames, adds and drops fields and changes types: the next fill still makes
  // exactly the decoder's row.
  Status st =
      source->ReadRows(PartitionId(0), Offset(0), Offset(200), [&](Offset o, Row* row, int64_t) {
        got.push_back(*row);
        switch (o.value() % 4) {
          case 0: row->Set("added", int64_t{1}); break;
          case 1: row->mutable_fields()[1].second = std::string("now a string"); break;
          case 2: row->Remove("extra"); break;
          case 3: row->mutable_fields().front().first = "renamed"; break;
        }
        return Status::Ok();
      });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(got, want.rows);
}

TEST(NexmarkRowsTest, ARangeOutsideTheSourceIsRefusedAsByRead) {
  auto source = OpenSource(NexmarkKind::kBid, 100, 2);
  auto none = [](Offset, Row*, int64_t) { return Status::Ok(); };
  const Offset end = source->EndOf(PartitionId(1));
  EXPECT_TRUE(source->ReadRows(PartitionId(1), Offset(0), end + 1, none).IsOutOfRange());
  EXPECT_TRUE(source->ReadRows(PartitionId(2), Offset(0), Offset(1), none).IsOutOfRange());
  EXPECT_TRUE(source->ReadRows(PartitionId(0), Offset(0), Offset(0), none).ok());
}

}  // namespace
}  // namespace onceflow::engine
