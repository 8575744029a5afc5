// The compiled tree's nodes for literals, fields and operators (SQL's three-valued logic).
#include <charconv>
#include <cmath>
#include <compare>
#include <limits>

#include "expr/eval_nodes.h"

namespace onceflow::expr {

Datum FromValue(const Value& v) {
  switch (v.index()) {
    case 1: return Datum::Bool(std::get<bool>(v));
    case 2: return Datum::Int(std::get<int64_t>(v));
    case 3: return Datum::Double(std::get<double>(v));
    case 4: return Datum::String(std::get<std::string>(v));
    default: return Datum::Null();
  }
}

Value ToValue(const Datum& d) {
  switch (d.type) {
    case Type::kBool: return d.b;
    case Type::kInt: return d.i;
    case Type::kDouble: return d.d;
    case Type::kString: return std::string(d.s);
    default: return Value();
  }
}

void AppendText(const Datum& d, std::string* out) {
  char buf[32];
  switch (d.type) {
    case Type::kBool: *out += d.b ? "true" : "false"; return;
    case Type::kInt: {
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d.i);
      out->append(buf, end);
      return;
    }
    case Type::kDouble: {
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d.d);  // shortest round trip
      out->append(buf, end);
      return;
    }
    case Type::kString: out->append(d.s); return;
    default: return;
  }
}

std::string Describe(const Datum& d) {
  if (d.null()) return "NULL";
  std::string s(TypeName(d.type));
  s += ' ';
  if (d.type != Type::kString) {
    AppendText(d, &s);
    return s;
  }
  constexpr size_t kMax = 40;
  s += '\'';
  s.append(d.s.substr(0, kMax));
  if (d.s.size() > kMax) s += "...";
  s += '\'';
  return s;
}

namespace {

class LiteralNode final : public EvalNode {
 public:
  LiteralNode(int column, Value value)
      : EvalNode(column), value_(std::move(value)), datum_(FromValue(value_)) {}
  Datum Eval(EvalContext&) const override { return datum_; }

 private:
  const Value value_;  // owns the string datum_ views
  const Datum datum_;
};

class FieldNode final : public EvalNode {
 public:
  FieldNode(int column, std::string name) : EvalNode(column), name_(std::move(name)) {}
  Datum Eval(EvalContext& ctx) const override {
    const Value* v = ctx.row().Get(name_);
    if (v != nullptr) return FromValue(*v);
    if (ctx.missing_as_null()) return Datum::Null();
    return ctx.Fail(column(), "field '" + name_ +
                                  "' is missing; on_missing = \"null\" reads a missing field "
                                  "as null");
  }

 private:
  const std::string name_;
};

class NotNode final : public EvalNode {
 public:
  NotNode(int column, EvalNodeP a) : EvalNode(column), a_(std::move(a)) {}
  Datum Eval(EvalContext& ctx) const override {
    Datum a = a_->Eval(ctx);
    if (a.null()) return a;
    if (a.type != Type::kBool) return ctx.Fail(column(), "NOT needs a BOOLEAN, got " + Describe(a));
    return Datum::Bool(!a.b);
  }

 private:
  const EvalNodeP a_;
};

class NegateNode final : public EvalNode {
 public:
  NegateNode(int column, EvalNodeP a) : EvalNode(column), a_(std::move(a)) {}
  Datum Eval(EvalContext& ctx) const override {
    Datum a = a_->Eval(ctx);
    if (a.null()) return a;
    if (a.type == Type::kDouble) return Datum::Double(-a.d);
    if (a.type != Type::kInt) return ctx.Fail(column(), "'-' needs a number, got " + Describe(a));
    if (a.i == std::numeric_limits<int64_t>::min()) {
      return ctx.Fail(column(), "BIGINT overflow in '-'");
    }
    return Datum::Int(-a.i);
  }

 private:
  const EvalNodeP a_;
};

template <char Op>
class ArithmeticNode final : public EvalNode {
 public:
  ArithmeticNode(int column, EvalNodeP a, EvalNodeP b)
      : EvalNode(column), a_(std::move(a)), b_(std::move(b)) {}
  Datum Eval(EvalContext& ctx) const override {
    Datum a = a_->Eval(ctx);
    if (ctx.failed()) return a;
    Datum b = b_->Eval(ctx);
    if (ctx.failed()) return b;
    return Arithmetic(ctx, column(), Op, a, b);
  }

