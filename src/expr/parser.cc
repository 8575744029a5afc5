// A recursive-descent parser for the expression language.
#include "expr/parser.h"

#include <strings.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "expr/lexer.h"

namespace onceflow::expr {
namespace {

constexpr int kMaxDepth = 200;

bool IsWord(const Token& t, std::string_view word) {
  return t.kind == Token::Kind::kIdent && t.text.size() == word.size() &&
         strncasecmp(t.text.data(), word.data(), word.size()) == 0;
}

// Words that cannot name a field unquoted.
bool IsReserved(const Token& t) {
  static constexpr std::string_view kWords[] = {"AND",  "OR",    "NOT",  "IS",   "NULL",
                                                "TRUE", "FALSE", "CASE", "WHEN", "THEN",
                                                "ELSE", "END",   "IN",   "CAST", "AS"};
  for (std::string_view w : kWords) {
    if (IsWord(t, w)) return true;
  }
  return false;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<std::unique_ptr<Node>> ParseAll() {
    ONCEFLOW_ASSIGN_OR_RETURN(auto node, Expr());
    if (Peek().kind != Token::Kind::kEnd) return Err(Unexpected("an operator or the end"));
    return node;
  }

 private:
  using NodeP = std::unique_ptr<Node>;

  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool IsSymbol(std::string_view s, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::Kind::kSymbol && Peek(ahead).text == s;
  }
  bool AcceptSymbol(std::string_view s) {
    if (!IsSymbol(s)) return false;
    Next();
    return true;
  }
  bool AcceptWord(std::string_view w) {
    if (!IsWord(Peek(), w)) return false;
    Next();
    return true;
  }

  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Token::Kind::kEnd: return "the end";
      case Token::Kind::kString: return "the string '" + t.text + "'";
      case Token::Kind::kQuotedIdent: return "`" + t.text + "`";
      default: return "'" + t.text + "'";
    }
  }
  Status ErrorAt(int column, const std::string& what) const {
    return Status::InvalidArgument("column " + std::to_string(column) + ": " + what);
  }
  Status Unexpected(const std::string& expected) const {
    return ErrorAt(Peek().column, "expected " + expected + ", got " + Describe(Peek()));
  }
  Status ExpectSymbol(std::string_view s) {
    if (AcceptSymbol(s)) return Status::Ok();
    return Unexpected("'" + std::string(s) + "'");
  }
  Status ExpectWord(std::string_view w) {
    if (AcceptWord(w)) return Status::Ok();
    return Unexpected(std::string(w));
  }

