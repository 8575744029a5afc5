// The Nexmark event model: people, auctions and bids as the reference generators make them
// (the nexmark/nexmark project's and Apache Beam's), each event a pure function of its number
// and the generator's options. Used by NexmarkSource and by `onceflow nexmark generate`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "onceflow/options.h"

namespace onceflow::source::nexmark {

// The reference model's constants (NexmarkConfiguration's defaults and the generators' own).
// Event n's type is n mod 50: 1 person, 3 auctions, 46 bids.
inline constexpr int64_t kPersonProportion = 1;
inline constexpr int64_t kAuctionProportion = 3;
inline constexpr int64_t kBidProportion = 46;
inline constexpr int64_t kTotalProportion = 50;
inline constexpr int64_t kFirstPersonId = 1000;
inline constexpr int64_t kFirstAuctionId = 1000;
inline constexpr int64_t kFirstCategoryId = 10;

enum class EventType { kPerson = 0, kAuction = 1, kBid = 2 };

// A generated event. Strings are views into the event's own buffers or into tables shared by
// all events (channels, URLs, the extra padding): valid as long as the Event and unchanged
// until it is generated into again.
struct Event {
  EventType type = EventType::kBid;
  int64_t date_time = 0;  // event time, ms since the Unix epoch
  // Bid.
  int64_t auction = 0;
  int64_t bidder = 0;
  int64_t price = 0;
  std::string_view channel;
  std::string_view url;
  // Auction (also id) and person (id).
  int64_t id = 0;
  std::string_view item_name;
  std::string_view description;
  int64_t initial_bid = 0;
  int64_t reserve = 0;
  int64_t expires = 0;
  int64_t seller = 0;
  int64_t category = 0;
  // Person.
  std::string_view name;
  std::string_view email_address;
  std::string_view credit_card;
  std::string_view city;
  std::string_view state;
  // Padding so that events have the reference's average sizes (bid 100, auction 500, person
  // 200 bytes of fields).
  std::string_view extra;

  char buffer[256];  // item_name, description, name, email_address, credit_card
};

// The type of event number n.
inline EventType TypeOf(int64_t n) {
  const int64_t rem = n % kTotalProportion;
  if (rem < kPersonProportion) return EventType::kPerson;
  if (rem < kPersonProportion + kAuctionProportion) return EventType::kAuction;
  return EventType::kBid;
}

// Event numbers of one kind: the kind's j-th event is event EventNumberOf(kind, j), and the
// first `events` events of the generator hold CountOf(kind, events) of the kind.
int64_t EventNumberOf(NexmarkKind kind, int64_t j);
int64_t CountOf(NexmarkKind kind, int64_t events);

// The event time of event n (with the options' out-of-order permutation applied).
int64_t EventTimeOf(const NexmarkSourceOptions& options, int64_t n);

// Generates event n into *event. REQUIRES: n >= 0, options valid (ValidateNexmarkOptions).
void Generate(const NexmarkSourceOptions& options, int64_t n, Event* event);

// The event as one JSON object with the standard field names (README, "Nexmark"), appended to
// *out; with `with_type`, an event_type field first (0 person, 1 auction, 2 bid).
void AppendJson(const Event& event, bool with_type, std::string* out);

// "" if the options are usable, else what is wrong, naming the TOML key ("source.partitions:
// must be between 1 and 65536, got 0").
std::string ValidateNexmarkOptions(const NexmarkSourceOptions& options);

// The options as one line, every setting that changes an event or where it is read (not
// `events`, which only says where the source ends: a run may be extended, and one shortened
// below what was committed is caught like a truncated log): the source's identity.
std::string NexmarkFingerprint(const NexmarkSourceOptions& options);

// "bid", "auction", "person", "all".
std::string_view KindName(NexmarkKind kind);

}  // namespace onceflow::source::nexmark
