// Lexer and recursive-descent parser for the CEL subset (grammar: CEL langdef), with
// macro expansion, literal folding of negative numbers, limits, and line:col + caret
// errors. Pure functions; thread-safe.
#include <cstring>

#include "cel/ast.h"
#include "cel/value_impl.h"

namespace fw::cel::detail {
namespace {

enum class T : uint8_t {
  end, ident, quoted_ident, int_lit, uint_lit, double_lit, string_lit, bytes_lit,
  kw_true, kw_false, kw_null, kw_in,
  lparen, rparen, lbracket, rbracket, lbrace, rbrace, dot, comma, colon, question,
  plus, minus, star, slash, percent, bang, lt, le, gt, ge, eqeq, ne, andand, oror,
};

struct Token {
  T t;
  int32_t pos;
  std::string text;   // identifier, or decoded string/bytes literal
  uint64_t u = 0;     // int/uint magnitude
  double d = 0;
};

const char* const kReserved[] = {"as", "break", "const", "continue", "else", "for", "function", "if",
                                 "import", "let", "loop", "package", "namespace", "return", "var",
                                 "void", "while"};

bool is_reserved(std::string_view s) {
  for (const char* r : kReserved)
    if (s == r) return true;
  return false;
}

struct ParseFail {
  int32_t pos;
  Errc code;
  std::string message;
};

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  Lexer(std::string_view s, const Limits& lim) : s_(s), lim_(lim) {}

  std::expected<std::vector<Token>, ParseFail> run() {
    std::vector<Token> out;
    for (;;) {
      auto t = next();
      if (!t) return std::unexpected(t.error());
      bool end = t->t == T::end;
      out.push_back(std::move(*t));
      if (end) return out;
    }
  }

 private:
  std::unexpected<ParseFail> err(size_t pos, std::string m, Errc c = Errc::parse_error) {
    return std::unexpected(ParseFail{int32_t(pos), c, std::move(m)});
  }

