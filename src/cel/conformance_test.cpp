// Runs every case of the CEL conformance suite in FW_SHARED_DIR/cel-conformance/*.jsonl
// (format: that folder's README.md) and asserts the result. Cases we do not support are
// listed with a reason in conformance_skip.txt next to this file; a listed case that
// starts passing is reported so that the list stays short. Prints pass counts per file.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cel/cel.h"

namespace fw::cel {
namespace {

namespace json = boost::json;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string b64decode(std::string_view s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int buf = 0, bits = 0;
  for (char c : s) {
    int v = val(c);
    if (v < 0) continue;
    buf = (buf << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((buf >> bits) & 0xFF);
    }
  }
  return out;
}

Kind kind_from_type_name(std::string_view n) {
  for (Kind k : {Kind::null_type, Kind::bool_, Kind::int_, Kind::uint_, Kind::double_, Kind::string, Kind::bytes,
                 Kind::list, Kind::map, Kind::timestamp, Kind::duration, Kind::type})
    if (kind_name(k) == n) return k;
  ADD_FAILURE() << "unknown type name " << n;
  return Kind::null_type;
}

double to_double(const json::value& v) {
  if (v.is_string()) {
    std::string_view s = v.get_string();
    if (s == "NaN") return std::nan("");
    if (s == "Infinity") return INFINITY;
    if (s == "-Infinity") return -INFINITY;
  }
  return v.to_number<double>();
}

Value typed(const json::value& jv) {
  const auto& o = jv.as_object();
  const auto& [tag, v] = *o.begin();
  if (tag == "int") return Value::integer(std::stoll(std::string(v.get_string())));
  if (tag == "uint") return Value::uinteger(std::stoull(std::string(v.get_string())));
  if (tag == "double") return Value::dbl(to_double(v));
  if (tag == "string") return Value::string(std::string_view(v.get_string()));
  if (tag == "bytes") return Value::bytes(b64decode(v.get_string()));
  if (tag == "bool") return Value::boolean(v.get_bool());
  if (tag == "null") return Value::null();
  if (tag == "type") return Value::type(kind_from_type_name(v.get_string()));
  if (tag == "list") {
    std::vector<Value> items;
    for (const auto& e : v.get_array()) items.push_back(typed(e));
    return Value::list(std::move(items));
  }
  if (tag == "map") {
    std::vector<MapEntry> entries;
    for (const auto& e : v.get_array()) entries.emplace_back(typed(e.as_array()[0]), typed(e.as_array()[1]));
    return Value::map(std::move(entries));
  }
  if (tag == "duration") {
    std::string s(v.get_string());
    s.pop_back();  // 's'
    long double secs = std::stold(s);
    return Value::duration_ns(int64_t(std::llround(secs * 1e9L)));
  }
  if (tag == "timestamp") {
    auto r = evaluate("timestamp('" + std::string(v.get_string()) + "')");
    EXPECT_TRUE(r.has_value());
    return r ? *r : Value();
  }
  ADD_FAILURE() << "unknown value tag " << tag;
  return Value();
}

// Equality for expectations: like CEL's, but the runtime kinds must match too and any NaN
// matches any NaN.
bool same(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::double_:
      if (std::isnan(a.as_double()) && std::isnan(b.as_double())) return true;
      return a.as_double() == b.as_double() && std::signbit(a.as_double()) == std::signbit(b.as_double());
    case Kind::list: {
      auto x = a.as_list(), y = b.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!same(x[i], y[i])) return false;
      return true;
    }
    case Kind::map: {
      auto x = a.as_map(), y = b.as_map();
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x) {
        bool found = false;
        for (const auto& [k2, v2] : y)
          if (same(k, k2)) {
            found = same(v, v2);
            break;
          }
        if (!found) return false;
      }
      return true;
    }
    default: return a == b;
  }
}

std::map<std::string, std::string> load_skips() {
  std::map<std::string, std::string> out;
  std::ifstream in(std::string(FW_SOURCE_DIR) + "/src/cel/conformance_skip.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto tab = line.find('\t');
    out[line.substr(0, tab)] = tab == std::string::npos ? "" : line.substr(tab + 1);
  }
  return out;
}

TEST(CelConformance, AllFiles) {
  std::filesystem::path dir = std::filesystem::path(FW_SHARED_DIR) / "cel-conformance";
  ASSERT_TRUE(std::filesystem::exists(dir)) << dir;
  auto skips = load_skips();
  std::set<std::string> seen_skips;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".jsonl") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  int total = 0, total_pass = 0, total_skip = 0;
  std::string summary;
  for (const auto& f : files) {
    std::istringstream lines(read_file(f));
    std::string line;
    int n = 0, pass = 0, skipped = 0;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      json::object c = json::parse(line).as_object();
      std::string id = std::string(c["file"].get_string()) + "/" + std::string(c["section"].get_string()) + "/" +
                       std::string(c["name"].get_string());
      ++n;
      CompileOptions opt;
      opt.allow_undeclared = true;
      opt.caret = false;
      if (c.contains("container")) opt.container = std::string(c["container"].get_string());
      std::vector<Value> values;
      for (const auto& [k, v] : c["bindings"].as_object()) {
        opt.variables.push_back(std::string(k));
        values.push_back(typed(v));
      }
      std::string expr(c["expr"].get_string());
      bool ok = false;
      std::string got;
      auto prog = compile(expr, opt);
      Result<Value> r = prog ? [&] {
        Activation act = prog->make_activation();
        for (size_t i = 0; i < values.size(); ++i) act.set(i, values[i]);
        return prog->eval(act);
      }()
                             : Result<Value>(std::unexpected(prog.error()));
      const auto& expect = c["expect"].as_object();
      if (expect.contains("error")) {
        ok = !r.has_value();
        got = r ? r->to_string() : "error";
      } else {
        Value want = typed(expect.at("value"));
        ok = r.has_value() && same(*r, want);
        got = r ? r->to_string() : r.error().to_string();
        if (!ok) got += " (want " + want.to_string() + ")";
      }
      auto sk = skips.find(id);
      if (sk != skips.end()) {
        seen_skips.insert(id);
        ++skipped;
        if (ok) ADD_FAILURE() << id << " is in conformance_skip.txt but passes; remove it from the list";
        continue;
      }
      if (ok) ++pass;
      else ADD_FAILURE() << id << ": " << expr << " -> " << got;
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "%-16s %4d/%4d pass, %d skipped\n", f.stem().c_str(), pass, n - skipped, skipped);
    summary += buf;
    total += n;
    total_pass += pass;
    total_skip += skipped;
  }
  for (const auto& [id, why] : skips)
    if (!seen_skips.count(id)) ADD_FAILURE() << "conformance_skip.txt names " << id << ", which is not a case";
  std::printf("%s%-16s %4d/%4d pass, %d skipped\n", summary.c_str(), "TOTAL", total_pass, total - total_skip,
              total_skip);
}

}  // namespace
}  // namespace fw::cel
