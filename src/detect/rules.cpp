// Loading of rule files (uap-core regexes.yaml and our data/detect/rules.yaml) into a
// RuleSet, and the binary cache of a parsed RuleSet (load_rule_set). Pure apart from
// reading the named files and the cache file; thread-compatible (processes that share a
// cache directory replace its file atomically).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "detect/rules.h"
#include "util/files.h"
#include "util/strings.h"

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

namespace {

// The whole of a rules file (at most kMaxRulesFile bytes).
Result<std::string> read_rules_text(const std::string& path) {
  auto text = read_file_limited(path, kMaxRulesFile, /*follow_links=*/true);  // installed rules may be links
  if (text) return text;
  if (text.error().code == Errc::too_large) return fail(Errc::too_large, "rules file larger than 16 MiB", path);
  return fail(Errc::io_error, "cannot read rules file: " + text.error().message, path);
}

Status parse_rules_text(const std::string& text, const std::string& path, bool own, RuleSet& out);

}  // namespace

Status load_rules_file(const std::string& path, bool own, RuleSet& out) {
  FW_TRY(auto text, read_rules_text(path));
  return parse_rules_text(text, path, own, out);
}

namespace {

Status parse_rules_text(const std::string& text, const std::string& path, bool own, RuleSet& out) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
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

}  // namespace

void order_rules(RuleSet& set) {
  std::stable_sort(set.rules.begin(), set.rules.end(), [](const Rule& a, const Rule& b) {
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.own && !b.own;
  });
}


std::string detect_cache_dir() {
  std::string dir;
  if (const char* d = std::getenv("FW_DETECT_CACHE_DIR")) dir = d;  // "" disables
  else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) dir = std::string(x) + "/fleetward";
  else if (const char* h = std::getenv("HOME"); h && *h) dir = std::string(h) + "/.cache/fleetward";
  if (dir.empty()) return {};
  // The caches are trusted (checksummed, not authenticated): only in a directory that this
  // user owns and nobody else may write to, made here (0700) when missing. Otherwise none.
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return {};
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return {};
  return dir;
}

// ---- the parsed-rules cache -----------------------------------------------------------
// File "detect-rules-<key>.bin" in the cache directory: the magic, the format, the key, the
// rules (in order_rules order), the iOS builds (in key order), then a checksum of all
// bytes before it. Integers are little-endian (the magic's byte order tells: a file from
// another byte order is just a miss). Strings are a u32 length and the bytes.
//   rule: u8 kind, u8 flags (1 caseless, 2 own, 4 << k: repl[k] present), regex,
//         repl[k] for each one present, u32 count + may_be, device_type, transform, where.
namespace {

constexpr char kCacheMagic[8] = {'F', 'W', 'R', 'U', 'L', 'E', 'S', '1'};
// Bump when the encoding changes. The key also names the parser's source (a hash of
// rules.cpp and rules.h that the build passes in, see CMakeLists.txt), so that a changed
// parser (load_rules_file) never reads rules that an older one cached.
constexpr uint32_t kCacheFormat = 1;
#ifndef FW_RULES_SOURCE_SHA256
#error "FW_RULES_SOURCE_SHA256 must name the parser's source (src/detect/CMakeLists.txt)"
#endif
constexpr const char kCacheCode[] = "fleetward detect rules " FW_RULES_SOURCE_SHA256;
constexpr size_t kMaxCacheFile = 16 << 20;
constexpr uint32_t kMaxCacheRules = 100000, kMaxCacheBuilds = 100000, kMaxMayBe = 16;
constexpr uint32_t kMaxCacheString = 8192;  // regexes are at most kMaxRegex; `where` names a path
constexpr uint8_t kCaseless = 1, kOwn = 2, kReplShift = 2;
constexpr size_t kKeepCacheFiles = 8;  // rules caches kept in the directory (~250 KB each)

struct CacheWriter {
  std::string out;
  void u8(uint8_t v) { out.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out.append(s);
  }
};

// Reads what CacheWriter wrote; every read is checked against the end, and the first
// failure is kept (with its byte offset) and makes every later read fail.
struct CacheReader {
  std::string_view b;
  size_t pos = 0;
  std::string error;
  size_t error_at = 0;

  bool bad(const std::string& what) {
    if (error.empty()) error = what, error_at = pos;
    return false;
  }
  bool need(size_t n) { return error.empty() && (b.size() - pos >= n || bad("truncated")); }
  bool u8(uint8_t& v) {
    if (!need(1)) return false;
    v = static_cast<uint8_t>(b[pos++]);
    return true;
  }
  bool u32(uint32_t& v) {
    if (!need(4)) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(b[pos++])} << (8 * i);
    return true;
  }
  bool u64(uint64_t& v) {
    if (!need(8)) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(b[pos++])} << (8 * i);
    return true;
  }
  bool str(std::string& s, uint32_t max) {
    uint32_t n = 0;
    if (!u32(n)) return false;
    if (n > max) return bad("string of " + std::to_string(n) + " bytes, more than " + std::to_string(max));
    if (!need(n)) return false;
    s.assign(b.data() + pos, n);
    pos += n;
    return true;
  }
};