  void skip_space() {
    for (;;) {
      while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r' ||
                                s_[p_] == '\f' || s_[p_] == '\v'))
        ++p_;
      if (p_ + 1 < s_.size() && s_[p_] == '/' && s_[p_ + 1] == '/') {
        while (p_ < s_.size() && s_[p_] != '\n') ++p_;
        continue;
      }
      return;
    }
  }

  std::expected<Token, ParseFail> next() {
    skip_space();
    Token tok{T::end, int32_t(p_), {}};
    if (p_ >= s_.size()) return tok;
    char c = s_[p_];
    auto two = [&](char a, char b) { return c == a && p_ + 1 < s_.size() && s_[p_ + 1] == b; };
    // string / bytes literals with prefixes
    if (c == '"' || c == '\'' ||
        ((c == 'r' || c == 'R' || c == 'b' || c == 'B') && p_ + 1 < s_.size() &&
         (s_[p_ + 1] == '"' || s_[p_ + 1] == '\'' ||
          ((s_[p_ + 1] == 'r' || s_[p_ + 1] == 'R' || s_[p_ + 1] == 'b' || s_[p_ + 1] == 'B') &&
           std::tolower(s_[p_ + 1]) != std::tolower(c) && p_ + 2 < s_.size() &&
           (s_[p_ + 2] == '"' || s_[p_ + 2] == '\''))))) {
      return string_lit(tok);
    }
    if (is_ident_start(c)) {
      size_t b = p_;
      while (p_ < s_.size() && (is_ident_start(s_[p_]) || is_digit(s_[p_]))) ++p_;
      tok.text.assign(s_.substr(b, p_ - b));
      if (tok.text == "true") tok.t = T::kw_true;
      else if (tok.text == "false") tok.t = T::kw_false;
      else if (tok.text == "null") tok.t = T::kw_null;
      else if (tok.text == "in") tok.t = T::kw_in;
      else tok.t = T::ident;
      return tok;
    }
    if (c == '`') {
      size_t b = ++p_;
      while (p_ < s_.size() && s_[p_] != '`' && s_[p_] != '\n') ++p_;
      if (p_ >= s_.size() || s_[p_] != '`') return err(b - 1, "unterminated quoted identifier");
      tok.text.assign(s_.substr(b, p_ - b));
      ++p_;
      if (tok.text.empty()) return err(b - 1, "empty quoted identifier");
      tok.t = T::quoted_ident;
      return tok;
    }
    if (is_digit(c) || (c == '.' && p_ + 1 < s_.size() && is_digit(s_[p_ + 1]))) return number(tok);
    ++p_;
    switch (c) {
      case '(': tok.t = T::lparen; return tok;
      case ')': tok.t = T::rparen; return tok;
      case '[': tok.t = T::lbracket; return tok;
      case ']': tok.t = T::rbracket; return tok;
      case '{': tok.t = T::lbrace; return tok;
      case '}': tok.t = T::rbrace; return tok;
      case '.': tok.t = T::dot; return tok;
      case ',': tok.t = T::comma; return tok;
      case ':': tok.t = T::colon; return tok;
      case '?': tok.t = T::question; return tok;
      case '+': tok.t = T::plus; return tok;
      case '-': tok.t = T::minus; return tok;
      case '*': tok.t = T::star; return tok;
      case '/': tok.t = T::slash; return tok;
      case '%': tok.t = T::percent; return tok;
      default: break;
    }
    --p_;
    if (two('<', '=')) return p_ += 2, tok.t = T::le, tok;
    if (two('>', '=')) return p_ += 2, tok.t = T::ge, tok;
    if (two('=', '=')) return p_ += 2, tok.t = T::eqeq, tok;
    if (two('!', '=')) return p_ += 2, tok.t = T::ne, tok;
    if (two('&', '&')) return p_ += 2, tok.t = T::andand, tok;
    if (two('|', '|')) return p_ += 2, tok.t = T::oror, tok;
    if (c == '<') return ++p_, tok.t = T::lt, tok;
    if (c == '>') return ++p_, tok.t = T::gt, tok;
    if (c == '!') return ++p_, tok.t = T::bang, tok;
    if (c == '=') return err(p_, "unexpected '=' (use '==' to compare)");
    if ((unsigned char)c >= 0x80) return err(p_, "unexpected non-ASCII character");
    return err(p_, std::string("unexpected character '") + c + "'");
  }

  std::expected<Token, ParseFail> number(Token tok) {
    size_t b = p_;
    if (s_[p_] == '0' && p_ + 1 < s_.size() && (s_[p_ + 1] == 'x' || s_[p_ + 1] == 'X')) {
      p_ += 2;
      size_t ds = p_;
      uint64_t v = 0;
      while (p_ < s_.size() && hexval(s_[p_]) >= 0) {
        if (v >> 60) return err(b, "integer literal out of range");
        v = v * 16 + uint64_t(hexval(s_[p_++]));
      }
      if (p_ == ds) return err(b, "expected hex digits after '0x'");
      tok.u = v;
      tok.t = T::int_lit;
      if (p_ < s_.size() && (s_[p_] == 'u' || s_[p_] == 'U')) ++p_, tok.t = T::uint_lit;
      return check_after_number(tok);
    }
    while (p_ < s_.size() && is_digit(s_[p_])) ++p_;
    bool is_double = false;
    if (p_ + 1 < s_.size() && s_[p_] == '.' && is_digit(s_[p_ + 1])) {
      is_double = true;
      ++p_;
      while (p_ < s_.size() && is_digit(s_[p_])) ++p_;
    }
    if (p_ < s_.size() && (s_[p_] == 'e' || s_[p_] == 'E')) {
      size_t q = p_ + 1;
      if (q < s_.size() && (s_[q] == '+' || s_[q] == '-')) ++q;
      if (q < s_.size() && is_digit(s_[q])) {
        is_double = true;
        p_ = q;
        while (p_ < s_.size() && is_digit(s_[p_])) ++p_;
      }
    }
    std::string text(s_.substr(b, p_ - b));
    if (text.size() > 512) return err(b, "number literal too long", Errc::too_large);
    if (is_double) {
      char* endp = nullptr;
      tok.d = std::strtod(text.c_str(), &endp);
      tok.t = T::double_lit;
      return check_after_number(tok);
    }
    uint64_t v = 0;
    for (char ch : text) {
      if (v > (UINT64_MAX - uint64_t(ch - '0')) / 10) return err(b, "integer literal out of range");
      v = v * 10 + uint64_t(ch - '0');
    }
    tok.u = v;
    tok.t = T::int_lit;
    if (p_ < s_.size() && (s_[p_] == 'u' || s_[p_] == 'U')) ++p_, tok.t = T::uint_lit;
    return check_after_number(tok);
  }

  std::expected<Token, ParseFail> check_after_number(Token tok) {
    if (p_ < s_.size() && (is_ident_start(s_[p_]) || is_digit(s_[p_])))
      return err(p_, "unexpected character after number");
    return tok;
  }

  std::expected<Token, ParseFail> string_lit(Token tok) {
    bool raw = false, bytes = false;
    while (s_[p_] != '"' && s_[p_] != '\'') {
      char c = char(std::tolower(s_[p_++]));
      if (c == 'r') raw = true;
      if (c == 'b') bytes = true;
    }
    char q = s_[p_];
    bool triple = p_ + 2 < s_.size() && s_[p_ + 1] == q && s_[p_ + 2] == q;
    p_ += triple ? 3 : 1;
    std::string out;
    for (;;) {
      if (p_ >= s_.size()) return err(tok.pos, "unterminated string literal");
      if (out.size() > lim_.max_literal_bytes)
        return err(tok.pos, "string literal longer than " + std::to_string(lim_.max_literal_bytes) + " bytes",
                   Errc::too_large);
      char c = s_[p_];
      if (triple) {
        if (c == q && p_ + 2 < s_.size() && s_[p_ + 1] == q && s_[p_ + 2] == q) {
          p_ += 3;
          break;
        }
      } else {
        if (c == q) {
          ++p_;
          break;
        }
        if (c == '\n' || c == '\r') return err(p_, "newline in string literal (use ''' or \"\"\" for multi-line)");
      }
      if (c != '\\' || raw) {
        out += c;
        ++p_;
        continue;
      }
      // escape
      size_t esc = p_;
      if (p_ + 1 >= s_.size()) return err(esc, "unterminated escape sequence");
      char e = s_[p_ + 1];
      p_ += 2;
      switch (e) {
        case 'a': out += '\a'; continue;
        case 'b': out += '\b'; continue;
        case 'f': out += '\f'; continue;
        case 'n': out += '\n'; continue;
        case 'r': out += '\r'; continue;
        case 't': out += '\t'; continue;
        case 'v': out += '\v'; continue;
        case '\\': out += '\\'; continue;
        case '?': out += '?'; continue;
        case '"': out += '"'; continue;
        case '\'': out += '\''; continue;
        case '`': out += '`'; continue;
        default: break;
      }
      uint32_t cp = 0;
      int n = 0;
      if (e == 'x' || e == 'X') n = 2;
      else if (e == 'u') n = 4;
      else if (e == 'U') n = 8;
      if (n) {
        for (int k = 0; k < n; ++k) {
          if (p_ >= s_.size() || hexval(s_[p_]) < 0) return err(esc, "bad hex escape sequence");
          cp = cp * 16 + uint32_t(hexval(s_[p_++]));
        }
        if (n == 2 && bytes) {
          out += char(cp);
          continue;
        }
        if (n > 2 && bytes) return err(esc, "unicode escape in a bytes literal");
      } else if (e >= '0' && e <= '3') {
        cp = uint32_t(e - '0');
        for (int k = 0; k < 2; ++k) {
          if (p_ >= s_.size() || s_[p_] < '0' || s_[p_] > '7') return err(esc, "bad octal escape sequence");
          cp = cp * 8 + uint32_t(s_[p_++] - '0');
        }
        if (bytes) {
          out += char(cp);
          continue;
        }
      } else {
        return err(esc, std::string("unknown escape sequence '\\") + e + "'");
      }
      if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return err(esc, "invalid code point in escape");
      append_utf8(out, cp);
    }
    if (!bytes && !valid_utf8(out)) return err(tok.pos, "string literal is not valid UTF-8");
    tok.t = bytes ? T::bytes_lit : T::string_lit;
    tok.text = std::move(out);
    return tok;
  }

  std::string_view s_;
  const Limits& lim_;
  size_t p_ = 0;
};

