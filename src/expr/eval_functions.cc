// The compiled tree's function calls: string functions (REGEXP_EXTRACT with RE2, compiled
// once), numeric functions and the time helpers over milliseconds since the Unix epoch (UTC).
#include <re2/re2.h>

#include <cctype>
#include <cmath>
#include <limits>

#include "expr/eval_nodes.h"

namespace onceflow::expr {
namespace {

// A function node: its name for messages, its arguments evaluated in order.
class CallNode : public EvalNode {
 public:
  CallNode(const Node& n, std::vector<EvalNodeP> args, int slot)
      : EvalNode(n.column), name_(n.op), args_(std::move(args)), slot_(slot) {}

 protected:
  // Argument i's value, or a failure for one that is not NULL and not of type `want`.
  Datum Arg(EvalContext& ctx, size_t i, Type want) const {
    Datum d = args_[i]->Eval(ctx);
    if (ctx.failed() || d.null() || d.type == want) return d;
    return ctx.Fail(args_[i]->column(), name_ + "'s argument " + std::to_string(i + 1) +
                                            " must be " + std::string(TypeName(want)) + ", got " +
                                            Describe(d));
  }
  // A number argument (BIGINT or DOUBLE).
  Datum NumberArg(EvalContext& ctx, size_t i) const {
    Datum d = args_[i]->Eval(ctx);
    if (ctx.failed() || d.null() || d.number()) return d;
    return ctx.Fail(args_[i]->column(), name_ + "'s argument " + std::to_string(i + 1) +
                                            " must be a number, got " + Describe(d));
  }

  const std::string name_;
  const std::vector<EvalNodeP> args_;
  const int slot_;
};

class CaseFunction final : public CallNode {  // LOWER, UPPER (ASCII letters)
 public:
  CaseFunction(const Node& n, std::vector<EvalNodeP> args, int slot)
      : CallNode(n, std::move(args), slot), upper_(n.op == "UPPER") {}
  Datum Eval(EvalContext& ctx) const override {
    Datum s = Arg(ctx, 0, Type::kString);
    if (ctx.failed() || s.null()) return s;
    std::string& out = ctx.Slot(slot_);
    out.assign(s.s);
    for (char& c : out) {
      if (upper_ ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z')) c ^= 0x20;
    }
    return Datum::String(out);
  }

 private:
  const bool upper_;
};

class LengthFunction final : public CallNode {  // LENGTH, CHAR_LENGTH: UTF-8 characters
 public:
  using CallNode::CallNode;
  Datum Eval(EvalContext& ctx) const override {
    Datum s = Arg(ctx, 0, Type::kString);
    if (ctx.failed() || s.null()) return s;
    int64_t n = 0;
    for (char c : s.s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return Datum::Int(n);
  }
};

class CountCharFunction final : public CallNode {  // COUNT_CHAR(s, c): occurrences of c in s
 public:
  using CallNode::CallNode;
  Datum Eval(EvalContext& ctx) const override {
    Datum s = Arg(ctx, 0, Type::kString);
    if (ctx.failed() || s.null()) return s;
    Datum c = Arg(ctx, 1, Type::kString);
    if (ctx.failed() || c.null()) return c;
    int64_t n = 0;
    if (!c.s.empty()) {
      for (size_t at = s.s.find(c.s); at != std::string_view::npos;
           at = s.s.find(c.s, at + c.s.size())) {
        ++n;
      }
    }
    return Datum::Int(n);
  }
};

// SPLIT_INDEX(s, delim, i): the i-th (from 0) piece of s split at every delim (empty pieces
// count); NULL if there is none or i < 0, as Flink's.
class SplitIndexFunction final : public CallNode {
 public:
  using CallNode::CallNode;
  Datum Eval(EvalContext& ctx) const override {
    Datum s = Arg(ctx, 0, Type::kString);
    if (ctx.failed()) return s;
    Datum delim = Arg(ctx, 1, Type::kString);
    if (ctx.failed()) return delim;
    Datum index = Arg(ctx, 2, Type::kInt);
    if (ctx.failed() || s.null() || delim.null() || index.null()) return Datum::Null();
    if (index.i < 0 || s.s.empty()) return Datum::Null();
    if (delim.s.empty()) return index.i == 0 ? s : Datum::Null();
    size_t begin = 0;
    for (int64_t i = 0; i < index.i; ++i) {
      size_t at = s.s.find(delim.s, begin);
      if (at == std::string_view::npos) return Datum::Null();
      begin = at + delim.s.size();
    }
    size_t end = s.s.find(delim.s, begin);
    if (end == std::string_view::npos) end = s.s.size();
    return Datum::String(s.s.substr(begin, end - begin));
  }
};

// REGEXP_EXTRACT(s, pattern[, group]): the text of the group (0: the whole match, the
// default) of the first match of pattern in s; NULL if nothing matches or the group took no
// part in the match.
class RegexpExtractFunction final : public CallNode {
 public:
  RegexpExtractFunction(const Node& n, std::vector<EvalNodeP> args, int slot,
                        std::unique_ptr<re2::RE2> re)
      : CallNode(n, std::move(args), slot), re_(std::move(re)) {}
  Datum Eval(EvalContext& ctx) const override {
    Datum s = Arg(ctx, 0, Type::kString);
    if (ctx.failed()) return s;
    int64_t group = 0;
    if (args_.size() == 3) {
      Datum g = Arg(ctx, 2, Type::kInt);
      if (ctx.failed() || g.null()) return g;
      group = g.i;
    }
    if (s.null()) return s;
    const int groups = re_->NumberOfCapturingGroups();
    if (group < 0 || group > groups) {
      return ctx.Fail(args_[2]->column(), "REGEXP_EXTRACT: the pattern has no group " +
                                              std::to_string(group) + " (it has " +
                                              std::to_string(groups) + ")");
    }
    constexpr int64_t kOnStack = 16;
    re2::StringPiece matches[kOnStack];
    re2::StringPiece* out = matches;
    std::vector<re2::StringPiece> more;  // a group past 15: allocated
    if (group >= kOnStack) {
      more.resize(static_cast<size_t>(group) + 1);
      out = more.data();
    }
    if (!re_->Match(re2::StringPiece(s.s.data(), s.s.size()), 0, s.s.size(), re2::RE2::UNANCHORED,
                    out, static_cast<int>(group) + 1)) {
      return Datum::Null();
    }
    const re2::StringPiece& g = out[group];
    if (g.data() == nullptr) return Datum::Null();
    return Datum::String(std::string_view(g.data(), g.size()));
  }