 private:
  const EvalNodeP a_, b_;
};

// AND and OR, short-circuit where the left side decides: FALSE AND x is FALSE, TRUE OR x is
// TRUE, whatever x is (even NULL); otherwise NULL unless the other side decides.
template <bool kIsAnd>
class LogicNode final : public EvalNode {
 public:
  LogicNode(int column, EvalNodeP a, EvalNodeP b)
      : EvalNode(column), a_(std::move(a)), b_(std::move(b)) {}
  Datum Eval(EvalContext& ctx) const override {
    Datum a = a_->Eval(ctx);
    if (ctx.failed()) return a;
    if (!a.null()) {
      if (a.type != Type::kBool) return Refuse(ctx, a);
      if (a.b != kIsAnd) return a;  // FALSE AND ..., TRUE OR ...
    }
    Datum b = b_->Eval(ctx);
    if (ctx.failed()) return b;
    if (b.null()) return b;
    if (b.type != Type::kBool) return Refuse(ctx, b);
    if (b.b != kIsAnd) return b;
    return a;  // NULL AND TRUE is NULL, TRUE AND TRUE is TRUE (and the same for OR)
  }

 private:
  Datum Refuse(EvalContext& ctx, const Datum& d) const {
    return ctx.Fail(column(), std::string(kIsAnd ? "AND" : "OR") + " needs BOOLEAN operands, got " +
                                  Describe(d));
  }
  const EvalNodeP a_, b_;
};

class CompareNode final : public EvalNode {
 public:
  CompareNode(int column, CmpOp op, EvalNodeP a, EvalNodeP b)
      : EvalNode(column), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  Datum Eval(EvalContext& ctx) const override {
    Datum a = a_->Eval(ctx);
    if (ctx.failed()) return a;
    Datum b = b_->Eval(ctx);
    if (ctx.failed()) return b;
    return Compare(ctx, column(), op_, a, b);
  }

 private:
  const CmpOp op_;
  const EvalNodeP a_, b_;
};

// a || b: the text of both (numbers and booleans as CAST writes them); NULL if either is.
class ConcatNode final : public EvalNode {
 public:
  ConcatNode(int column, EvalNodeP a, EvalNodeP b, int slot)
      : EvalNode(column), a_(std::move(a)), b_(std::move(b)), slot_(slot) {}
  Datum Eval(EvalContext& ctx) const override {
    Datum a = a_->Eval(ctx);
    if (ctx.failed() || a.null()) return a;
    Datum b = b_->Eval(ctx);
    if (ctx.failed() || b.null()) return b;
    std::string& out = ctx.Slot(slot_);
    AppendText(a, &out);
    AppendText(b, &out);
    return Datum::String(out);
  }

 private:
  const EvalNodeP a_, b_;
  const int slot_;
};

class IsNullNode final : public EvalNode {
 public:
  IsNullNode(int column, EvalNodeP a, bool negated)
      : EvalNode(column), a_(std::move(a)), negated_(negated) {}
  Datum Eval(EvalContext& ctx) const override {
    Datum a = a_->Eval(ctx);
    return Datum::Bool(a.null() != negated_);
  }

 private:
  const EvalNodeP a_;
  const bool negated_;
};

// x IN (a, b, ...): TRUE if x equals one; else NULL if x or one of them is NULL; else FALSE.
class InNode final : public EvalNode {
 public:
  InNode(int column, std::vector<EvalNodeP> operands, bool negated)
      : EvalNode(column), operands_(std::move(operands)), negated_(negated) {}
  Datum Eval(EvalContext& ctx) const override {
    Datum x = operands_[0]->Eval(ctx);
    if (ctx.failed() || x.null()) return Datum::Null();
    bool saw_null = false;
    for (size_t i = 1; i < operands_.size(); ++i) {
      Datum item = operands_[i]->Eval(ctx);
      if (ctx.failed()) return item;
      Datum eq = Compare(ctx, operands_[i]->column(), CmpOp::kEq, x, item);
      if (ctx.failed()) return eq;
      if (eq.null()) {
        saw_null = true;
      } else if (eq.b) {
        return Datum::Bool(!negated_);
      }
    }
    return saw_null ? Datum::Null() : Datum::Bool(negated_);
  }

 private:
  const std::vector<EvalNodeP> operands_;  // x, then the list
  const bool negated_;
};

// CASE WHEN c THEN v ... ELSE e END: the value of the first WHEN that is TRUE (NULL and FALSE
// are passed over), else e or NULL. A BIGINT result of a DOUBLE CASE becomes a DOUBLE, so that
// every row gets the same type.
class CaseNode final : public EvalNode {
 public:
  CaseNode(int column, std::vector<EvalNodeP> operands, bool has_else, Type type)
      : EvalNode(column), operands_(std::move(operands)), has_else_(has_else), type_(type) {}
  Datum Eval(EvalContext& ctx) const override {
    const size_t pairs = (operands_.size() - (has_else_ ? 1 : 0)) / 2;
    for (size_t i = 0; i < pairs; ++i) {
      Datum when = operands_[2 * i]->Eval(ctx);
      if (ctx.failed()) return when;
      if (when.null()) continue;
      if (when.type != Type::kBool) {
        return ctx.Fail(operands_[2 * i]->column(), "WHEN needs a BOOLEAN, got " + Describe(when));
      }
      if (when.b) return Widen(operands_[2 * i + 1]->Eval(ctx));
    }
    if (has_else_) return Widen(operands_.back()->Eval(ctx));
    return Datum::Null();
  }