class Parser {
 public:
  Parser(std::vector<Token> toks, const Limits& lim) : t_(std::move(toks)), lim_(lim) {}

  std::expected<ExprPtr, ParseFail> run() {
    auto e = expr();
    if (!e) return e;
    if (peek().t != T::end) return fail_here("unexpected " + describe(peek()) + " after the expression");
    return e;
  }

 private:
  using R = std::expected<ExprPtr, ParseFail>;

  const Token& peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  bool accept(T t) {
    if (peek().t != t) return false;
    ++i_;
    return true;
  }
  std::unexpected<ParseFail> fail_at(int32_t pos, std::string m, Errc c = Errc::parse_error) {
    return std::unexpected(ParseFail{pos, c, std::move(m)});
  }
  std::unexpected<ParseFail> fail_here(std::string m) { return fail_at(peek().pos, std::move(m)); }

  static std::string describe(const Token& t) {
    switch (t.t) {
      case T::end: return "end of expression";
      case T::ident: return "identifier '" + t.text + "'";
      case T::quoted_ident: return "quoted identifier";
      case T::int_lit: case T::uint_lit: case T::double_lit: return "number";
      case T::string_lit: return "string";
      case T::bytes_lit: return "bytes";
      case T::kw_true: return "'true'";
      case T::kw_false: return "'false'";
      case T::kw_null: return "'null'";
      case T::kw_in: return "'in'";
      case T::lparen: return "'('";
      case T::rparen: return "')'";
      case T::lbracket: return "'['";
      case T::rbracket: return "']'";
      case T::lbrace: return "'{'";
      case T::rbrace: return "'}'";
      case T::dot: return "'.'";
      case T::comma: return "','";
      case T::colon: return "':'";
      case T::question: return "'?'";
      default: return "operator";
    }
  }

