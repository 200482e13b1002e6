// Loading of rule files (uap-core regexes.yaml and our data/detect/rules.yaml) into a
// RuleSet. Pure apart from reading the named file; thread-compatible.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "detect/rules.h"

namespace fw::detect {
namespace {

constexpr size_t kMaxRulesFile = 16 * 1024 * 1024;
constexpr size_t kMaxRegex = 4096;

struct KindSpec {
  const char* section;
  RuleKind kind;
  std::array<const char*, 5> keys;
};

const KindSpec kSpecs[] = {
    {"user_agent_parsers", RuleKind::ua,
     {"family_replacement", "v1_replacement", "v2_replacement", "v3_replacement", "v4_replacement"}},
    {"os_parsers", RuleKind::os,
     {"os_replacement", "os_v1_replacement", "os_v2_replacement", "os_v3_replacement",
      "os_v4_replacement"}},
    {"device_parsers", RuleKind::device,
     {"device_replacement", "brand_replacement", "model_replacement", nullptr, nullptr}},
};

std::string mark(const YAML::Node& n, const std::string& path) {
  auto m = n.Mark();
  if (m.is_null()) return path;
  return path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

}  // namespace

Status load_rules_file(const std::string& path, bool own, RuleSet& out) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail(Errc::io_error, "cannot read rules file: " + ec.message(), path);
  if (size > kMaxRulesFile) return fail(Errc::too_large, "rules file larger than 16 MiB", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::io_error, "cannot open rules file", path);
  std::stringstream ss;
  ss << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(ss.str());
  } catch (const YAML::Exception& e) {
    return fail(Errc::parse_error, e.msg,
                path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1));
  }
  if (!root.IsMap()) return fail(Errc::parse_error, "expected a mapping at the top", path);
  try {
    for (const auto& spec : kSpecs) {
      auto sec = root[spec.section];
      if (!sec) continue;
      if (!sec.IsSequence())
        return fail(Errc::parse_error, std::string(spec.section) + " must be a list", mark(sec, path));
      for (const auto& item : sec) {
        Rule r;
        r.kind = spec.kind;
        r.own = own;
        r.where = mark(item, path);
        if (!item.IsMap() || !item["regex"] || !item["regex"].IsScalar())
          return fail(Errc::parse_error, "rule without a regex", r.where);
        r.regex = item["regex"].as<std::string>();
        if (r.regex.size() > kMaxRegex) return fail(Errc::too_large, "regex longer than 4096 bytes", r.where);
        if (auto f = item["regex_flag"]) r.caseless = f.as<std::string>() == "i";
        for (size_t k = 0; k < 5; ++k) {
          if (!spec.keys[k]) continue;
          if (auto v = item[spec.keys[k]]; v && v.IsScalar()) r.repl[k] = v.as<std::string>();
        }
        if (own) {
          if (auto v = item["may_be"]) {
            if (!v.IsSequence()) return fail(Errc::parse_error, "may_be must be a list", mark(v, path));
            for (const auto& m : v) r.may_be.push_back(m.as<std::string>());
          }
          if (auto v = item["device_type"]) r.device_type = v.as<std::string>();
          if (auto v = item["transform"]) {
            r.transform = v.as<std::string>();
            if (r.transform != "apple_build" && r.transform != "darwin_ios" && r.transform != "darwin_macos")
              return fail(Errc::parse_error, "unknown transform '" + r.transform + "'", mark(v, path));
          }
        }
        out.rules.push_back(std::move(r));
      }
    }
    if (own) {
      if (auto b = root["ios_builds"]) {
        if (!b.IsMap()) return fail(Errc::parse_error, "ios_builds must be a mapping", mark(b, path));
        for (const auto& kv : b) out.ios_builds[kv.first.as<std::string>()] = kv.second.as<std::string>();
      }
    }
  } catch (const YAML::Exception& e) {
    return fail(Errc::parse_error, e.msg,
                path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1));
  }
  return {};
}

void order_rules(RuleSet& set) {
  std::stable_sort(set.rules.begin(), set.rules.end(), [](const Rule& a, const Rule& b) {
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.own && !b.own;
  });
}

}  // namespace fw::detect