 private:
  Datum Widen(Datum d) const {
    if (type_ == Type::kDouble && d.type == Type::kInt) return Datum::Double(AsDouble(d));
    return d;
  }
  static double AsDouble(const Datum& d) { return d.AsDouble(); }
  const std::vector<EvalNodeP> operands_;
  const bool has_else_;
  const Type type_;
};

class CastNode final : public EvalNode {
 public:
  CastNode(int column, EvalNodeP a, Type to, int slot)
      : EvalNode(column), a_(std::move(a)), to_(to), slot_(slot) {}
  Datum Eval(EvalContext& ctx) const override {
    Datum a = a_->Eval(ctx);
    if (ctx.failed() || a.null() || a.type == to_) return a;
    switch (to_) {
      case Type::kString: {
        std::string& out = ctx.Slot(slot_);
        AppendText(a, &out);
        return Datum::String(out);
      }
      case Type::kInt:
        if (a.type == Type::kDouble) {
          // Truncated toward zero, as Java and Flink cast; out of range is an error.
          if (!(a.d > -9223372036854775809.0 && a.d < 9223372036854775808.0)) break;
          return Datum::Int(static_cast<int64_t>(a.d));
        }
        if (a.type == Type::kString) {
          std::string_view s = Trim(a.s);
          int64_t i = 0;
          auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
          if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) return Datum::Int(i);
        }
        break;
      case Type::kDouble:
        if (a.type == Type::kInt) return Datum::Double(static_cast<double>(a.i));
        if (a.type == Type::kString) {
          std::string_view s = Trim(a.s);
          double d = 0;
          auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
          if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty() && std::isfinite(d)) {
            return Datum::Double(d);
          }
        }
        break;
      case Type::kBool:
        if (a.type == Type::kString) {
          std::string_view s = Trim(a.s);
          if (s == "true" || s == "TRUE") return Datum::Bool(true);
          if (s == "false" || s == "FALSE") return Datum::Bool(false);
        }
        break;
      default: break;
    }
    return ctx.Fail(column(), "cannot cast " + Describe(a) + " to " + std::string(TypeName(to_)));
  }

 private:
  static std::string_view Trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  }
  const EvalNodeP a_;
  const Type to_;
  const int slot_;
};

bool Holds(std::partial_ordering order, CmpOp op) {
  switch (op) {
    case CmpOp::kEq: return order == 0;
    case CmpOp::kNe: return order != 0;  // also true for unordered (NaN), as IEEE 754 says
    case CmpOp::kLt: return order < 0;
    case CmpOp::kLe: return order <= 0;
    case CmpOp::kGt: return order > 0;
    case CmpOp::kGe: return order >= 0;
  }
  return false;
}

}  // namespace

Datum Arithmetic(EvalContext& ctx, int column, char op, const Datum& a, const Datum& b) {
  if (a.null() || b.null()) {
    if ((a.null() || a.number()) && (b.null() || b.number())) return Datum::Null();
  }
  if (!a.number() || !b.number()) {
    const Datum& bad = !a.number() && !a.null() ? a : b;
    return ctx.Fail(column, std::string("'") + op + "' needs numbers, got " + Describe(bad));
  }
  if (a.type == Type::kInt && b.type == Type::kInt) {
    int64_t r = 0;
    bool overflow = false;
    switch (op) {
      case '+': overflow = __builtin_add_overflow(a.i, b.i, &r); break;
      case '-': overflow = __builtin_sub_overflow(a.i, b.i, &r); break;
      case '*': overflow = __builtin_mul_overflow(a.i, b.i, &r); break;
      case '/':
      case '%':
        if (b.i == 0) return ctx.Fail(column, "division by zero");
        if (b.i == -1) {  // INT64_MIN / -1 overflows, and % then is undefined in C++
          if (op == '%') return Datum::Int(0);
          overflow = __builtin_mul_overflow(a.i, int64_t{-1}, &r);
        } else {
          r = op == '/' ? a.i / b.i : a.i % b.i;
        }
        break;
      default: break;
    }
    if (overflow) return ctx.Fail(column, std::string("BIGINT overflow in '") + op + "'");
    return Datum::Int(r);
  }
  const double x = a.AsDouble();
  const double y = b.AsDouble();
  double r = 0;
  switch (op) {
    case '+': r = x + y; break;
    case '-': r = x - y; break;
    case '*': r = x * y; break;
    case '/':
      if (y == 0) return ctx.Fail(column, "division by zero");
      r = x / y;
      break;
    case '%':
      if (y == 0) return ctx.Fail(column, "division by zero");
      r = std::fmod(x, y);
      break;
    default: break;
  }
  if (!std::isfinite(r)) {
    return ctx.Fail(column, std::string("DOUBLE overflow in '") + op + "'");
  }
  return Datum::Double(r);
}