  std::expected<ExprPtr, ParseFail> node(Expr::K k, int32_t pos, std::vector<ExprPtr> args = {}) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->pos = pos;
    int d = 0;
    for (auto& a : args) d = std::max(d, a->depth);
    e->depth = d + 1;
    e->args = std::move(args);
    if (e->depth > lim_.max_depth)
      return fail_at(pos, "expression nested deeper than " + std::to_string(lim_.max_depth), Errc::too_large);
    return e;
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& x) : p(x) { ++p.nest_; }
    ~DepthGuard() { --p.nest_; }
  };
  std::optional<ParseFail> enter() {
    if (nest_ > lim_.max_depth)
      return ParseFail{peek().pos, Errc::too_large, "expression nested deeper than " + std::to_string(lim_.max_depth)};
    return std::nullopt;
  }

  R expr() {
    DepthGuard g(*this);
    if (auto f = enter()) return std::unexpected(*f);
    auto c = logical(true);
    if (!c) return c;
    if (peek().t != T::question) return c;
    int32_t pos = peek().pos;
    ++i_;
    auto a = logical(true);
    if (!a) return a;
    if (!accept(T::colon)) return fail_here("expected ':' in conditional expression");
    auto b = expr();
    if (!b) return b;
    std::vector<ExprPtr> args;
    args.push_back(std::move(*c));
    args.push_back(std::move(*a));
    args.push_back(std::move(*b));
    return node(Expr::K::cond, pos, std::move(args));
  }

  // or_level: true = '||' chain of '&&' chains; false = '&&' chain of relations.
  R logical(bool or_level) {
    T op = or_level ? T::oror : T::andand;
    auto first = or_level ? logical(false) : relation();
    if (!first) return first;
    if (peek().t != op) return first;
    int32_t pos = peek().pos;
    std::vector<ExprPtr> args;
    args.push_back(std::move(*first));
    while (accept(op)) {
      auto next = or_level ? logical(false) : relation();
      if (!next) return next;
      args.push_back(std::move(*next));
      if (args.size() > 4 * lim_.max_list_literal) return fail_at(pos, "too many terms", Errc::too_large);
    }
    return node(or_level ? Expr::K::or_ : Expr::K::and_, pos, std::move(args));
  }

  R binary(Op op, int32_t pos, ExprPtr a, ExprPtr b) {
    std::vector<ExprPtr> args;
    args.push_back(std::move(a));
    args.push_back(std::move(b));
    auto n = node(Expr::K::op, pos, std::move(args));
    if (n) (*n)->op = op;
    return n;
  }

  R relation() {
    auto left = addition();
    if (!left) return left;
    for (;;) {
      Op op;
      switch (peek().t) {
        case T::lt: op = Op::lt; break;
        case T::le: op = Op::le; break;
        case T::gt: op = Op::gt; break;
        case T::ge: op = Op::ge; break;
        case T::eqeq: op = Op::eq; break;
        case T::ne: op = Op::ne; break;
        case T::kw_in: op = Op::in; break;
        default: return left;
      }
      int32_t pos = peek().pos;
      ++i_;
      auto right = addition();
      if (!right) return right;
      left = binary(op, pos, std::move(*left), std::move(*right));
      if (!left) return left;
    }
  }

  R addition() {
    auto left = multiplication();
    if (!left) return left;
    while (peek().t == T::plus || peek().t == T::minus) {
      Op op = peek().t == T::plus ? Op::add : Op::sub;
      int32_t pos = peek().pos;
      ++i_;
      auto right = multiplication();
      if (!right) return right;
      left = binary(op, pos, std::move(*left), std::move(*right));
      if (!left) return left;
    }
    return left;
  }

  R multiplication() {
    auto left = unary();
    if (!left) return left;
    while (peek().t == T::star || peek().t == T::slash || peek().t == T::percent) {
      Op op = peek().t == T::star ? Op::mul : peek().t == T::slash ? Op::div : Op::mod;
      int32_t pos = peek().pos;
      ++i_;
      auto right = unary();
      if (!right) return right;
      left = binary(op, pos, std::move(*left), std::move(*right));
      if (!left) return left;
    }
    return left;
  }

  R unary() {
    if (peek().t == T::bang || peek().t == T::minus) {
      std::vector<std::pair<T, int32_t>> ops;
      while (peek().t == T::bang || peek().t == T::minus) {
        ops.emplace_back(peek().t, peek().pos);
        ++i_;
        if (ops.size() > size_t(lim_.max_depth))
          return fail_at(ops.back().second, "too many unary operators", Errc::too_large);
      }
      ExprPtr operand;
      // "-" directly before a number literal folds into the literal (so that
      // -9223372036854775808 parses), unless the literal is followed by member access.
      bool folded = false;
      if (ops.back().first == T::minus && (peek().t == T::int_lit || peek().t == T::double_lit) &&
          peek(1).t != T::dot && peek(1).t != T::lbracket) {
        const Token& n = peek();
        Value v;
        if (n.t == T::double_lit) {
          v = Value::dbl(-n.d);
        } else {
          if (n.u > uint64_t(INT64_MAX) + 1) return fail_at(n.pos, "integer literal out of range");
          v = Value::integer(n.u == uint64_t(INT64_MAX) + 1 ? INT64_MIN : -int64_t(n.u));
        }
        auto lit = node(Expr::K::literal, ops.back().second);
        if (!lit) return lit;
        (*lit)->value = v;
        operand = std::move(*lit);
        ++i_;
        ops.pop_back();
        folded = true;
      }
      if (!folded) {
        auto m = member();
        if (!m) return m;
        operand = std::move(*m);
      }
      while (!ops.empty()) {
        auto [t, pos] = ops.back();
        ops.pop_back();
        std::vector<ExprPtr> args;
        args.push_back(std::move(operand));
        auto n = node(Expr::K::op, pos, std::move(args));
        if (!n) return n;
        (*n)->op = t == T::bang ? Op::not_ : Op::neg;
        operand = std::move(*n);
      }
      return operand;
    }
    return member();
  }

  std::expected<std::vector<ExprPtr>, ParseFail> expr_list(T close, const char* what) {
    std::vector<ExprPtr> out;
    if (accept(close)) return out;
    for (;;) {
      auto e = expr();
      if (!e) return std::unexpected(e.error());
      out.push_back(std::move(*e));
      if (out.size() > lim_.max_list_literal)
        return fail_at(out.back()->pos, std::string("more than ") + std::to_string(lim_.max_list_literal) + " " + what,
                       Errc::too_large);
      if (accept(close)) return out;
      if (!accept(T::comma))
        return fail_here(std::string("expected ',' or '") + (close == T::rparen ? ")" : "]") + "' after " + what);
      if (close == T::rbracket && accept(close)) return out;  // trailing comma in list literal
    }
  }

  R member() {
    auto left = primary();
    if (!left) return left;
    for (;;) {
      if (peek().t == T::dot) {
        int32_t pos = peek().pos;
        ++i_;
        if (peek().t != T::ident && peek().t != T::quoted_ident)
          return fail_here("expected a field name after '.'");
        bool quoted = peek().t == T::quoted_ident;
        std::string name = peek().text;
        int32_t npos = peek().pos;
        ++i_;
        if (!quoted && peek().t == T::lparen) {
          ++i_;
          auto args = expr_list(T::rparen, "arguments");
          if (!args) return std::unexpected(args.error());
          auto m = receiver_call(std::move(*left), std::move(name), npos, std::move(*args));
          if (!m) return m;
          left = std::move(m);
          continue;
        }
        std::vector<ExprPtr> a;
        a.push_back(std::move(*left));
        left = node(Expr::K::select, pos, std::move(a));
        if (!left) return left;
        (*left)->name = std::move(name);
      } else if (peek().t == T::lbracket) {
        int32_t pos = peek().pos;
        ++i_;
        auto idx = expr();
        if (!idx) return idx;
        if (!accept(T::rbracket)) return fail_here("expected ']' after index");
        left = binary_kind(Expr::K::index, pos, std::move(*left), std::move(*idx));
        if (!left) return left;
      } else {
        return left;
      }
    }
  }

  R binary_kind(Expr::K k, int32_t pos, ExprPtr a, ExprPtr b) {
    std::vector<ExprPtr> args;
    args.push_back(std::move(a));
    args.push_back(std::move(b));
    return node(k, pos, std::move(args));
  }

  R receiver_call(ExprPtr target, std::string name, int32_t pos, std::vector<ExprPtr> args) {
    MacroKind mk;
    size_t want = 2;
    bool is_macro = true;
    if (name == "all") mk = MacroKind::all;
    else if (name == "exists") mk = MacroKind::exists;
    else if (name == "exists_one") mk = MacroKind::exists_one;
    else if (name == "filter") mk = MacroKind::filter;
    else if (name == "map") mk = MacroKind::map, want = args.size() == 3 ? 3 : 2;
    else is_macro = false;
    if (is_macro && args.size() == want) {
      if (args[0]->kind != Expr::K::ident || args[0]->absolute)
        return fail_at(args[0]->pos, name + "() macro: the first argument must be a simple identifier");
      std::string var = args[0]->name;
      std::vector<ExprPtr> a;
      a.push_back(std::move(target));
      for (size_t k = 1; k < args.size(); ++k) a.push_back(std::move(args[k]));
      auto n = node(Expr::K::macro, pos, std::move(a));
      if (!n) return n;
      (*n)->macro = mk;
      (*n)->name = std::move(var);
      return n;
    }
    std::vector<ExprPtr> a;
    a.push_back(std::move(target));
    for (auto& x : args) a.push_back(std::move(x));
    auto n = node(Expr::K::call, pos, std::move(a));
    if (!n) return n;
    (*n)->name = std::move(name);
    (*n)->receiver = true;
    return n;
  }

  R primary() {
    const Token& tk = peek();
    int32_t pos = tk.pos;
    switch (tk.t) {
      case T::int_lit:
      case T::uint_lit:
      case T::double_lit:
      case T::string_lit:
      case T::bytes_lit:
      case T::kw_true:
      case T::kw_false:
      case T::kw_null: {
        Value v;
        if (tk.t == T::int_lit) {
          if (tk.u > uint64_t(INT64_MAX)) return fail_at(pos, "integer literal out of range");
          v = Value::integer(int64_t(tk.u));
        } else if (tk.t == T::uint_lit) {
          v = Value::uinteger(tk.u);
        } else if (tk.t == T::double_lit) {
          v = Value::dbl(tk.d);
        } else if (tk.t == T::string_lit) {
          v = Value::string(tk.text);
        } else if (tk.t == T::bytes_lit) {
          v = Value::bytes(tk.text);
        } else if (tk.t != T::kw_null) {
          v = Value::boolean(tk.t == T::kw_true);
        }
        ++i_;
        auto n = node(Expr::K::literal, pos);
        if (n) (*n)->value = std::move(v);
        return n;
      }
      case T::lparen: {
        ++i_;
        auto e = expr();
        if (!e) return e;
        if (!accept(T::rparen)) return fail_here("expected ')'");
        return e;
      }
      case T::lbracket: {
        ++i_;
        DepthGuard g(*this);
        if (auto f = enter()) return std::unexpected(*f);
        auto items = expr_list(T::rbracket, "list elements");
        if (!items) return std::unexpected(items.error());
        return node(Expr::K::list, pos, std::move(*items));
      }
      case T::lbrace: {
        ++i_;
        DepthGuard g(*this);
        if (auto f = enter()) return std::unexpected(*f);
        std::vector<ExprPtr> kv;
        if (!accept(T::rbrace)) {
          for (;;) {
            auto k = expr();
            if (!k) return k;
            if (!accept(T::colon)) return fail_here("expected ':' after map key");
            auto v = expr();
            if (!v) return v;
            kv.push_back(std::move(*k));
            kv.push_back(std::move(*v));
            if (kv.size() / 2 > lim_.max_list_literal)
              return fail_at(pos, "more than " + std::to_string(lim_.max_list_literal) + " map entries",
                             Errc::too_large);
            if (accept(T::rbrace)) break;
            if (!accept(T::comma)) return fail_here("expected ',' or '}' in map literal");
            if (accept(T::rbrace)) break;
          }
        }
        return node(Expr::K::map, pos, std::move(kv));
      }
      case T::dot:
      case T::ident: {
        bool absolute = accept(T::dot);
        if (peek().t != T::ident) return fail_here("expected an identifier after '.'");
        std::string name = peek().text;
        int32_t npos = peek().pos;
        if (is_reserved(name)) return fail_at(npos, "'" + name + "' is a reserved word");
        ++i_;
        if (peek().t == T::lparen) {
          ++i_;
          auto args = expr_list(T::rparen, "arguments");
          if (!args) return std::unexpected(args.error());
          if (name == "has" && !absolute) {
            if (args->size() != 1 || (*args)[0]->kind != Expr::K::select)
              return fail_at(npos, "has() takes one field selection, e.g. has(device.os)");
            (*args)[0]->test_only = true;
            return std::move((*args)[0]);
          }
          auto n = node(Expr::K::call, npos, std::move(*args));
          if (!n) return n;
          (*n)->name = absolute ? "." + name : name;
          return n;
        }
        if (peek().t == T::lbrace) return fail_at(npos, "message construction is not supported");
        auto n = node(Expr::K::ident, npos);
        if (!n) return n;
        (*n)->name = std::move(name);
        (*n)->absolute = absolute;
        return n;
      }
      case T::end: return fail_here("unexpected end of expression");
      default: return fail_here("unexpected " + describe(tk));
    }
  }

  std::vector<Token> t_;
  const Limits& lim_;
  size_t i_ = 0;
  int nest_ = 0;
};

}  // namespace

