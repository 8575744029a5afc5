// FillRow: a Nexmark event's fields written straight into a Row, reusing its memory.
#include "source/nexmark_row.h"

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace onceflow::source::nexmark {
namespace {

// The field names of each type, in AppendJson's order (without event_type).
constexpr std::array<std::string_view, 7> kBidFields = {"auction", "bidder",    "price", "channel",
                                                        "url",     "date_time", "extra"};
constexpr std::array<std::string_view, 10> kAuctionFields = {
    "id",        "item_name", "description", "initial_bid", "reserve",
    "date_time", "expires",   "seller",      "category",    "extra"};
constexpr std::array<std::string_view, 8> kPersonFields = {
    "id", "name", "email_address", "credit_card", "city", "state", "date_time", "extra"};

// Writes the fields of a row in order. When the row already has the expected names (the same
// type of event was filled into it before), only values are assigned; otherwise the row is
// rebuilt once, and the following events of that type reuse it.
class Filler {
 public:
  Filler(Row* row, size_t count, std::span<const std::string_view> names, bool with_type)
      : fields_(row->mutable_fields()) {
    const size_t total = count + (with_type ? 1 : 0);
    bool same = fields_.size() == total;
    for (size_t i = 0; same && i < count; ++i) {
      same = fields_[i + (with_type ? 1 : 0)].first == names[i];
    }
    if (same && with_type) same = fields_[0].first == "event_type";
    if (!same) {
      fields_.clear();
      fields_.reserve(total);
      // Default-constructed fields, named after: the values are all assigned by the fill.
      fields_.resize(total);
      if (with_type) fields_[0].first = "event_type";
      for (size_t i = 0; i < count; ++i) fields_[i + (with_type ? 1 : 0)].first = names[i];
    }
  }

  void Int(int64_t v) { fields_[next_++].second = v; }
  void String(std::string_view v) {
    Value& value = fields_[next_++].second;
    if (std::string* s = std::get_if<std::string>(&value)) {
      s->assign(v);
    } else {
      value.emplace<std::string>(v);
    }
  }

 private:
  std::vector<Row::Field>& fields_;
  size_t next_ = 0;
};

}  // namespace

void FillRow(const Event& e, bool with_type, Row* row) {
  std::span<const std::string_view> names;
  switch (e.type) {
    case EventType::kBid: names = kBidFields; break;
    case EventType::kAuction: names = kAuctionFields; break;
    case EventType::kPerson: names = kPersonFields; break;
  }
  Filler f(row, names.size(), names, with_type);
  if (with_type) f.Int(static_cast<int64_t>(e.type));
  switch (e.type) {
    case EventType::kBid:
      f.Int(e.auction);
      f.Int(e.bidder);
      f.Int(e.price);
      f.String(e.channel);
      f.String(e.url);
      f.Int(e.date_time);
      break;
    case EventType::kAuction:
      f.Int(e.id);
      f.String(e.item_name);
      f.String(e.description);
      f.Int(e.initial_bid);
      f.Int(e.reserve);
      f.Int(e.date_time);
      f.Int(e.expires);
      f.Int(e.seller);
      f.Int(e.category);
      break;
    case EventType::kPerson:
      f.Int(e.id);
      f.String(e.name);
      f.String(e.email_address);
      f.String(e.credit_card);
      f.String(e.city);
      f.String(e.state);
      f.Int(e.date_time);
      break;
  }
  f.String(e.extra);
}

}  // namespace onceflow::source::nexmark
