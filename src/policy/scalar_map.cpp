// Aligns a YAML scalar's decoded value with its source text (plain, 'single', "double",
// literal | and folded > styles). See scalar_map.h.
#include "policy/scalar_map.h"

#include <cstdint>

namespace fw::policy::detail {
namespace {

enum class Style { plain, single, dquote, literal, folded };

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t utf8_len(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

// Length of the decoded bytes and of the escape text starting at text[r] == '\\';
// false when it is not a valid escape.
bool escape(std::string_view text, size_t r, size_t& decoded, size_t& raw) {
  if (r + 1 >= text.size()) return false;
  char e = text[r + 1];
  int hex = 0;
  switch (e) {
    case '0': case 'a': case 'b': case 't': case '\t': case 'n': case 'v': case 'f': case 'r':
    case 'e': case ' ': case '"': case '/': case '\\':
      decoded = 1; raw = 2; return true;
    case 'N': case '_': decoded = 2; raw = 2; return true;
    case 'L': case 'P': decoded = 3; raw = 2; return true;
    case 'x': hex = 2; break;
    case 'u': hex = 4; break;
    case 'U': hex = 8; break;
    default: return false;
  }
  uint32_t cp = 0;
  for (int k = 0; k < hex; ++k) {
    size_t p = r + 2 + size_t(k);
    if (p >= text.size() || hexval(text[p]) < 0) return false;
    cp = cp * 16 + uint32_t(hexval(text[p]));
  }
  decoded = utf8_len(cp);
  raw = 2 + size_t(hex);
  return true;
}

}  // namespace

std::vector<size_t> map_scalar(std::string_view text, size_t mark, std::string_view value) {
  std::vector<size_t> out;
  if (mark >= text.size()) return out;
  size_t r = mark;
  // Skip an anchor or tag in front of the scalar ("&a 'x'", "!!str x").
  while (r < text.size() && (text[r] == '&' || text[r] == '!')) {
    while (r < text.size() && text[r] != ' ' && text[r] != '\n') ++r;
    while (r < text.size() && text[r] == ' ') ++r;
  }
  if (r >= text.size()) return out;
  Style style = Style::plain;
  size_t indent = 0;
  switch (text[r]) {
    case '\'': style = Style::single; ++r; break;
    case '"': style = Style::dquote; ++r; break;
    case '|':
    case '>': {
      style = text[r] == '|' ? Style::literal : Style::folded;
      while (r < text.size() && text[r] != '\n') ++r;  // header line (indicators, comment)
      if (r < text.size()) ++r;
      // Indentation of the first non-empty line.
      size_t p = r;
      while (p < text.size()) {
        size_t s = 0;
        while (p + s < text.size() && text[p + s] == ' ') ++s;
        if (p + s < text.size() && text[p + s] == '\n') {
          p += s + 1;
          continue;
        }
        indent = s;
        break;
      }
      break;
    }
    default: break;
  }
  const bool block = style == Style::literal || style == Style::folded;
  auto skip_indent = [&] {
    for (size_t k = 0; k < indent && r < text.size() && text[r] == ' '; ++k) ++r;
  };
  if (block) skip_indent();
  out.reserve(value.size());
  size_t i = 0;
  while (i < value.size()) {
    if (r >= text.size()) return {};
    char c = text[r];
    if (style == Style::dquote && c == '\\') {
      if (r + 1 < text.size() && (text[r + 1] == '\n' || text[r + 1] == '\r')) {
        r += 2;
        if (r < text.size() && text[r - 1] == '\r' && text[r] == '\n') ++r;
        while (r < text.size() && (text[r] == ' ' || text[r] == '\t')) ++r;
        continue;
      }
      size_t dec = 0, raw = 0;
      if (!escape(text, r, dec, raw)) return {};
      for (size_t k = 0; k < dec && i < value.size(); ++k, ++i) out.push_back(r);
      r += raw;
      continue;
    }
    if (style == Style::single && c == '\'' && r + 1 < text.size() && text[r + 1] == '\'' &&
        value[i] == '\'') {
      out.push_back(r);
      ++i;
      r += 2;
      continue;
    }
    if (c == value[i]) {
      out.push_back(r);
      ++i;
      ++r;
      if (c == '\n' && block) skip_indent();
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++r;
      continue;
    }
    if (c == '\n') {
      if (value[i] == ' ') {  // a line break folded into a space
        out.push_back(r);
        ++i;
      }
      ++r;
      if (block) skip_indent();
      continue;
    }
    if (value[i] == ' ' || value[i] == '\n') {  // produced by folding, no source byte
      out.push_back(r);
      ++i;
      continue;
    }
    return {};
  }
  return out;
}

}  // namespace fw::policy::detail
