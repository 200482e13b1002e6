// Dotted version parsing and ordering (see version.h for the grammar and the order).
// Pure functions; thread-safe.
#include "util/version.h"

#include <algorithm>

namespace fw {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }
bool is_sep(char c) { return c == '.' || c == '-' || c == '_'; }

std::unexpected<Error> bad(std::string what, size_t at) {
  return fail(Errc::parse_error, std::move(what), "byte " + std::to_string(at));
}

// Next identifier of a suffix starting at i (separators skipped); empty at the end.
std::string_view next_ident(std::string_view s, size_t& i) {
  while (i < s.size() && is_sep(s[i])) ++i;
  size_t start = i;
  if (i < s.size() && is_digit(s[i])) {
    while (i < s.size() && is_digit(s[i])) ++i;
  } else {
    while (i < s.size() && !is_sep(s[i]) && !is_digit(s[i])) ++i;
  }
  return s.substr(start, i - start);
}

std::strong_ordering compare_ident(std::string_view a, std::string_view b) {
  bool an = !a.empty() && is_digit(a[0]), bn = !b.empty() && is_digit(b[0]);
  if (an && bn) {
    while (a.size() > 1 && a[0] == '0') a.remove_prefix(1);
    while (b.size() > 1 && b[0] == '0') b.remove_prefix(1);
    if (a.size() != b.size()) return a.size() <=> b.size();
    return a.compare(b) <=> 0;
  }
  if (an != bn) return an ? std::strong_ordering::less : std::strong_ordering::greater;
  size_t n = std::min(a.size(), b.size());
  for (size_t k = 0; k < n; ++k) {
    char x = lower(a[k]), y = lower(b[k]);
    if (x != y) return x <=> y;
  }
  return a.size() <=> b.size();
}

std::strong_ordering compare_suffix(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  for (;;) {
    std::string_view x = next_ident(a, i), y = next_ident(b, j);
    if (x.empty() && y.empty()) return std::strong_ordering::equal;
    if (x.empty()) return std::strong_ordering::less;
    if (y.empty()) return std::strong_ordering::greater;
    auto c = compare_ident(x, y);
    if (c != 0) return c;
  }
}

}  // namespace

Result<Version> Version::parse(std::string_view s) {
  if (s.size() > kMaxText) return fail(Errc::too_large, "version longer than 128 bytes", "byte 0");
  size_t b = 0, e = s.size();
  while (b < e && s[b] == ' ') ++b;
  while (e > b && s[e - 1] == ' ') --e;
  size_t i = b;
  if (i < e && (s[i] == 'v' || s[i] == 'V')) ++i;
  if (i >= e || !is_digit(s[i])) return bad("a version starts with a number", i);
  Version v;
  v.count_ = 0;
  for (;;) {
    size_t start = i;
    uint64_t n = 0;
    while (i < e && is_digit(s[i])) {
      if (i - start >= 19) return bad("version component too long", start);
      n = n * 10 + uint64_t(s[i] - '0');
      ++i;
    }
    if (i == start) return bad("empty version component", i);
    if (v.count_ == kMaxComponents) return bad("more than 8 version components", start);
    v.parts_[v.count_++] = n;
    if (i < e && s[i] == '.' && i + 1 < e && is_digit(s[i + 1])) {
      ++i;
      continue;
    }
    break;
  }
  if (i < e && s[i] != '+') {
    char c = s[i];
    if (c == '-' || c == '_' || c == '~' || c == ' ' || c == '.') {
      ++i;
    } else if (!is_alpha(c)) {
      return bad(std::string("unexpected '") + c + "' in version", i);
    }
    size_t start = i;
    while (i < e && s[i] != '+') ++i;
    v.pre_.assign(s.substr(start, i - start));
    if (v.pre_.empty()) return bad("empty version suffix", start);
  }
  if (i < e && s[i] == '+') v.build_.assign(s.substr(i + 1, e - i - 1));
  return v;
}

std::string Version::to_string() const {
  std::string out;
  for (size_t k = 0; k < count_; ++k) {
    if (k) out += '.';
    out += std::to_string(parts_[k]);
  }
  if (!pre_.empty()) out += "-" + pre_;
  if (!build_.empty()) out += "+" + build_;
  return out;
}

std::strong_ordering operator<=>(const Version& a, const Version& b) noexcept {
  size_t n = std::max(a.count_, b.count_);
  for (size_t k = 0; k < n; ++k) {
    uint64_t x = k < a.count_ ? a.parts_[k] : 0, y = k < b.count_ ? b.parts_[k] : 0;
    if (x != y) return x <=> y;
  }
  bool ap = !a.pre_.empty(), bp = !b.pre_.empty();
  if (ap != bp) return ap ? std::strong_ordering::less : std::strong_ordering::greater;
  if (!ap) return std::strong_ordering::equal;
  return compare_suffix(a.pre_, b.pre_);
}

}  // namespace fw
