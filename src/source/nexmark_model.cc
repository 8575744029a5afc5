// The Nexmark event model. The structure follows the reference generators (PersonGenerator,
// AuctionGenerator, BidGenerator of nexmark/nexmark and Apache Beam); the random numbers come
// from a SplitMix64 stream seeded by the event number, so that any event can be made alone.
#include "source/nexmark_model.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <vector>

#include "source/nexmark_rate.h"

namespace onceflow::source::nexmark {
namespace {

// The generators' own constants.
constexpr int64_t kNumCategories = 5;
constexpr int64_t kAuctionIdLead = 10;
constexpr int64_t kPersonIdLead = 10;
constexpr int64_t kHotBatch = 100;  // HOT_SELLER_RATIO, HOT_AUCTION_RATIO, HOT_BIDDER_RATIO
constexpr int64_t kHotAuctionRatio = 2;
constexpr int64_t kHotSellersRatio = 4;
constexpr int64_t kHotBiddersRatio = 4;
constexpr int64_t kNumInFlightAuctions = 100;
constexpr int64_t kNumActivePeople = 1000;
constexpr int kAvgPersonBytes = 200;
constexpr int kAvgAuctionBytes = 500;
constexpr int kAvgBidBytes = 100;
constexpr int kHotChannelsRatio = 2;
constexpr int kChannels = 10'000;
constexpr int kOutOfOrderStride = 953;  // the reference's permutation within a group

constexpr std::array<std::string_view, 6> kStates = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr std::array<std::string_view, 10> kCities = {
    "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
    "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
constexpr std::array<std::string_view, 11> kFirstNames = {
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"};
constexpr std::array<std::string_view, 9> kLastNames = {
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"};
constexpr std::array<std::string_view, 4> kHotChannels = {"Google", "Facebook", "Baidu", "Apple"};

// SplitMix64 (Steele, Lea, Flood): one 64-bit state, good statistics, a few instructions.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed * 0xD1B54A32D192ED03ULL + 0x2545F4914F6CDD1DULL) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // [0, bound), bound > 0 (Lemire's multiply-shift).
  int64_t NextInt(int64_t bound) {
    return static_cast<int64_t>(
        (static_cast<unsigned __int128>(Next()) * static_cast<uint64_t>(bound)) >> 64);
  }
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// Shared tables, made once from fixed seeds: the same in every process.
struct Tables {
  // The padding's letters, as the reference's REUSABLE_EXTRA_STRING (1 MiB there): 16 KiB
  // here, which stays in the L1/L2 cache (a padding copied from a random place in 1 MiB cost
  // a cache miss per event, most of the generator's time).
  std::string extra_pool;
  std::array<std::string, 4> hot_urls;
  std::vector<std::string> channel_names;
  std::vector<std::string> channel_urls;

  Tables() {
    Random r(0x6E65786D61726BULL);  // "nexmark"
    extra_pool.resize(16 << 10);
    for (char& c : extra_pool) c = static_cast<char>('a' + r.NextInt(26));
    for (std::string& u : hot_urls) u = BaseUrl(&r);
    channel_names.reserve(kChannels);
    channel_urls.reserve(kChannels);
    for (int i = 0; i < kChannels; ++i) {
      std::string url = BaseUrl(&r);
      if (r.NextInt(10) > 0) {
        // The reference's Math.abs(Integer.reverse(i)).
        const auto reversed = static_cast<int32_t>(ReverseBits(static_cast<uint32_t>(i)));
        url += "&channel_id=" + std::to_string(std::abs(static_cast<int64_t>(reversed)));
      }
      channel_names.push_back("channel-" + std::to_string(i));
      channel_urls.push_back(std::move(url));
    }
  }

  static uint32_t ReverseBits(uint32_t v) {
    uint32_t out = 0;
    for (int b = 0; b < 32; ++b) out |= ((v >> b) & 1u) << (31 - b);
    return out;
  }

  static std::string BaseUrl(Random* r) {
    std::string url = "https://www.nexmark.com/";
    for (int i = 0; i < 3; ++i) {
      char buf[8];
      const size_t n = NextString(r, 5, '_', buf);
      url.append(buf, n);
      url += '/';
    }
    return url + "item.htm?query=1";
  }

  // StringsGenerator.nextString: 3 to max_length-1 characters, 1 in 13 `special`, else a
  // lowercase letter; with special ' ' trimmed. Writes to out, returns the length.
  static size_t NextString(Random* r, int max_length, char special, char* out) {
    const int64_t len = 3 + r->NextInt(max_length - 3);
    uint64_t bits = 0;
    int left = 0;
    for (int64_t i = 0; i < len; ++i) {
      if (left == 0) {
        bits = r->Next();
        left = 4;
      }
      const uint32_t v = static_cast<uint32_t>(bits & 0xFFFF);
      bits >>= 16;
      --left;
      out[i] = v % 13 == 0 ? special : static_cast<char>('a' + (v / 13) % 26);
    }
    size_t begin = 0;
    auto end = static_cast<size_t>(len);
    if (special == ' ') {
      while (begin < end && out[begin] == ' ') ++begin;
      while (end > begin && out[end - 1] == ' ') --end;
      if (begin > 0) std::copy(out + begin, out + end, out);
    }
    return end - begin;
  }
};

const Tables& SharedTables() {
  static const Tables tables;
  return tables;
}

// 64-bit arithmetic suffices: event numbers stay below 2^50 (ValidateNexmarkOptions; an
// auction looks 1666 events ahead), so m * 1000 and n * 953 stay below 2^61.
int64_t TimeOfNumber(const NexmarkSourceOptions& o, int64_t m) { return RateTimeOf(o, m); }

int64_t Adjusted(const NexmarkSourceOptions& o, int64_t n) {
  const int64_t g = o.out_of_order_group;
  if (g <= 1) return n;
  return (n / g) * g + (n * kOutOfOrderStride) % g;
}

// PriceGenerator.nextPrice: 10^(6u) * 100, rounded: 1.00 to 1,000,000.00 in cents, log-uniform.
int64_t NextPrice(Random* r) {
  return std::llround(std::exp(r->NextDouble() * 6.0 * 2.302585092994045684) * 100.0);
}

// StringsGenerator.nextExtra: padding so that current_size plus it is on average `average`.
std::string_view NextExtra(Random* r, int current_size, int average) {
  if (current_size > average) return {};
  const int wanted = average - current_size;
  const int delta = static_cast<int>(std::lround(wanted * 0.2));
  const int size = wanted - delta + (delta == 0 ? 0 : static_cast<int>(r->NextInt(2 * delta)));
  const std::string& pool = SharedTables().extra_pool;
  const int64_t offset = r->NextInt(static_cast<int64_t>(pool.size()) - size);
  return std::string_view(pool).substr(static_cast<size_t>(offset), static_cast<size_t>(size));
}

int64_t LastBase0PersonId(int64_t n) {
  const int64_t epoch = n / kTotalProportion;
  int64_t offset = n % kTotalProportion;
  if (offset >= kPersonProportion) offset = kPersonProportion - 1;
  return epoch * kPersonProportion + offset;
}

int64_t LastBase0AuctionId(int64_t n) {
  int64_t epoch = n / kTotalProportion;
  int64_t offset = n % kTotalProportion;
  if (offset < kPersonProportion) {
    --epoch;
    offset = kAuctionProportion - 1;
  } else if (offset >= kPersonProportion + kAuctionProportion) {
    offset = kAuctionProportion - 1;
  } else {
    offset -= kPersonProportion;
  }
  return epoch * kAuctionProportion + offset;
}

int64_t NextBase0PersonId(int64_t n, Random* r) {
  const int64_t people = LastBase0PersonId(n) + 1;
  const int64_t active = std::min(people, kNumActivePeople);
  return people - active + r->NextInt(active + kPersonIdLead);
}

int64_t NextBase0AuctionId(int64_t n, Random* r) {
  const int64_t max_auction = LastBase0AuctionId(n);
  const int64_t min_auction = std::max<int64_t>(max_auction - kNumInFlightAuctions, 0);
  return min_auction + r->NextInt(max_auction - min_auction + 1 + kAuctionIdLead);
}

void MakePerson(int64_t n, Random* r, Event* e) {
  e->id = LastBase0PersonId(n) + kFirstPersonId;
  char* p = e->buffer;
  const std::string_view first = kFirstNames[r->NextInt(kFirstNames.size())];
  const std::string_view last = kLastNames[r->NextInt(kLastNames.size())];
  char* start = p;
  p = std::copy(first.begin(), first.end(), p);
  *p++ = ' ';
  p = std::copy(last.begin(), last.end(), p);
  e->name = std::string_view(start, static_cast<size_t>(p - start));
  start = p;
  p += Tables::NextString(r, 7, ' ', p);
  *p++ = '@';
  p += Tables::NextString(r, 5, ' ', p);
  p = std::copy_n(".com", 4, p);
  e->email_address = std::string_view(start, static_cast<size_t>(p - start));
  start = p;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *p++ = ' ';
    auto v = static_cast<int>(r->NextInt(10000));
    for (int d = 3; d >= 0; --d) {
      p[d] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += 4;
  }
  e->credit_card = std::string_view(start, static_cast<size_t>(p - start));
  e->city = kCities[r->NextInt(kCities.size())];
  e->state = kStates[r->NextInt(kStates.size())];
  const int size = 8 + static_cast<int>(e->name.size() + e->email_address.size() +
                                        e->credit_card.size() + e->city.size() + e->state.size());
  e->extra = NextExtra(r, size, kAvgPersonBytes);
}

void MakeAuction(const NexmarkSourceOptions& o, int64_t n, Random* r, Event* e) {
  e->id = LastBase0AuctionId(n) + kFirstAuctionId;
  // nextSellerIdWithRandom: a hot seller with probability 1 - 1/kHotSellersRatio.
  int64_t seller = r->NextInt(kHotSellersRatio) > 0 ? (LastBase0PersonId(n) / kHotBatch) * kHotBatch
                                                    : NextBase0PersonId(n, r);
  e->seller = seller + kFirstPersonId;
  e->category = kFirstCategoryId + r->NextInt(kNumCategories);
  e->initial_bid = NextPrice(r);
  // nextAuctionLengthMs: on average the time until kNumInFlightAuctions more auctions exist.
  const int64_t now = Adjusted(o, n);
  const int64_t ahead = kNumInFlightAuctions * kTotalProportion / kAuctionProportion;
  const int64_t horizon = TimeOfNumber(o, now + ahead) - e->date_time;
  e->expires = e->date_time + 1 + r->NextInt(std::max<int64_t>(horizon * 2, 1));
  char* p = e->buffer;
  const size_t name = Tables::NextString(r, 20, ' ', p);
  e->item_name = std::string_view(p, name);
  p += name;
  const size_t desc = Tables::NextString(r, 100, ' ', p);
  e->description = std::string_view(p, desc);
  e->reserve = e->initial_bid + NextPrice(r);
  const int size = 8 + static_cast<int>(name + desc) + 8 * 5;
  e->extra = NextExtra(r, size, kAvgAuctionBytes);
}

void MakeBid(int64_t n, Random* r, Event* e) {
  int64_t auction = r->NextInt(kHotAuctionRatio) > 0
                        ? (LastBase0AuctionId(n) / kHotBatch) * kHotBatch
                        : NextBase0AuctionId(n, r);
  e->auction = auction + kFirstAuctionId;
  // The second person of the batch, so that hot bidders and hot sellers differ.
  int64_t bidder = r->NextInt(kHotBiddersRatio) > 0
                       ? (LastBase0PersonId(n) / kHotBatch) * kHotBatch + 1
                       : NextBase0PersonId(n, r);
  e->bidder = bidder + kFirstPersonId;  // (the reference adds kFirstPersonId twice: a slip)
  e->price = NextPrice(r);
  const Tables& t = SharedTables();
  if (r->NextInt(kHotChannelsRatio) > 0) {
    const auto i = static_cast<size_t>(r->NextInt(kHotChannels.size()));
    e->channel = kHotChannels[i];
    e->url = t.hot_urls[i];
  } else {
    const auto i = static_cast<size_t>(r->NextInt(kChannels));
    e->channel = t.channel_names[i];
    e->url = t.channel_urls[i];
  }
  e->extra = NextExtra(r, 8 * 4, kAvgBidBytes);
}

// The JSON text is written straight into a buffer sized for the largest event: a field name
// is a literal of known length (one inlined copy), no per-append capacity checks.
constexpr size_t kMaxJsonBytes = 4096;

template <size_t N>
void Put(char** p, const char (&literal)[N]) {
  std::memcpy(*p, literal, N - 1);
  *p += N - 1;
}

void PutInt(char** p, int64_t v) { *p = std::to_chars(*p, *p + 24, v).ptr; }

// The model's strings need no escaping: letters, digits, spaces and URL characters only.
void PutString(char** p, std::string_view v) {
  **p = '"';
  std::memcpy(*p + 1, v.data(), v.size());
  *p += v.size() + 2;
  (*p)[-1] = '"';
}

}  // namespace

int64_t EventNumberOf(NexmarkKind kind, int64_t j) {
  switch (kind) {
    case NexmarkKind::kBid:
      return (j / kBidProportion) * kTotalProportion + kPersonProportion + kAuctionProportion +
             j % kBidProportion;
    case NexmarkKind::kAuction:
      return (j / kAuctionProportion) * kTotalProportion + kPersonProportion +
             j % kAuctionProportion;
    case NexmarkKind::kPerson:
      return (j / kPersonProportion) * kTotalProportion + j % kPersonProportion;
    case NexmarkKind::kAll: return j;
  }
  return j;
}

int64_t CountOf(NexmarkKind kind, int64_t events) {
  const int64_t full = events / kTotalProportion;
  const int64_t rest = events % kTotalProportion;
  switch (kind) {
    case NexmarkKind::kBid:
      return full * kBidProportion +
             std::max<int64_t>(0, rest - kPersonProportion - kAuctionProportion);
    case NexmarkKind::kAuction:
      return full * kAuctionProportion +
             std::clamp<int64_t>(rest - kPersonProportion, 0, kAuctionProportion);
    case NexmarkKind::kPerson:
      return full * kPersonProportion + std::min<int64_t>(rest, kPersonProportion);
    case NexmarkKind::kAll: return events;
  }
  return events;
}

int64_t EventTimeOf(const NexmarkSourceOptions& options, int64_t n) {
  return TimeOfNumber(options, Adjusted(options, n));
}

void Generate(const NexmarkSourceOptions& options, int64_t n, Event* event) {
  Random r(static_cast<uint64_t>(n));
  event->type = TypeOf(n);
  event->date_time = EventTimeOf(options, n);
  switch (event->type) {
    case EventType::kPerson: MakePerson(n, &r, event); break;
    case EventType::kAuction: MakeAuction(options, n, &r, event); break;
    case EventType::kBid: MakeBid(n, &r, event); break;
  }
}

void AppendJson(const Event& e, bool with_type, std::string* out) {
  const size_t start = out->size();
  // resize_and_overwrite: the buffer is not zero-filled first (a resize would cost more than
  // the writing).
  out->resize_and_overwrite(start + kMaxJsonBytes, [&](char* data, size_t) {
    char* p = data + start;
    if (with_type) {
      Put(&p, "{\"event_type\":");
      PutInt(&p, static_cast<int64_t>(e.type));
      Put(&p, ",");
    } else {
      Put(&p, "{");
    }
    switch (e.type) {
      case EventType::kBid:
        Put(&p, "\"auction\":");
        PutInt(&p, e.auction);
        Put(&p, ",\"bidder\":");
        PutInt(&p, e.bidder);
        Put(&p, ",\"price\":");
        PutInt(&p, e.price);
        Put(&p, ",\"channel\":");
        PutString(&p, e.channel);
        Put(&p, ",\"url\":");
        PutString(&p, e.url);
        Put(&p, ",\"date_time\":");
        PutInt(&p, e.date_time);
        break;
      case EventType::kAuction:
        Put(&p, "\"id\":");
        PutInt(&p, e.id);
        Put(&p, ",\"item_name\":");
        PutString(&p, e.item_name);
        Put(&p, ",\"description\":");
        PutString(&p, e.description);
        Put(&p, ",\"initial_bid\":");
        PutInt(&p, e.initial_bid);
        Put(&p, ",\"reserve\":");
        PutInt(&p, e.reserve);
        Put(&p, ",\"date_time\":");
        PutInt(&p, e.date_time);
        Put(&p, ",\"expires\":");
        PutInt(&p, e.expires);
        Put(&p, ",\"seller\":");
        PutInt(&p, e.seller);
        Put(&p, ",\"category\":");
        PutInt(&p, e.category);
        break;
      case EventType::kPerson:
        Put(&p, "\"id\":");
        PutInt(&p, e.id);
        Put(&p, ",\"name\":");
        PutString(&p, e.name);
        Put(&p, ",\"email_address\":");
        PutString(&p, e.email_address);
        Put(&p, ",\"credit_card\":");
        PutString(&p, e.credit_card);
        Put(&p, ",\"city\":");
        PutString(&p, e.city);
        Put(&p, ",\"state\":");
        PutString(&p, e.state);
        Put(&p, ",\"date_time\":");
        PutInt(&p, e.date_time);
        break;
    }
    Put(&p, ",\"extra\":");
    PutString(&p, e.extra);
    Put(&p, "}");
    return static_cast<size_t>(p - data);
  });
}

std::string ValidateNexmarkOptions(const NexmarkSourceOptions& o) {
  constexpr int64_t kMaxEvents = int64_t{1} << 50;  // event times stay far from overflow
  if (o.events < 1 || o.events > kMaxEvents) {
    return "source.events: must be between 1 and " + std::to_string(kMaxEvents) + ", got " +
           std::to_string(o.events);
  }
  if (o.partitions < 1 || o.partitions > 65536) {
    return "source.partitions: must be between 1 and 65536, got " + std::to_string(o.partitions);
  }
  if (o.events_per_second < 1 || o.events_per_second > 1'000'000'000'000) {
    return "source.events_per_second: must be between 1 and 1000000000000, got " +
           std::to_string(o.events_per_second);
  }
  if (o.base_time_ms < 0 || o.base_time_ms > (int64_t{1} << 50)) {
    return "source.base_time_ms: must be between 0 and " + std::to_string(int64_t{1} << 50) +
           ", got " + std::to_string(o.base_time_ms);
  }
  if (o.out_of_order_group < 1 || o.out_of_order_group > 1'000'000'000 ||
      o.out_of_order_group % kOutOfOrderStride == 0) {
    return "source.out_of_order_group: must be between 1 and 1000000000 and not a multiple of "
           "953 (the permutation's stride), got " +
           std::to_string(o.out_of_order_group);
  }
  if (std::string rate = ValidateRate(o); !rate.empty()) return rate;
  if (o.records.format != RecordFormat::kJson || !o.records.csv_columns.empty()) {
    return "source.format: a nexmark source's records are JSON";
  }
  return "";
}

namespace {

// A constant rate adds nothing (the identity of every pipeline from before the shapes stays).
std::string RateFingerprint(const NexmarkSourceOptions& o) {
  if (o.rate_shape == NexmarkRateShape::kConstant) return "";
  return std::string(" rate_shape=") +
         (o.rate_shape == NexmarkRateShape::kSquare ? "square" : "sine") +
         " next_events_per_second=" + std::to_string(o.next_events_per_second) +
         " rate_period_s=" + std::to_string(o.rate_period_s);
}

}  // namespace

std::string NexmarkFingerprint(const NexmarkSourceOptions& o) {
  return "model=1 kind=" + std::string(KindName(o.kind)) +
         " partitions=" + std::to_string(o.partitions) +
         " events_per_second=" + std::to_string(o.events_per_second) +
         " base_time_ms=" + std::to_string(o.base_time_ms) +
         " out_of_order_group=" + std::to_string(o.out_of_order_group) + RateFingerprint(o);
}

std::string_view KindName(NexmarkKind kind) {
  switch (kind) {
    case NexmarkKind::kBid: return "bid";
    case NexmarkKind::kAuction: return "auction";
    case NexmarkKind::kPerson: return "person";
    case NexmarkKind::kAll: return "all";
  }
  return "bid";
}

}  // namespace onceflow::source::nexmark