uint64_t read_u64_le(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

bool known_transform(const std::string& t) {
  return t.empty() || t == "apple_build" || t == "darwin_ios" || t == "darwin_macos";
}

// A rule out of order_rules' order (kind, then own before uap-core).
bool before(const Rule& a, const Rule& b) {
  if (a.kind != b.kind) return a.kind < b.kind;
  return a.own && !b.own;
}

uint64_t rules_cache_key(const std::string& own_path, const std::string& own_text, const std::string& uap_path,
                         const std::string& uap_text) {
  uint64_t key = fnv1a64(kCacheCode);
  key = fnv1a64(std::to_string(kCacheFormat) + "\x01" + std::to_string(own_path.size()) + ":" + own_path, key);
  key = fnv1a64(std::to_string(own_text.size()) + ":", key);
  key = fnv1a64(own_text, key);
  key = fnv1a64(std::to_string(uap_path.size()) + ":" + uap_path + "\x01" + std::to_string(uap_text.size()) + ":", key);
  return fnv1a64(uap_text, key);
}

// Written to a fresh temporary file renamed into place (readers see the old file or the new
// one); beyond kKeepCacheFiles rules caches in the directory, the least recently written are
// removed (several builds or installations sharing the directory keep theirs: removing every
// other one made two builds used in turn miss on every start), and so are temporary files
// of the caches older than an hour (a process killed while writing). Failures only cost the
// next start.
void write_cache_file(const std::string& dir, const std::string& path, const std::string& bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // detect_cache_dir() made it; a caller's own may not exist yet
  if (!write_file_atomic(path, bytes, 0644, /*durable=*/false)) return;
  const auto an_hour_ago = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> caches;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string other = it->path().filename().string();
    if (!other.starts_with("detect-")) continue;
    std::error_code tc;
    auto when = it->last_write_time(tc);
    if (tc) continue;
    if (other.find(".tmp.") != std::string::npos) {
      if (when < an_hour_ago) std::filesystem::remove(it->path(), tc);
    } else if (other.starts_with("detect-rules-") && other.ends_with(".bin")) {
      caches.emplace_back(when, it->path());
    }
  }
  if (caches.size() <= kKeepCacheFiles) return;
  std::sort(caches.begin(), caches.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = kKeepCacheFiles; i < caches.size(); ++i)
    if (caches[i].second != path) std::filesystem::remove(caches[i].second, ec);
}

}  // namespace

std::string encode_rule_set(const RuleSet& set, uint64_t key) {
  CacheWriter w;
  w.out.append(kCacheMagic, sizeof kCacheMagic);
  w.u32(kCacheFormat);
  w.u64(key);
  w.u32(static_cast<uint32_t>(set.rules.size()));
  for (const Rule& r : set.rules) {
    uint8_t flags = (r.caseless ? kCaseless : 0) | (r.own ? kOwn : 0);
    for (size_t k = 0; k < 5; ++k)
      if (r.repl[k]) flags |= static_cast<uint8_t>(1u << (kReplShift + k));
    w.u8(static_cast<uint8_t>(r.kind));
    w.u8(flags);
    w.str(r.regex);
    for (size_t k = 0; k < 5; ++k)
      if (r.repl[k]) w.str(*r.repl[k]);
    w.u32(static_cast<uint32_t>(r.may_be.size()));
    for (const auto& m : r.may_be) w.str(m);
    w.str(r.device_type);
    w.str(r.transform);
    w.str(r.where);
  }
  w.u32(static_cast<uint32_t>(set.ios_builds.size()));
  for (const auto& [build, version] : set.ios_builds) {
    w.str(build);
    w.str(version);
  }
  w.u64(fnv1a64(w.out));
  return std::move(w.out);
}