 private:
  const std::unique_ptr<re2::RE2> re_;
};

class ModFunction final : public CallNode {
 public:
  using CallNode::CallNode;
  Datum Eval(EvalContext& ctx) const override {
    Datum a = args_[0]->Eval(ctx);
    if (ctx.failed()) return a;
    Datum b = args_[1]->Eval(ctx);
    if (ctx.failed()) return b;
    return Arithmetic(ctx, column(), '%', a, b);
  }
};

class NumericFunction final : public CallNode {  // ABS, FLOOR, CEIL
 public:
  NumericFunction(const Node& n, std::vector<EvalNodeP> args, int slot)
      : CallNode(n, std::move(args), slot),
        op_(n.op == "ABS"     ? 'a'
            : n.op == "FLOOR" ? 'f'
                              : 'c') {}
  Datum Eval(EvalContext& ctx) const override {
    Datum x = NumberArg(ctx, 0);
    if (ctx.failed() || x.null()) return x;
    if (x.type == Type::kInt) {
      if (op_ != 'a' || x.i >= 0) return x;
      if (x.i == std::numeric_limits<int64_t>::min()) {
        return ctx.Fail(column(), "BIGINT overflow in ABS");
      }
      return Datum::Int(-x.i);
    }
    return Datum::Double(op_ == 'a'   ? std::fabs(x.d)
                         : op_ == 'f' ? std::floor(x.d)
                                      : std::ceil(x.d));
  }

 private:
  const char op_;
};

class CoalesceFunction final : public CallNode {
 public:
  CoalesceFunction(const Node& n, std::vector<EvalNodeP> args, int slot)
      : CallNode(n, std::move(args), slot), widen_(n.type == Type::kDouble) {}
  Datum Eval(EvalContext& ctx) const override {
    for (const EvalNodeP& arg : args_) {
      Datum d = arg->Eval(ctx);
      if (ctx.failed()) return d;
      if (d.null()) continue;
      return widen_ && d.type == Type::kInt ? Datum::Double(d.AsDouble()) : d;
    }
    return Datum::Null();
  }