Error make_error_at(std::string_view text, const CompileOptions& o, int32_t pos, Errc code, std::string message) {
  if (pos < 0) pos = 0;
  size_t p = std::min(size_t(pos), text.size());
  int line = 1;
  size_t line_start = 0;
  for (size_t k = 0; k < p; ++k)
    if (text[k] == '\n') ++line, line_start = k + 1;
  int col = 1;  // code points
  for (size_t k = line_start; k < p; ++k)
    if ((static_cast<unsigned char>(text[k]) & 0xC0) != 0x80) ++col;
  int out_line = o.base_line + line - 1;
  int out_col = line == 1 ? o.base_col + col - 1 : 1 + o.continuation_indent + col - 1;
  std::string where = o.source_name + ":" + std::to_string(out_line) + ":" + std::to_string(out_col);
  if (o.caret) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    std::string_view ln = text.substr(line_start, line_end - line_start);
    if (ln.size() <= 240) {
      std::string pad;
      for (size_t k = line_start; k < p; ++k) {
        unsigned char c = text[k];
        if ((c & 0xC0) == 0x80) continue;
        pad += c == '\t' ? '\t' : ' ';
      }
      message += "\n | " + std::string(ln) + "\n | " + pad + "^";
    }
  }
  return Error{code, std::move(message), std::move(where)};
}

Result<ExprPtr> parse(std::string_view text, const CompileOptions& options) {
  if (text.size() > options.limits.max_text_bytes)
    return fail(Errc::too_large,
                "expression longer than " + std::to_string(options.limits.max_text_bytes) + " bytes",
                options.source_name + ":" + std::to_string(options.base_line) + ":" +
                    std::to_string(options.base_col));
  auto toks = Lexer(text, options.limits).run();
  if (!toks) return fail(make_error_at(text, options, toks.error().pos, toks.error().code, toks.error().message));
  if (toks->size() == 1) return fail(make_error_at(text, options, 0, Errc::parse_error, "empty expression"));
  auto r = Parser(std::move(*toks), options.limits).run();
  if (!r) return fail(make_error_at(text, options, r.error().pos, r.error().code, r.error().message));
  return std::move(*r);
}

}  // namespace fw::cel::detail