  static NodeP Make(Node::Kind kind, int column, std::string op = {}) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->column = column;
    n->op = std::move(op);
    return n;
  }
  static NodeP Binary(std::string op, int column, NodeP a, NodeP b) {
    NodeP n = Make(Node::Kind::kBinary, column, std::move(op));
    n->children.push_back(std::move(a));
    n->children.push_back(std::move(b));
    return n;
  }

  Result<NodeP> Expr() {
    if (++depth_ > kMaxDepth) return Err(ErrorAt(Peek().column, "nested too deeply"));
    Result<NodeP> r = Or();
    --depth_;
    return r;
  }

  Result<NodeP> Or() {
    ONCEFLOW_ASSIGN_OR_RETURN(NodeP left, And());
    while (IsWord(Peek(), "OR")) {
      int column = Next().column;
      ONCEFLOW_ASSIGN_OR_RETURN(NodeP right, And());
      left = Binary("OR", column, std::move(left), std::move(right));
    }
    return left;
  }

  Result<NodeP> And() {
    ONCEFLOW_ASSIGN_OR_RETURN(NodeP left, Not());
    while (IsWord(Peek(), "AND")) {
      int column = Next().column;
      ONCEFLOW_ASSIGN_OR_RETURN(NodeP right, Not());
      left = Binary("AND", column, std::move(left), std::move(right));
    }
    return left;
  }

  Result<NodeP> Not() {
    if (IsWord(Peek(), "NOT")) {
      if (++depth_ > kMaxDepth) return Err(ErrorAt(Peek().column, "nested too deeply"));
      NodeP n = Make(Node::Kind::kUnary, Next().column, "NOT");
      ONCEFLOW_ASSIGN_OR_RETURN(NodeP operand, Not());
      --depth_;
      n->children.push_back(std::move(operand));
      return n;
    }
    return Comparison();
  }

  Result<NodeP> Comparison() {
    ONCEFLOW_ASSIGN_OR_RETURN(NodeP left, Concat());
    static constexpr std::string_view kOps[] = {"=", "==", "!=", "<>", "<", "<=", ">", ">="};
    for (std::string_view op : kOps) {
      if (!IsSymbol(op)) continue;
      int column = Next().column;
      ONCEFLOW_ASSIGN_OR_RETURN(NodeP right, Concat());
      std::string canonical = op == "==" ? "=" : op == "<>" ? "!=" : std::string(op);
      return Binary(std::move(canonical), column, std::move(left), std::move(right));
    }
    if (IsWord(Peek(), "IS")) {
      NodeP n = Make(Node::Kind::kIsNull, Next().column);
      n->negated = AcceptWord("NOT");
      ONCEFLOW_RETURN_IF_ERROR(ExpectWord("NULL"));
      n->children.push_back(std::move(left));
      return n;
    }
    if (IsWord(Peek(), "IN") || (IsWord(Peek(), "NOT") && IsWord(Peek(1), "IN"))) {
      NodeP n = Make(Node::Kind::kIn, Peek().column);
      n->negated = AcceptWord("NOT");
      Next();  // IN
      n->children.push_back(std::move(left));
      ONCEFLOW_RETURN_IF_ERROR(ExpectSymbol("("));
      do {
        ONCEFLOW_ASSIGN_OR_RETURN(NodeP item, Expr());
        n->children.push_back(std::move(item));
      } while (AcceptSymbol(","));
      ONCEFLOW_RETURN_IF_ERROR(ExpectSymbol(")"));
      return n;
    }
    return left;
  }

  Result<NodeP> Concat() {
    ONCEFLOW_ASSIGN_OR_RETURN(NodeP left, Additive());
    while (IsSymbol("||")) {
      int column = Next().column;
      ONCEFLOW_ASSIGN_OR_RETURN(NodeP right, Additive());
      left = Binary("||", column, std::move(left), std::move(right));
    }
    return left;
  }

  Result<NodeP> Additive() {
    ONCEFLOW_ASSIGN_OR_RETURN(NodeP left, Multiplicative());
    while (IsSymbol("+") || IsSymbol("-")) {
      const Token& op = Next();
      ONCEFLOW_ASSIGN_OR_RETURN(NodeP right, Multiplicative());
      left = Binary(op.text, op.column, std::move(left), std::move(right));
    }
    return left;
  }

  Result<NodeP> Multiplicative() {
    ONCEFLOW_ASSIGN_OR_RETURN(NodeP left, Unary());
    while (IsSymbol("*") || IsSymbol("/") || IsSymbol("%")) {
      const Token& op = Next();
      ONCEFLOW_ASSIGN_OR_RETURN(NodeP right, Unary());
      left = Binary(op.text, op.column, std::move(left), std::move(right));
    }
    return left;
  }

  Result<NodeP> Unary() {
    if (IsSymbol("-") || IsSymbol("+")) {
      if (++depth_ > kMaxDepth) return Err(ErrorAt(Peek().column, "nested too deeply"));
      const Token& op = Next();
      const int column = op.column;
      const bool minus = op.text == "-";
      // A minus before a number is part of the literal: -9223372036854775808 is a BIGINT.
      if (minus && (Peek().kind == Token::Kind::kInt || Peek().kind == Token::Kind::kFloat)) {
        ONCEFLOW_ASSIGN_OR_RETURN(NodeP literal, Number(Next(), /*negative=*/true));
        literal->column = column;
        --depth_;
        return literal;
      }
      ONCEFLOW_ASSIGN_OR_RETURN(NodeP operand, Unary());
      --depth_;
      if (!minus) return operand;
      NodeP n = Make(Node::Kind::kUnary, column, "-");
      n->children.push_back(std::move(operand));
      return n;
    }
    return Primary();
  }

  Result<NodeP> Number(const Token& t, bool negative) {
    NodeP n = Make(Node::Kind::kLiteral, t.column);
    const std::string text = (negative ? "-" : "") + t.text;
    const char* end = text.data() + text.size();
    if (t.kind == Token::Kind::kInt) {
      int64_t i = 0;
      auto [ptr, ec] = std::from_chars(text.data(), end, i);
      if (ec != std::errc() || ptr != end) {
        return Err(ErrorAt(t.column, "the integer " + text + " is out of the BIGINT range"));
      }
      n->literal = i;
    } else {
      double d = 0;
      auto [ptr, ec] = std::from_chars(text.data(), end, d);
      if (ec != std::errc() || ptr != end || !std::isfinite(d)) {
        return Err(ErrorAt(t.column, "the number " + text + " is out of the DOUBLE range"));
      }
      n->literal = d;
    }
    return n;
  }

  Result<NodeP> Primary() {
    const Token& t = Peek();
    switch (t.kind) {
      case Token::Kind::kInt:
      case Token::Kind::kFloat: return Number(Next(), /*negative=*/false);
      case Token::Kind::kString: {
        NodeP n = Make(Node::Kind::kLiteral, t.column);
        n->literal = Next().text;
        return n;
      }
      case Token::Kind::kQuotedIdent: {
        NodeP n = Make(Node::Kind::kField, t.column);
        n->name = Next().text;
        return n;
      }
      case Token::Kind::kSymbol:
        if (AcceptSymbol("(")) {
          ONCEFLOW_ASSIGN_OR_RETURN(NodeP inner, Expr());
          ONCEFLOW_RETURN_IF_ERROR(ExpectSymbol(")"));
          return inner;
        }
        return Err(Unexpected("an expression"));
      case Token::Kind::kEnd: return Err(Unexpected("an expression"));
      case Token::Kind::kIdent: break;
    }
    if (IsWord(t, "NULL") || IsWord(t, "TRUE") || IsWord(t, "FALSE")) {
      NodeP n = Make(Node::Kind::kLiteral, t.column);
      if (!IsWord(t, "NULL")) n->literal = IsWord(t, "TRUE");
      Next();
      return n;
    }
    if (IsWord(t, "CASE")) return Case();
    if (IsWord(t, "CAST")) return Cast();
    if (IsSymbol("(", 1)) {
      NodeP n = Make(Node::Kind::kCall, t.column, Upper(Next().text));
      Next();  // (
      if (!AcceptSymbol(")")) {
        do {
          ONCEFLOW_ASSIGN_OR_RETURN(NodeP arg, Expr());
          n->children.push_back(std::move(arg));
        } while (AcceptSymbol(","));
        ONCEFLOW_RETURN_IF_ERROR(ExpectSymbol(")"));
      }
      return n;
    }
    if (IsReserved(t)) return Err(Unexpected("an expression"));
    NodeP n = Make(Node::Kind::kField, t.column);
    n->name = Next().text;
    return n;
  }

  // CASE WHEN c THEN v ... [ELSE v] END, or CASE x WHEN a THEN v ... (x = a).
  Result<NodeP> Case() {
    NodeP n = Make(Node::Kind::kCase, Next().column);
    NodeP subject;
    if (!IsWord(Peek(), "WHEN") && !IsWord(Peek(), "END")) {
      ONCEFLOW_ASSIGN_OR_RETURN(subject, Expr());
    }
    if (!IsWord(Peek(), "WHEN")) return Err(Unexpected("WHEN"));
    while (IsWord(Peek(), "WHEN")) {
      int column = Next().column;
      ONCEFLOW_ASSIGN_OR_RETURN(NodeP when, Expr());
      if (subject != nullptr) when = Binary("=", column, Clone(*subject), std::move(when));
      ONCEFLOW_RETURN_IF_ERROR(ExpectWord("THEN"));
      ONCEFLOW_ASSIGN_OR_RETURN(NodeP then, Expr());
      n->children.push_back(std::move(when));
      n->children.push_back(std::move(then));
    }
    if (AcceptWord("ELSE")) {
      ONCEFLOW_ASSIGN_OR_RETURN(NodeP otherwise, Expr());
      n->children.push_back(std::move(otherwise));
      n->has_else = true;
    }
    ONCEFLOW_RETURN_IF_ERROR(ExpectWord("END"));
    return n;
  }

  static NodeP Clone(const Node& node) {
    auto n = std::make_unique<Node>();
    n->kind = node.kind;
    n->column = node.column;
    n->op = node.op;
    n->literal = node.literal;
    n->name = node.name;
    n->negated = node.negated;
    n->has_else = node.has_else;
    n->cast_to = node.cast_to;
    for (const NodeP& c : node.children) n->children.push_back(Clone(*c));
    return n;
  }

  // CAST(x AS BIGINT | INT | INTEGER | DOUBLE | VARCHAR | STRING | BOOLEAN).
  Result<NodeP> Cast() {
    NodeP n = Make(Node::Kind::kCast, Next().column);
    ONCEFLOW_RETURN_IF_ERROR(ExpectSymbol("("));
    ONCEFLOW_ASSIGN_OR_RETURN(NodeP operand, Expr());
    n->children.push_back(std::move(operand));
    ONCEFLOW_RETURN_IF_ERROR(ExpectWord("AS"));
    static constexpr std::pair<std::string_view, Type> kTypes[] = {
        {"BIGINT", Type::kInt},    {"INT", Type::kInt},        {"INTEGER", Type::kInt},
        {"DOUBLE", Type::kDouble}, {"VARCHAR", Type::kString}, {"STRING", Type::kString},
        {"BOOLEAN", Type::kBool}};
    bool found = false;
    for (const auto& [word, type] : kTypes) {
      if (IsWord(Peek(), word)) {
        n->cast_to = type;
        found = true;
      }
    }
    if (!found) return Err(Unexpected("a type (BIGINT, DOUBLE, VARCHAR or BOOLEAN)"));
    Next();
    ONCEFLOW_RETURN_IF_ERROR(ExpectSymbol(")"));
    return n;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<std::unique_ptr<Node>> Parse(std::string_view text) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  ONCEFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Node> root, Parser(std::move(tokens)).ParseAll());
  // Chains (a + b + c ...) are parsed in loops but make deep trees, which the checker, the
  // compiler and the evaluation walk recursively: the same limit holds for the tree, measured
  // without recursion.
  std::vector<std::pair<const Node*, int>> stack = {{root.get(), 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (depth > kMaxDepth) {
      return Err(Status::InvalidArgument("column " + std::to_string(node->column) +
                                         ": nested too deeply"));
    }
    for (const auto& child : node->children) stack.emplace_back(child.get(), depth + 1);
  }
  return root;
}

}  // namespace onceflow::expr