 private:
  const bool widen_;
};

class ConcatFunction final : public CallNode {  // CONCAT(a, ...): NULL if any is NULL
 public:
  using CallNode::CallNode;
  Datum Eval(EvalContext& ctx) const override {
    // The arguments may be views of this node's slot only through another node's: build in
    // our own slot after evaluating each.
    std::string& out = ctx.Slot(slot_);
    for (const EvalNodeP& arg : args_) {
      Datum d = arg->Eval(ctx);
      if (ctx.failed() || d.null()) return Datum::Null();
      AppendText(d, &out);
    }
    return Datum::String(out);
  }
};

// Days since 1970-01-01 to a civil date (H. Hinnant's algorithm), and the parts of a time.
struct Civil {
  int64_t year, month, day, hour, minute, second, millis;
};
Civil ToCivil(int64_t ms) {
  constexpr int64_t kDayMs = 86400000;
  int64_t days = ms / kDayMs;
  int64_t in_day = ms % kDayMs;
  if (in_day < 0) {
    in_day += kDayMs;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2);
  return {year,         month, day, in_day / 3600000, in_day / 60000 % 60, in_day / 1000 % 60,
          in_day % 1000};
}

class TimePartFunction final : public CallNode {  // YEAR MONTH DAY HOUR MINUTE SECOND
 public:
  TimePartFunction(const Node& n, std::vector<EvalNodeP> args, int slot)
      : CallNode(n, std::move(args), slot),
        part_(n.op == "MONTH"    ? 'M'
              : n.op == "MINUTE" ? 'm'
                                 : n.op[0]) {}
  Datum Eval(EvalContext& ctx) const override {
    Datum ms = Arg(ctx, 0, Type::kInt);
    if (ctx.failed() || ms.null()) return ms;
    if (part_ == 'H' || part_ == 'm' || part_ == 'S') {  // the time of day: no calendar
      int64_t in_day = ms.i % 86400000;
      if (in_day < 0) in_day += 86400000;
      return Datum::Int(part_ == 'H'   ? in_day / 3600000
                        : part_ == 'm' ? in_day / 60000 % 60
                                       : in_day / 1000 % 60);
    }
    const Civil c = ToCivil(ms.i);
    switch (part_) {
      case 'H': return Datum::Int(c.hour);
      case 'm': return Datum::Int(c.minute);
      case 'S': return Datum::Int(c.second);
      case 'D': return Datum::Int(c.day);
      case 'M': return Datum::Int(c.month);
      default: return Datum::Int(c.year);
    }
  }

 private:
  const char part_;  // YEAR: 'Y', MONTH 'M', DAY 'D', HOUR 'H', MINUTE 'm', SECOND 'S'
};

// DATE_FORMAT(ms, 'yyyy-MM-dd HH:mm:ss.SSS'): the pattern letters of Java's (yyyy MM dd HH mm
// ss SSS), in UTC; other characters are copied.
class DateFormatFunction final : public CallNode {
 public:
  struct Piece {
    char field;  // 'y' 'M' 'd' 'H' 'm' 's' 'S', or 0: `text`
    std::string text;
  };
  DateFormatFunction(const Node& n, std::vector<EvalNodeP> args, int slot,
                     std::vector<Piece> pieces)
      : CallNode(n, std::move(args), slot), pieces_(std::move(pieces)) {}
  Datum Eval(EvalContext& ctx) const override {
    Datum ms = Arg(ctx, 0, Type::kInt);
    if (ctx.failed() || ms.null()) return ms;
    const Civil c = ToCivil(ms.i);
    std::string& out = ctx.Slot(slot_);
    for (const Piece& p : pieces_) {
      switch (p.field) {
        case 'y': Pad(c.year, 4, &out); break;
        case 'M': Pad(c.month, 2, &out); break;
        case 'd': Pad(c.day, 2, &out); break;
        case 'H': Pad(c.hour, 2, &out); break;
        case 'm': Pad(c.minute, 2, &out); break;
        case 's': Pad(c.second, 2, &out); break;
        case 'S': Pad(c.millis, 3, &out); break;
        default: out += p.text;
      }
    }
    return Datum::String(out);
  }