Status decode_rule_set(std::string_view bytes, uint64_t key, RuleSet& out) {
  const std::string where = "rules cache";
  auto failed = [&](const std::string& what, size_t at) {
    return fail(Errc::parse_error, what + " at byte " + std::to_string(at), where);
  };
  if (bytes.size() > kMaxCacheFile) return fail(Errc::too_large, "rules cache larger than 16 MiB", where);
  if (bytes.size() < sizeof kCacheMagic + 4 + 8 + 8) return failed("truncated", bytes.size());
  if (std::memcmp(bytes.data(), kCacheMagic, sizeof kCacheMagic) != 0) return failed("not a rules cache", 0);
  const size_t body = bytes.size() - 8;
  if (read_u64_le(bytes.data() + body) != fnv1a64(bytes.substr(0, body))) return failed("checksum mismatch", body);
  CacheReader in{bytes.substr(0, body)};
  in.pos = sizeof kCacheMagic;
  uint32_t format = 0, count = 0;
  uint64_t file_key = 0;
  if (in.u32(format) && format != kCacheFormat) in.bad("format " + std::to_string(format));
  if (in.u64(file_key) && file_key != key) in.bad("stale (another key)");
  if (in.u32(count) && count > kMaxCacheRules) in.bad(std::to_string(count) + " rules, more than the limit");
  out.rules.clear();
  out.ios_builds.clear();
  // No more than the bytes left can hold (the smallest rule takes 22): a short file that
  // claims many rules must not make this allocate for them.
  constexpr size_t kMinRuleBytes = 22;
  if (in.error.empty()) out.rules.reserve(std::min<size_t>(count, (body - in.pos) / kMinRuleBytes));
  for (uint32_t i = 0; i < count && in.error.empty(); ++i) {
    Rule r;
    uint8_t kind = 0, flags = 0;
    size_t at = in.pos;
    if (!in.u8(kind) || !in.u8(flags)) break;
    if (kind > static_cast<uint8_t>(RuleKind::device) || (flags >> (kReplShift + 5)) != 0) {
      in.pos = at;
      in.bad("rule " + std::to_string(i) + ": bad kind or flags");
      break;
    }
    r.kind = static_cast<RuleKind>(kind);
    r.caseless = flags & kCaseless;
    r.own = flags & kOwn;
    if (!in.str(r.regex, kMaxRegex)) break;
    for (size_t k = 0; k < 5 && in.error.empty(); ++k)
      if (flags & (1u << (kReplShift + k))) in.str(r.repl[k].emplace(), kMaxCacheString);
    uint32_t may = 0;
    if (in.u32(may) && may > kMaxMayBe) in.bad("rule " + std::to_string(i) + ": too many may_be");
    for (uint32_t k = 0; k < may && in.error.empty(); ++k) in.str(r.may_be.emplace_back(), kMaxCacheString);
    in.str(r.device_type, kMaxCacheString);
    in.str(r.transform, kMaxCacheString);
    in.str(r.where, kMaxCacheString);
    if (!in.error.empty()) break;
    if (!known_transform(r.transform) ||
        (!r.own && (!r.may_be.empty() || !r.device_type.empty() || !r.transform.empty())) ||
        (!out.rules.empty() && before(r, out.rules.back()))) {
      in.pos = at;
      in.bad("rule " + std::to_string(i) + ": not a rule load_rules_file makes, or out of order");
      break;
    }
    out.rules.push_back(std::move(r));
  }
  uint32_t builds = 0;
  if (in.u32(builds) && builds > kMaxCacheBuilds) in.bad(std::to_string(builds) + " iOS builds, more than the limit");
  for (uint32_t i = 0; i < builds && in.error.empty(); ++i) {
    std::string build, version;
    size_t at = in.pos;
    if (!in.str(build, kMaxCacheString) || !in.str(version, kMaxCacheString)) break;
    if (!out.ios_builds.empty() && !(out.ios_builds.rbegin()->first < build)) {
      in.pos = at;
      in.bad("iOS builds out of order");
      break;
    }
    out.ios_builds.emplace_hint(out.ios_builds.end(), std::move(build), std::move(version));
  }
  if (in.error.empty() && in.pos != body) in.bad("bytes after the end");
  if (!in.error.empty()) return failed(in.error, in.error_at);
  return {};
}

Status load_rule_set(const std::string& own_path, const std::string& uap_path, const std::string& cache_dir,
                     RuleSet& out, bool* from_cache) {
  if (from_cache) *from_cache = false;
  FW_TRY(auto own_text, read_rules_text(own_path));
  FW_TRY(auto uap_text, read_rules_text(uap_path));
  std::string cache_path;
  uint64_t key = 0;
  if (!cache_dir.empty()) {
    key = rules_cache_key(own_path, own_text, uap_path, uap_text);
    char name[64];
    std::snprintf(name, sizeof name, "/detect-rules-%016llx.bin", static_cast<unsigned long long>(key));
    cache_path = cache_dir + name;
    if (auto bytes = read_file_limited(cache_path, kMaxCacheFile); bytes && !bytes->empty()) {
      if (decode_rule_set(*bytes, key, out)) {
        if (from_cache) *from_cache = true;
        return {};
      }
    }
  }
  out = RuleSet{};
  FW_TRY_STATUS(parse_rules_text(own_text, own_path, true, out));
  FW_TRY_STATUS(parse_rules_text(uap_text, uap_path, false, out));
  order_rules(out);
  if (!cache_path.empty()) write_cache_file(cache_dir, cache_path, encode_rule_set(out, key));
  return {};
}

}  // namespace fw::detect