CmpOp ToCmpOp(std::string_view op) {
  if (op == "!=") return CmpOp::kNe;
  if (op == "<") return CmpOp::kLt;
  if (op == "<=") return CmpOp::kLe;
  if (op == ">") return CmpOp::kGt;
  if (op == ">=") return CmpOp::kGe;
  return CmpOp::kEq;
}

std::string_view CmpOpName(CmpOp op) {
  static constexpr std::string_view kNames[] = {"=", "!=", "<", "<=", ">", ">="};
  return kNames[static_cast<size_t>(op)];
}

Datum Compare(EvalContext& ctx, int column, CmpOp op, const Datum& a, const Datum& b) {
  if (a.null() || b.null()) return Datum::Null();
  if (a.type == Type::kInt && b.type == Type::kInt) return Datum::Bool(Holds(a.i <=> b.i, op));
  if (a.number() && b.number()) return Datum::Bool(Holds(a.AsDouble() <=> b.AsDouble(), op));
  if (a.type == Type::kString && b.type == Type::kString) {
    return Datum::Bool(Holds(a.s <=> b.s, op));
  }
  if (a.type == Type::kBool && b.type == Type::kBool) {
    if (op == CmpOp::kEq || op == CmpOp::kNe)
      return Datum::Bool((a.b == b.b) == (op == CmpOp::kEq));
    return ctx.Fail(column,
                    "'" + std::string(CmpOpName(op)) + "' needs numbers or strings, got BOOLEAN");
  }
  return ctx.Fail(column, "cannot compare " + Describe(a) + " with " + Describe(b));
}

EvalNodeP MakeLiteral(const Node& n) { return std::make_unique<LiteralNode>(n.column, n.literal); }

EvalNodeP MakeField(const Node& n) { return std::make_unique<FieldNode>(n.column, n.name); }

EvalNodeP MakeUnary(const Node& n, EvalNodeP operand) {
  if (n.op == "NOT") return std::make_unique<NotNode>(n.column, std::move(operand));
  return std::make_unique<NegateNode>(n.column, std::move(operand));
}

EvalNodeP MakeBinary(const Node& n, EvalNodeP a, EvalNodeP b, int slot) {
  const std::string& op = n.op;
  if (op == "AND") return std::make_unique<LogicNode<true>>(n.column, std::move(a), std::move(b));
  if (op == "OR") return std::make_unique<LogicNode<false>>(n.column, std::move(a), std::move(b));
  if (op == "||") return std::make_unique<ConcatNode>(n.column, std::move(a), std::move(b), slot);
  if (op == "+") return std::make_unique<ArithmeticNode<'+'>>(n.column, std::move(a), std::move(b));
  if (op == "-") return std::make_unique<ArithmeticNode<'-'>>(n.column, std::move(a), std::move(b));
  if (op == "*") return std::make_unique<ArithmeticNode<'*'>>(n.column, std::move(a), std::move(b));
  if (op == "/") return std::make_unique<ArithmeticNode<'/'>>(n.column, std::move(a), std::move(b));
  if (op == "%") return std::make_unique<ArithmeticNode<'%'>>(n.column, std::move(a), std::move(b));
  return std::make_unique<CompareNode>(n.column, ToCmpOp(op), std::move(a), std::move(b));
}

EvalNodeP MakeIsNull(const Node& n, EvalNodeP operand) {
  return std::make_unique<IsNullNode>(n.column, std::move(operand), n.negated);
}

EvalNodeP MakeIn(const Node& n, std::vector<EvalNodeP> operands) {
  return std::make_unique<InNode>(n.column, std::move(operands), n.negated);
}

EvalNodeP MakeCase(const Node& n, std::vector<EvalNodeP> operands) {
  return std::make_unique<CaseNode>(n.column, std::move(operands), n.has_else, n.type);
}

EvalNodeP MakeCast(const Node& n, EvalNodeP operand, int slot) {
  return std::make_unique<CastNode>(n.column, std::move(operand), n.cast_to, slot);
}

}  // namespace onceflow::expr