 private:
  static void Pad(int64_t v, size_t width, std::string* out) {
    std::string digits = std::to_string(v < 0 ? -v : v);
    if (v < 0) *out += '-';
    if (digits.size() < width) out->append(width - digits.size(), '0');
    *out += digits;
  }
  const std::vector<Piece> pieces_;
};

Status ErrorAt(const Node& node, const std::string& what) {
  return Status::InvalidArgument("column " + std::to_string(node.column) + ": " + what);
}

Result<std::vector<DateFormatFunction::Piece>> ParseDateFormat(const Node& format) {
  static constexpr std::pair<std::string_view, char> kFields[] = {
      {"yyyy", 'y'}, {"MM", 'M'}, {"dd", 'd'}, {"HH", 'H'}, {"mm", 'm'}, {"ss", 's'}, {"SSS", 'S'}};
  const std::string& text = std::get<std::string>(format.literal);
  std::vector<DateFormatFunction::Piece> pieces;
  for (size_t i = 0; i < text.size();) {
    bool matched = false;
    for (const auto& [letters, field] : kFields) {
      if (std::string_view(text).substr(i, letters.size()) == letters) {
        pieces.push_back({field, {}});
        i += letters.size();
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (std::isalpha(static_cast<unsigned char>(text[i]))) {
      return Err(ErrorAt(format, "DATE_FORMAT's format knows yyyy, MM, dd, HH, mm, ss and SSS, "
                                 "got '" +
                                     text.substr(i) + "'"));
    }
    if (pieces.empty() || pieces.back().field != 0) pieces.push_back({0, {}});
    pieces.back().text += text[i++];
  }
  return pieces;
}

}  // namespace

Result<EvalNodeP> MakeCall(const Node& n, std::vector<EvalNodeP> args, int slot) {
  const std::string& f = n.op;
  if (f == "LOWER" || f == "UPPER") return EvalNodeP(new CaseFunction(n, std::move(args), slot));
  if (f == "LENGTH" || f == "CHAR_LENGTH") {
    return EvalNodeP(new LengthFunction(n, std::move(args), slot));
  }
  if (f == "COUNT_CHAR") return EvalNodeP(new CountCharFunction(n, std::move(args), slot));
  if (f == "SPLIT_INDEX") return EvalNodeP(new SplitIndexFunction(n, std::move(args), slot));
  if (f == "REGEXP_EXTRACT") {
    const Node& pattern = *n.children[1];
    re2::RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_unique<re2::RE2>(std::get<std::string>(pattern.literal), options);
    if (!re->ok()) return Err(ErrorAt(pattern, "bad regular expression: " + re->error()));
    if (n.children.size() == 3 && n.children[2]->kind == Node::Kind::kLiteral &&
        n.children[2]->type == Type::kInt) {
      const int64_t group = std::get<int64_t>(n.children[2]->literal);
      if (group < 0 || group > re->NumberOfCapturingGroups()) {
        return Err(ErrorAt(*n.children[2],
                           "the pattern has no group " + std::to_string(group) + " (it has " +
                               std::to_string(re->NumberOfCapturingGroups()) + ")"));
      }
    }
    return EvalNodeP(new RegexpExtractFunction(n, std::move(args), slot, std::move(re)));
  }
  if (f == "MOD") return EvalNodeP(new ModFunction(n, std::move(args), slot));
  if (f == "ABS" || f == "FLOOR" || f == "CEIL" || f == "CEILING") {
    return EvalNodeP(new NumericFunction(n, std::move(args), slot));
  }
  if (f == "COALESCE") return EvalNodeP(new CoalesceFunction(n, std::move(args), slot));
  if (f == "CONCAT") return EvalNodeP(new ConcatFunction(n, std::move(args), slot));
  if (f == "DATE_FORMAT") {
    ONCEFLOW_ASSIGN_OR_RETURN(auto pieces, ParseDateFormat(*n.children[1]));
    return EvalNodeP(new DateFormatFunction(n, std::move(args), slot, std::move(pieces)));
  }
  return EvalNodeP(new TimePartFunction(n, std::move(args), slot));
}

}  // namespace onceflow::expr
