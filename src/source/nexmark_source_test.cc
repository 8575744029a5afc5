// The Nexmark generator: every event a pure function of its number and the options, the same
// under any partitioning, in the reference model's proportions and id spaces.
#include "source/nexmark_source.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "source/nexmark_model.h"

namespace onceflow::source {
namespace {

NexmarkSourceOptions Options(int64_t events, int32_t partitions, NexmarkKind kind) {
  NexmarkSourceOptions o;
  o.events = events;
  o.partitions = partitions;
  o.kind = kind;
  return o;
}

std::string JsonOf(const NexmarkSourceOptions& o, int64_t n) {
  nexmark::Event e;
  nexmark::Generate(o, n, &e);
  std::string out;
  nexmark::AppendJson(e, o.kind == NexmarkKind::kAll, &out);
  return out;
}

// Every record of every partition, indexed by the kind's event number (k * P + p).
std::map<int64_t, std::pair<std::string, int64_t>> ReadAll(NexmarkSource* source, int32_t parts) {
  std::map<int64_t, std::pair<std::string, int64_t>> out;
  auto bounds = source->OffsetBounds();
  EXPECT_TRUE(bounds.has_value());
  for (int32_t p = 0; p < parts; ++p) {
    Status s =
        source->Read(PartitionId(p), Offset(0), bounds->end[p], [&](Offset o, const RecordView& r) {
          const int64_t j = o.value() * parts + p;
          EXPECT_FALSE(r.key.has_value());
          EXPECT_TRUE(out.emplace(j, std::make_pair(std::string(r.value), r.timestamp_ms)).second);
          return Status::Ok();
        });
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return out;
}

TEST(NexmarkModelTest, AnEventIsTheSameEveryTimeItIsMade) {
  NexmarkSourceOptions o = Options(1000, 1, NexmarkKind::kAll);
  for (int64_t n : {0, 1, 2, 3, 4, 49, 50, 12345, 999999999}) {
    EXPECT_EQ(JsonOf(o, n), JsonOf(o, n)) << n;
  }
  // Different events differ.
  EXPECT_NE(JsonOf(o, 10), JsonOf(o, 11));
}

TEST(NexmarkModelTest, TypesFollowTheReferenceProportions) {
  std::map<nexmark::EventType, int> counts;
  for (int64_t n = 0; n < 5000; ++n) ++counts[nexmark::TypeOf(n)];
  EXPECT_EQ(counts[nexmark::EventType::kPerson], 100);
  EXPECT_EQ(counts[nexmark::EventType::kAuction], 300);
  EXPECT_EQ(counts[nexmark::EventType::kBid], 4600);
  for (NexmarkKind kind : {NexmarkKind::kBid, NexmarkKind::kAuction, NexmarkKind::kPerson}) {
    int64_t j = 0;
    for (int64_t n = 0; n < 5000; ++n) {
      const auto t = nexmark::TypeOf(n);
      const bool mine = (kind == NexmarkKind::kBid && t == nexmark::EventType::kBid) ||
                        (kind == NexmarkKind::kAuction && t == nexmark::EventType::kAuction) ||
                        (kind == NexmarkKind::kPerson && t == nexmark::EventType::kPerson);
      if (!mine) continue;
      ASSERT_EQ(nexmark::EventNumberOf(kind, j), n);
      ++j;
      ASSERT_EQ(nexmark::CountOf(kind, n + 1), j);
    }
  }
}

TEST(NexmarkModelTest, IdsPricesAndSizesAreThoseOfTheModel) {
  NexmarkSourceOptions o = Options(100000, 1, NexmarkKind::kAll);
  std::set<int64_t> person_ids, auction_ids;
  int64_t bid_bytes = 0, bids = 0, hot_channel = 0;
  for (int64_t n = 0; n < 100000; ++n) {
    nexmark::Event e;
    nexmark::Generate(o, n, &e);
    EXPECT_EQ(e.date_time, o.base_time_ms + n / 10000);  // 10 M events/s
    switch (e.type) {
      case nexmark::EventType::kPerson:
        EXPECT_TRUE(person_ids.insert(e.id).second);
        EXPECT_EQ(e.id, nexmark::kFirstPersonId + n / 50);
        EXPECT_EQ(e.credit_card.size(), 19u);
        EXPECT_NE(e.email_address.find('@'), std::string_view::npos);
        break;
      case nexmark::EventType::kAuction:
        EXPECT_TRUE(auction_ids.insert(e.id).second);
        EXPECT_GE(e.category, 10);
        EXPECT_LE(e.category, 14);
        EXPECT_GT(e.reserve, e.initial_bid);
        EXPECT_GT(e.expires, e.date_time);
        // A seller is a person that exists, or one of the few ids ahead of the last.
        EXPECT_LE(e.seller, nexmark::kFirstPersonId + n / 50 + 10);
        break;
      case nexmark::EventType::kBid:
        ++bids;
        bid_bytes += 32 + static_cast<int64_t>(e.extra.size());
        EXPECT_GE(e.price, 100);
        EXPECT_LE(e.price, 100'000'000);
        EXPECT_GE(e.auction, nexmark::kFirstAuctionId);
        EXPECT_LE(e.auction, nexmark::kFirstAuctionId + (n / 50) * 3 + 2 + 10);
        EXPECT_EQ(e.url.rfind("https://www.nexmark.com/", 0), 0u);
        if (e.channel == "Google" || e.channel == "Facebook" || e.channel == "Baidu" ||
            e.channel == "Apple") {
          ++hot_channel;
        } else {
          EXPECT_EQ(e.channel.rfind("channel-", 0), 0u) << e.channel;
        }
        break;
    }
  }
  EXPECT_EQ(person_ids.size(), 2000u);
  EXPECT_EQ(auction_ids.size(), 6000u);
  // The padding makes a bid 100 bytes on average; half the bids are on the four hot channels
  // (3/4 of a half, give or take).
  EXPECT_NEAR(static_cast<double>(bid_bytes) / static_cast<double>(bids), 100.0, 2.0);
  EXPECT_NEAR(static_cast<double>(hot_channel) / static_cast<double>(bids), 0.5, 0.02);
}

TEST(NexmarkModelTest, OutOfOrderGroupsPermuteEventTimesWithinEachGroup) {
  NexmarkSourceOptions o = Options(1000, 1, NexmarkKind::kAll);
  o.events_per_second = 1000;  // 1 ms apart
  o.out_of_order_group = 10;
  std::multiset<int64_t> times;
  bool out_of_order = false;
  for (int64_t n = 0; n < 1000; ++n) {
    times.insert(nexmark::EventTimeOf(o, n));
    if (n > 0 && nexmark::EventTimeOf(o, n) < nexmark::EventTimeOf(o, n - 1)) out_of_order = true;
    EXPECT_EQ(nexmark::EventTimeOf(o, n) / 10, (o.base_time_ms + n) / 10);  // same group
  }
  EXPECT_TRUE(out_of_order);
  // A permutation: every time of the in-order stream, once.
  std::multiset<int64_t> expected;
  for (int64_t n = 0; n < 1000; ++n) expected.insert(o.base_time_ms + n);
  EXPECT_EQ(times, expected);
}

TEST(NexmarkModelTest, ASquareRateAlternatesItsTwoRatesExactly) {
  // Period 2 s: 1 s at 1000 events/s (1000 events 1 ms apart), then 1 s at 10 events/s (10
  // events 100 ms apart); an epoch is 1010 events in 2000 ms.
  NexmarkSourceOptions o = Options(100'000, 1, NexmarkKind::kAll);
  o.base_time_ms = 5'000;
  o.events_per_second = 1000;
  o.rate_shape = NexmarkRateShape::kSquare;
  o.next_events_per_second = 10;
  o.rate_period_s = 2;
  const std::vector<std::pair<int64_t, int64_t>> want = {
      {0, 5'000},    {1, 5'001},    {999, 5'999},  {1000, 6'000},    {1001, 6'100},   {1009, 6'900},
      {1010, 7'000}, {2019, 8'900}, {2020, 9'000}, {10'100, 25'000}, {10'105, 25'005}};
  for (const auto& [n, t] : want) EXPECT_EQ(nexmark::EventTimeOf(o, n), t) << "event " << n;
  nexmark::Event e;
  nexmark::Generate(o, 1001, &e);
  EXPECT_EQ(e.date_time, 6'100);
}

TEST(NexmarkModelTest, ASineRateFollowsTheCosineInTenSteps) {
  // Period 10 s in ten 1 s steps from 1500 events/s down to 500 and back: rates 1500, 1405,
  // 1155, 845, 595, 500, 595, 845, 1155, 1405 (round(1000 + 500 cos(2 pi i / 10))), gaps
  // 1e9 / rate ns rounded (666667 ns at 1500/s, so that 1499 events fit the first second).
  NexmarkSourceOptions o = Options(100'000, 1, NexmarkKind::kAll);
  o.base_time_ms = 0;
  o.events_per_second = 1500;
  o.rate_shape = NexmarkRateShape::kSine;
  o.next_events_per_second = 500;
  o.rate_period_s = 10;
  const std::vector<std::pair<int64_t, int64_t>> want = {
      {0, 0},       {1, 0},       {1498, 998},  {1499, 999},  {1500, 999},   {2903, 1998},
      {5000, 4161}, {9992, 9988}, {9993, 9989}, {9999, 9993}, {11492, 10988}};
  for (const auto& [n, t] : want) EXPECT_EQ(nexmark::EventTimeOf(o, n), t) << "event " << n;
  // Events per second of event time over the first period: the cosine.
  std::vector<int64_t> per_second(10);
  int64_t last = 0;
  for (int64_t n = 0; n < 9993; ++n) {
    const int64_t t = nexmark::EventTimeOf(o, n);
    ASSERT_GE(t, last);
    last = t;
    ++per_second[t / 1000];
  }
  EXPECT_EQ(per_second,
            (std::vector<int64_t>{1501, 1405, 1154, 844, 595, 501, 597, 849, 1158, 1389}));
}

TEST(NexmarkModelTest, AConstantRateKeepsItsIdentityAndAShapeChangesIt) {
  NexmarkSourceOptions o = Options(1000, 2, NexmarkKind::kBid);
  const std::string constant = nexmark::NexmarkFingerprint(o);
  EXPECT_EQ(constant.find("rate_shape"), std::string::npos);
  o.next_events_per_second = 7;  // not used by a constant rate
  EXPECT_EQ(nexmark::NexmarkFingerprint(o), constant);
  o.rate_shape = NexmarkRateShape::kSine;
  EXPECT_EQ(nexmark::NexmarkFingerprint(o),
            constant + " rate_shape=sine next_events_per_second=7 rate_period_s=600");
  o.next_events_per_second = 0;
  EXPECT_EQ(nexmark::ValidateNexmarkOptions(o),
            "source.next_events_per_second: must be between 1 and 1000000000 with a "
            "rate_shape, got 0");
}

TEST(NexmarkSourceTest, AnyPartitioningReadsTheSameEvents) {
  for (NexmarkKind kind :
       {NexmarkKind::kBid, NexmarkKind::kAuction, NexmarkKind::kPerson, NexmarkKind::kAll}) {
    std::map<int64_t, std::pair<std::string, int64_t>> first;
    for (int32_t parts : {1, 3, 8}) {
      auto source = NexmarkSource::Open(Options(5003, parts, kind));
      ASSERT_TRUE(source.has_value());
      auto all = ReadAll(source->get(), parts);
      ASSERT_EQ(static_cast<int64_t>(all.size()), nexmark::CountOf(kind, 5003));
      for (const auto& [j, rec] : all) {
        NexmarkSourceOptions o = Options(5003, parts, kind);
        ASSERT_EQ(rec.first, JsonOf(o, nexmark::EventNumberOf(kind, j)));
      }
      if (first.empty()) {
        first = all;
      } else {
        EXPECT_EQ(all, first) << "kind " << nexmark::KindName(kind) << ", " << parts
                              << " partitions";
      }
    }
  }
}

TEST(NexmarkSourceTest, ASubRangeReadsWhatTheWholeRangeRead) {
  auto source = NexmarkSource::Open(Options(10000, 4, NexmarkKind::kBid));
  ASSERT_TRUE(source.has_value());
  std::vector<std::string> whole, parts;
  auto collect = [](std::vector<std::string>* out) {
    return [out](Offset, const RecordView& r) {
      out->emplace_back(r.value);
      return Status::Ok();
    };
  };
  ASSERT_TRUE((*source)->Read(PartitionId(2), Offset(100), Offset(200), collect(&whole)).ok());
  ASSERT_TRUE((*source)->Read(PartitionId(2), Offset(100), Offset(150), collect(&parts)).ok());
  ASSERT_TRUE((*source)->Read(PartitionId(2), Offset(150), Offset(200), collect(&parts)).ok());
  EXPECT_EQ(whole, parts);
  EXPECT_EQ(whole.size(), 100u);
}

TEST(NexmarkSourceTest, BoundsEndAtTheKindsShareOfTheEvents) {
  // 1000 events: 20 people, 60 auctions, 920 bids.
  auto source = NexmarkSource::Open(Options(1000, 3, NexmarkKind::kBid));
  ASSERT_TRUE(source.has_value());
  auto bounds = (*source)->OffsetBounds();
  ASSERT_TRUE(bounds.has_value());
  EXPECT_EQ(bounds->end, (std::vector<Offset>{Offset(307), Offset(307), Offset(306)}));
  EXPECT_EQ(bounds->earliest, (std::vector<Offset>{Offset(0), Offset(0), Offset(0)}));
  // A range past the end is an error, never a short read.
  Status s = (*source)->Read(PartitionId(2), Offset(300), Offset(307),
                             [](Offset, const RecordView&) { return Status::Ok(); });
  EXPECT_TRUE(s.IsOutOfRange()) << s.ToString();
  EXPECT_NE(s.message().find("ends at offset 306"), std::string::npos) << s.message();
}

TEST(NexmarkSourceTest, TheIdentityNamesEverySettingThatChangesAnEvent) {
  NexmarkSourceOptions a = Options(1000, 2, NexmarkKind::kBid);
  auto id_of = [](const NexmarkSourceOptions& o) {
    auto source = NexmarkSource::Open(o);
    EXPECT_TRUE(source.has_value());
    return (*source)->Identity()->ToString();
  };
  const std::string base = id_of(a);
  EXPECT_EQ(base,
            "nexmark generator 'bid' (model=1 kind=bid partitions=2 events_per_second=10000000 "
            "base_time_ms=1704067200000 out_of_order_group=1)");
  NexmarkSourceOptions more = a;
  more.events = 5000;  // only where it ends
  EXPECT_EQ(id_of(more), base);
  for (auto change : std::vector<std::function<void(NexmarkSourceOptions*)>>{
           [](NexmarkSourceOptions* o) { o->partitions = 3; },
           [](NexmarkSourceOptions* o) { o->kind = NexmarkKind::kAll; },
           [](NexmarkSourceOptions* o) { o->events_per_second = 1000; },
           [](NexmarkSourceOptions* o) { o->base_time_ms = 0; },
           [](NexmarkSourceOptions* o) { o->out_of_order_group = 7; }}) {
    NexmarkSourceOptions b = a;
    change(&b);
    EXPECT_NE(id_of(b), base);
  }
}

TEST(NexmarkSourceTest, BadOptionsAreRefusedNamingTheKey) {
  NexmarkSourceOptions o = Options(0, 1, NexmarkKind::kBid);
  auto r = NexmarkSource::Open(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "source.events: must be between 1 and 1125899906842624, got 0");
  o.events = 10;
  o.out_of_order_group = 953 * 2;
  r = NexmarkSource::Open(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("source.out_of_order_group"), std::string::npos);
}

}  // namespace
}  // namespace onceflow::source
