// OutputDigest: equal outputs hash alike, any change to a row or dead letter does not.
#include "sink/output_digest.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sink/kafka_progress_marker.h"

namespace onceflow::sink {
namespace {

std::vector<SinkRow> SomeRows() {
  return {{Row{{"k", "a"}, {"v", int64_t{1}}}, PartitionId(0), Offset(7)},
          {Row{{"k", "b"}, {"v", 2.5}, {"n", Value()}, {"t", true}}, PartitionId(0), Offset(8)}};
}

TEST(OutputDigestTest, EqualOutputsHaveEqualDigestsAndTheTextFormRoundTrips) {
  const std::vector<SinkRow> rows = SomeRows();
  const std::vector<DeadLetter> dead = {{PartitionId(1), Offset(3), "{bad", "not JSON"}};
  const OutputDigest d = DigestOutput(rows, dead);
  EXPECT_EQ(d, DigestOutput(SomeRows(), dead));
  const std::string text = EncodeDigest(d);
  EXPECT_EQ(d.form, kDigestForm);
  EXPECT_EQ(text.size(), 34u);
  EXPECT_EQ(DecodeDigest(text), d);
  EXPECT_EQ(EncodeDigest(OutputDigest{0x0123456789abcdefULL, 0xfedcba9876543210ULL}),
            "2:0123456789abcdeffedcba9876543210");
  EXPECT_EQ(DecodeDigest("0123456789ABCDEFfedcba9876543210"), std::nullopt);  // lowercase only
  EXPECT_EQ(DecodeDigest("0123"), std::nullopt);
  EXPECT_EQ(DecodeDigest("3:0123456789abcdeffedcba9876543210"), std::nullopt);
  EXPECT_EQ(DecodeDigest("2:0123"), std::nullopt);
  // Form 1, as older progress rows hold it: the digits alone, read and written back alike.
  const std::optional<OutputDigest> old = DecodeDigest("0123456789abcdeffedcba9876543210");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->form, 1);
  EXPECT_EQ(old->high, 0x0123456789abcdefULL);
  EXPECT_EQ(EncodeDigest(*old), "0123456789abcdeffedcba9876543210");
  // Digests of two forms are not compared, even with equal bits.
  EXPECT_FALSE(Comparable(*old, OutputDigest{old->high, old->low}));
  EXPECT_TRUE(Comparable(d, DigestOutput({}, {})));
}

TEST(OutputDigestTest, RowsGivenOneByOneAsATaskMakesThemDigestAsAllAtOnce) {
  std::vector<SinkRow> rows = SomeRows();
  rows.push_back({Row{{"big", std::string(40000, 'y')}}, PartitionId(2), Offset(9)});
  for (int i = 0; i < 3000; ++i) {
    rows.push_back({Row{{"i", int64_t{i}}, {"s", std::string(static_cast<size_t>(i % 40), 'x')}},
                    PartitionId(1), Offset(i)});
  }
  const std::vector<DeadLetter> dead = {{PartitionId(1), Offset(3), "{bad", "not JSON"}};
  OutputDigester digester;
  for (const SinkRow& r : rows) digester.Add(r);
  EXPECT_EQ(digester.Finish(dead), DigestOutput(rows, dead));
  OutputDigester none;
  EXPECT_EQ(none.Finish({}), DigestOutput({}, {}));
  // Where the rows end counts: a row is not a dead letter's bytes, nor the rows' count.
  const std::vector<SinkRow> some = SomeRows();
  EXPECT_NE(DigestOutput(some, {}), DigestOutput(std::span(some).first(1), {}));
}

TEST(OutputDigestTest, AnyChangeOfValueTypeOrderOrOriginChangesTheDigest) {
  const OutputDigest base = DigestOutput(SomeRows(), {});
  std::vector<SinkRow> rows = SomeRows();
  rows[0].row.Set("v", int64_t{2});  // another value
  EXPECT_NE(DigestOutput(rows, {}), base);
  rows = SomeRows();
  rows[0].row.Set("v", 1.0);  // another type of the same number
  EXPECT_NE(DigestOutput(rows, {}), base);
  rows = SomeRows();
  std::swap(rows[0], rows[1]);  // another order
  EXPECT_NE(DigestOutput(rows, {}), base);
  rows = SomeRows();
  rows[1].offset = Offset(9);  // another origin
  EXPECT_NE(DigestOutput(rows, {}), base);
  rows = SomeRows();
  rows.pop_back();
  EXPECT_NE(DigestOutput(rows, {}), base);
  // Field boundaries count: "ab"+"c" is not "a"+"bc".
  const std::vector<SinkRow> ab = {{Row{{"ab", "c"}}, PartitionId(0), Offset(0)}};
  const std::vector<SinkRow> a = {{Row{{"a", "bc"}}, PartitionId(0), Offset(0)}};
  EXPECT_NE(DigestOutput(ab, {}), DigestOutput(a, {}));
  // A row turned into a dead letter changes it too.
  const std::vector<DeadLetter> dead = {{PartitionId(0), Offset(8), "x", "bad"}};
  EXPECT_NE(DigestOutput(SomeRows(), dead), base);
  EXPECT_EQ(DigestOutput({}, {}), DigestOutput({}, {}));
}

TEST(OutputDigestTest, LongStringsAndManyRowsCrossTheBufferAlike) {
  std::vector<SinkRow> rows;
  for (int i = 0; i < 5000; ++i) {
    rows.push_back(
        {Row{{"s", std::string(static_cast<size_t>(i % 50), 'x')}}, PartitionId(0), Offset(i)});
  }
  rows.push_back({Row{{"big", std::string(100000, 'y')}}, PartitionId(0), Offset(5000)});
  const OutputDigest d = DigestOutput(rows, {});
  EXPECT_EQ(d, DigestOutput(rows, {}));
  rows.back().row.Set("big", std::string(99999, 'y') + "z");
  EXPECT_NE(DigestOutput(rows, {}), d);
}

TEST(OutputDigestTest, KafkaMarkerCarriesTheDigestBeforeTheSourceAndOlderMarkersReadWithout) {
  TaskProgress p;
  p.last_batch = BatchId(4);
  p.epoch = Epoch(2);
  p.ranges = {{PartitionId(0), Offset(10), Offset(20)}};
  p.started = {{PartitionId(0), Offset(0)}};
  p.source = "log:a b digest=x";  // the rest of the value, spaces and all
  p.digest = OutputDigest{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  const std::string marker = EncodeMarker(p);
  EXPECT_EQ(marker, "batch=4 epoch=2 ranges=0:10-20 started=0:0 "
                    "digest=2:0123456789abcdeffedcba9876543210 source=log:a b digest=x");
  auto back = DecodeMarker(marker);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(back->digest, p.digest);
  EXPECT_EQ(back->source, p.source);
  EXPECT_EQ(back->started, p.started);
  // Version 2 (no digest) and version 1 (no started, no source): the digest is not known.
  // A marker of digest form 1 reads with that form.
  auto form1 = DecodeMarker("batch=4 epoch=2 ranges=0:10-20 started=0:0 "
                            "digest=0123456789abcdeffedcba9876543210 source=log:a");
  ASSERT_TRUE(form1.has_value()) << form1.error().ToString();
  ASSERT_TRUE(form1->digest.has_value());
  EXPECT_EQ(form1->digest->form, 1);
  EXPECT_EQ(form1->source, "log:a");
  auto v2 = DecodeMarker("batch=4 epoch=2 ranges=0:10-20 started=0:0 source=log:a");
  ASSERT_TRUE(v2.has_value()) << v2.error().ToString();
  EXPECT_EQ(v2->digest, std::nullopt);
  EXPECT_EQ(v2->source, "log:a");
  auto v1 = DecodeMarker("batch=4 epoch=2 ranges=0:10-20");
  ASSERT_TRUE(v1.has_value()) << v1.error().ToString();
  EXPECT_EQ(v1->digest, std::nullopt);
  p.digest.reset();
  EXPECT_EQ(EncodeMarker(p), "batch=4 epoch=2 ranges=0:10-20 started=0:0 source=log:a b digest=x");
  // A damaged digest is refused, naming the marker.
  auto bad = DecodeMarker("batch=4 epoch=2 ranges=0:10-20 started=0:0 digest=xyz source=");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("bad output digest"), std::string::npos);
}

}  // namespace
}  // namespace onceflow::sink
