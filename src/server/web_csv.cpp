// JSON items -> CSV (see web_csv.h). Pure; thread-safe.
#include "server/web_csv.h"

#include <charconv>

namespace fw::server {

namespace json = boost::json;

namespace {

bool looks_numeric(std::string_view s) {
  if (s.empty()) return false;
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string scalar(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return {};
    case json::kind::bool_: return v.get_bool() ? "true" : "false";
    case json::kind::string: return std::string(v.get_string());
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return json::serialize(v);
    default: return json::serialize(v);
  }
}

}  // namespace

std::string csv_cell(const json::value& v) {
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v.get_array()) {
      std::string part;
      if (e.is_object()) {
        const auto& o = e.get_object();
        if (auto* id = o.if_contains("id")) part = scalar(*id);
        else if (auto* name = o.if_contains("name")) part = scalar(*name);
        else part = json::serialize(e);
      } else {
        part = scalar(e);
      }
      if (!out.empty()) out += "; ";
      out += part;
    }
    return out;
  }
  if (v.is_object()) return v.get_object().empty() ? std::string{} : json::serialize(v);
  return scalar(v);
}

std::string csv_field(std::string_view s) {
  std::string cell(s);
  if (!cell.empty() && (cell[0] == '=' || cell[0] == '+' || cell[0] == '-' || cell[0] == '@' || cell[0] == '\t' ||
                        cell[0] == '\r') &&
      !looks_numeric(cell))
    cell.insert(cell.begin(), '\'');
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string q = "\"";
  for (char c : cell) {
    if (c == '"') q += '"';
    q += c;
  }
  q += '"';
  return q;
}

void CsvWriter::add(const json::object& item) {
  if (columns_.empty()) {
    for (const auto& kv : item) columns_.emplace_back(kv.key());
  }
  bool first = true;
  for (const auto& c : columns_) {
    if (!first) out_ += ',';
    first = false;
    if (const auto* v = item.if_contains(c)) out_ += csv_field(csv_cell(*v));
  }
  out_ += "\r\n";
  ++rows_;
}

std::string CsvWriter::finish() const {
  std::string doc = "\xEF\xBB\xBF";
  bool first = true;
  for (const auto& c : columns_) {
    if (!first) doc += ',';
    first = false;
    doc += csv_field(c);
  }
  if (!columns_.empty()) doc += "\r\n";
  doc += out_;
  return doc;
}

}  // namespace fw::server
