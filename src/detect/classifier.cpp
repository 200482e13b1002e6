// Classifier: uap-core rules + our rules (via Matcher), then fleetward's canonical names
// and the traps of this field (ActiveSync builds, iPadOS, frozen Safari tokens, desktop
// iPads, ActiveSync DeviceType). See docs/detection.md for every rule of thumb used here.
// Thread-safety: a loaded Classifier is immutable except its internally locked LRU cache.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

#include <re2/re2.h>

#include "detect/detect.h"
#include "detect/lru_cache.h"
#include "detect/rules.h"
#include "util/strings.h"

#ifndef FW_UAP_REGEXES_DEFAULT
#define FW_UAP_REGEXES_DEFAULT ""
#endif
#ifndef FW_DETECT_RULES_DEFAULT
#define FW_DETECT_RULES_DEFAULT ""
#endif

namespace fw::detect {

constexpr size_t kMaxUserAgent = 4096;  // longer strings are classified by their prefix

struct Classifier::Impl {
  RuleSet set;
  std::unique_ptr<Matcher> matcher;
  ClassifierStats stats;
  std::unique_ptr<LruCache<Classification>> cache;
};

namespace {

bool exists(const std::string& p) {
  std::error_code ec;
  return !p.empty() && std::filesystem::is_regular_file(p, ec);
}

std::string exe_dir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return p.parent_path().string();
}

std::string find_file(const char* env, const char* compiled, const char* rel) {
  if (const char* e = std::getenv(env); e && *e) return exists(e) ? std::string(e) : std::string();
  if (exists(compiled)) return compiled;
  if (auto d = exe_dir(); !d.empty()) {
    for (const char* up : {"/../share/fleetward/", "/share/fleetward/"}) {
      std::string p = d + up + rel;
      if (exists(p)) return std::filesystem::weakly_canonical(p).string();
    }
  }
  for (const char* base : {"/usr/local/share/fleetward/", "/usr/share/fleetward/"}) {
    std::string p = std::string(base) + rel;
    if (exists(p)) return p;
  }
  return {};
}

int major_of(std::string_view v) {
  int n = 0;
  size_t i = 0;
  for (; i < v.size() && v[i] >= '0' && v[i] <= '9' && i < 6; ++i) n = n * 10 + (v[i] - '0');
  return i == 0 ? -1 : n;
}

std::string join_version(const std::array<std::string, 5>& f, size_t from, size_t to) {
  std::string v;
  for (size_t i = from; i < to; ++i) {
    if (f[i].empty()) break;
    if (!v.empty()) v.push_back('.');
    v += f[i];
  }
  return v;
}

bool contains(std::string_view s, std::string_view needle) { return s.find(needle) != std::string_view::npos; }

// uap-core OS names -> fleetward's canonical families. "" = unknown.
std::string canonical_os(const std::string& raw) {
  static const std::vector<std::pair<std::string_view, std::string_view>> exact = {
      {"iOS", "iOS"}, {"iPadOS", "iPadOS"}, {"Android", "Android"}, {"HarmonyOS", "HarmonyOS"},
      {"Aurora OS", "Aurora OS"}, {"Sailfish", "Sailfish OS"}, {"Sailfish OS", "Sailfish OS"},
      {"KaiOS", "KaiOS"}, {"Mac OS X", "macOS"}, {"Mac OS", "macOS"}, {"macOS", "macOS"},
      {"Chrome OS", "ChromeOS"}, {"ChromeOS", "ChromeOS"}, {"Linux", "Linux"}, {"Ubuntu", "Linux"},
      {"Kubuntu", "Linux"}, {"Xubuntu", "Linux"}, {"Lubuntu", "Linux"}, {"Debian", "Linux"},
      {"Fedora", "Linux"}, {"Red Hat", "Linux"}, {"CentOS", "Linux"}, {"Mint", "Linux"},
      {"Linux Mint", "Linux"}, {"Gentoo", "Linux"}, {"Slackware", "Linux"}, {"SUSE", "Linux"},
      {"openSUSE", "Linux"}, {"Mandriva", "Linux"}, {"Mageia", "Linux"}, {"PCLinuxOS", "Linux"},
      {"Puppy", "Linux"}, {"Arch Linux", "Linux"}, {"BackTrack", "Linux"}, {"Kindle", "Linux"},
      {"Other", ""},
  };
  for (const auto& [k, v] : exact)
    if (raw == k) return std::string(v);
  if (raw.starts_with("Windows")) {
    if (raw.starts_with("Windows Phone") || raw.starts_with("Windows Mobile") || raw.starts_with("Windows CE"))
      return "Other";
    return "Windows";
  }
  if (raw.empty()) return "";
  return "Other";
}

std::string normalize_type(std::string t) {
  t = to_lower_ascii(t);
  if (t == "pc" || t == "desktop") return "desktop";
  if (t == "phone" || t == "mobile") return "phone";
  if (t == "tablet" || t == "pad") return "tablet";
  if (t == "bot") return "bot";
  return "other";
}

std::string guess_type(const Classification& c, std::string_view ua, const std::string& raw_device) {
  if (raw_device == "Spider") return "bot";
  if (raw_device == "Generic Tablet") return "tablet";
  if (raw_device == "Generic Feature Phone" || raw_device == "Generic Smartphone") return "phone";
  const std::string& f = c.os_family;
  if (f == "iPadOS") return "tablet";
  if (f == "iOS") {
    if (raw_device == "iPad" || c.model.starts_with("iPad")) return "tablet";
    if (raw_device == "iPhone" || raw_device == "iPod" || c.model.starts_with("iP") || contains(ua, "iPhone"))
      return "phone";
    return "phone";
  }
  if (f == "Android" || f == "HarmonyOS") {
    if (contains(ua, "Tablet") || raw_device == "iPad") return "tablet";
    if (contains(ua, "Mobile") || contains(ua, "Phone")) return "phone";
    if (contains(ua, "Android")) return "tablet";  // Android without "Mobile": tablet by Google's rule
    return "other";
  }
  if (f == "KaiOS" || f == "Sailfish OS" || f == "Aurora OS") return contains(ua, "Tablet") ? "tablet" : "phone";
  if (f == "macOS" || f == "Windows" || f == "Linux" || f == "ChromeOS") return "desktop";
  if (contains(ua, "Tablet")) return "tablet";
  if (contains(ua, "Mobile") || contains(ua, "Phone") || contains(c.raw_os_family, "Phone") ||
      contains(c.raw_os_family, "Symbian") || contains(c.raw_os_family, "BlackBerry"))
    return "phone";
  return "other";
}

// ActiveSync DeviceType -> the family it asserts, "" when it asserts none.
std::string family_from_device_type(std::string_view dt) {
  std::string t = to_lower_ascii(dt);
  if (t == "iphone" || t == "ipod") return "iOS";
  if (t == "ipad") return "iPadOS";
  if (t == "android" || t.starts_with("samsung") || t.starts_with("androidmail")) return "Android";
  return "";
}

bool apple(std::string_view f) { return f == "iOS" || f == "iPadOS"; }

// "2004.67" -> "20D67": two digits of train, two of the letter's position (A = 01), then
// the build number. "" when s is not such a build.
std::string activesync_build_id(std::string_view s) {
  if (s.size() < 6 || s[4] != '.') return {};
  for (size_t i = 0; i < 4; ++i)
    if (s[i] < '0' || s[i] > '9') return {};
  int pos = (s[2] - '0') * 10 + (s[3] - '0');
  if (pos < 1 || pos > 26) return {};
  std::string_view num = s.substr(5);
  for (char ch : num)
    if ((ch < '0' || ch > '9') && (ch < 'a' || ch > 'z')) return {};
  std::string build(s.substr(0, 2));
  build.push_back(static_cast<char>('A' + pos - 1));
  build.append(num);
  return build;
}

}  // namespace

std::string find_uap_regexes() {
  return find_file("FW_UAP_REGEXES", FW_UAP_REGEXES_DEFAULT, "uap-core/regexes.yaml");
}
std::string find_own_rules() { return find_file("FW_DETECT_RULES", FW_DETECT_RULES_DEFAULT, "detect/rules.yaml"); }

model::DeviceType Classification::device_type() const {
  if (type == "phone") return model::DeviceType::phone;
  if (type == "tablet") return model::DeviceType::tablet;
  if (type == "desktop") return model::DeviceType::desktop;
  return model::DeviceType::other;
}

Classifier::Classifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Classifier::~Classifier() = default;
const ClassifierStats& Classifier::stats() const { return impl_->stats; }

Result<std::shared_ptr<const Classifier>> Classifier::load(const ClassifierOptions& opts) {
  std::string uap = opts.uap_regexes_path.empty() ? find_uap_regexes() : opts.uap_regexes_path;
  std::string own = opts.own_rules_path.empty() ? find_own_rules() : opts.own_rules_path;
  if (uap.empty())
    return fail(Errc::not_found,
                "uap-core regexes.yaml not found (run scripts/install-deps.sh or set FW_UAP_REGEXES)");
  if (own.empty()) return fail(Errc::not_found, "data/detect/rules.yaml not found (set FW_DETECT_RULES)");
  auto impl = std::make_unique<Impl>();
  FW_TRY_STATUS(load_rule_set(own, uap, detect_cache_dir(), impl->set));
  size_t own_count = static_cast<size_t>(
      std::count_if(impl->set.rules.begin(), impl->set.rules.end(), [](const Rule& r) { return r.own; }));
  FW_TRY(impl->matcher, Matcher::build(impl->set));
  const auto& ms = impl->matcher->stats();
  impl->stats = ClassifierStats{impl->set.rules.size(), own_count, ms.hyperscan_exact,
                                ms.hyperscan_prefilter, ms.re2_only, ms.rejected};
  impl->cache = std::make_unique<LruCache<Classification>>(opts.cache_entries);
  return std::make_shared<const Classifier>(std::move(impl));
}

UapResult Classifier::parse_uap(std::string_view ua) const {
  auto m = impl_->matcher->match(ua.substr(0, kMaxUserAgent), false);
  UapResult r;
  const auto& u = m.kind[0];
  if (u.rule >= 0) {
    r.ua_family = u.fields[0].empty() ? "Other" : u.fields[0];
    r.ua_major = u.fields[1], r.ua_minor = u.fields[2], r.ua_patch = u.fields[3];
  }
  const auto& o = m.kind[1];
  if (o.rule >= 0) {
    r.os_family = o.fields[0].empty() ? "Other" : o.fields[0];
    r.os_major = o.fields[1], r.os_minor = o.fields[2], r.os_patch = o.fields[3], r.os_patch_minor = o.fields[4];
  }
  const auto& d = m.kind[2];
  if (d.rule >= 0) {
    r.device_family = d.fields[0].empty() ? "Other" : d.fields[0];
    r.device_brand = d.fields[1], r.device_model = d.fields[2];
  }
  return r;
}

Classification Classifier::classify(std::string_view ua_in, const ActiveSyncHints& hints) const {
  // The string in a per-thread buffer (no allocation per call once it has grown).
  thread_local std::string ua_buf;
  ua_buf.assign(trim(ua_in.substr(0, kMaxUserAgent)));
  const std::string& ua = ua_buf;
  // IIS writes spaces as '+': a UA with pluses and no space is such a string.
  if (ua.find(' ') == std::string::npos && ua.find('+') != std::string::npos)
    std::replace(ua_buf.begin(), ua_buf.end(), '+', ' ');
  std::string key;  // built only when the cache is on
  if (impl_->cache->enabled()) {
    key.reserve(ua.size() + 1 + hints.device_type.size());
    key = ua;
    key.push_back('\x1f');
    key += to_lower_ascii(hints.device_type);
    if (auto hit = impl_->cache->get(key)) return *hit;
  }

  const Impl& im = *impl_;
  auto m = im.matcher->match(ua, true);
  Classification c;
  std::string own_type;

  // Client.
  if (const auto& u = m.kind[0]; u.rule >= 0) {
    c.raw_ua_family = u.fields[0];
    if (c.raw_ua_family != "Other") {
      c.client = c.raw_ua_family;
      c.client_version = join_version(u.fields, 1, 5);
    }
    if (!u.device_type.empty()) own_type = u.device_type;
  }
  // Device.
  if (const auto& d = m.kind[2]; d.rule >= 0) {
    c.raw_device_family = d.fields[0];
    const std::string& brand = d.fields[1];
    if (!brand.empty() && !brand.starts_with("Generic") && brand != "Spider") {
      c.vendor = brand;
      c.model = d.fields[2];
    }
    if (!d.device_type.empty()) own_type = d.device_type;
  }
  if (c.raw_device_family.empty()) c.raw_device_family = "Other";
  // OS.
  if (const auto& o = m.kind[1]; o.rule >= 0) {
    const Rule& r = im.set.rules[static_cast<size_t>(o.rule)];
    c.raw_os_family = o.fields[0].empty() && !r.own ? "Other" : o.fields[0];
    c.os_family = canonical_os(c.raw_os_family);
    if (r.transform == "apple_build") {
      std::string id = activesync_build_id(o.fields[1]);
      auto it = im.set.ios_builds.find(id);
      c.os_version = it != im.set.ios_builds.end() ? it->second : ios_version_from_build(id);
    } else if (r.transform == "darwin_ios" || r.transform == "darwin_macos") {
      c.os_version = ios_version_from_darwin(join_version(o.fields, 1, 4), r.transform == "darwin_macos");
    } else {
      c.os_version = join_version(o.fields, 1, 5);
    }
    c.may_be = r.may_be;
    if (!o.device_type.empty()) own_type = o.device_type;
  } else {
    c.raw_os_family = "Other";
  }

  // Windows CE / Mobile / Phone are not the desktop platform policies mean by "Windows".
  if (c.os_family == "Windows" && (contains(ua, "Windows CE") || contains(ua, "IEMobile") ||
                                   contains(ua, "Windows Mobile") || contains(ua, "Windows Phone")))
    c.os_family = "Other";
  // iPads on 13 and later run iPadOS.
  static const RE2 ipad_re(R"(\biPad)");
  if (c.os_family == "iOS" && major_of(c.os_version) >= 13 &&
      (c.raw_device_family == "iPad" || c.model.starts_with("iPad") || RE2::PartialMatch(ua, ipad_re)))
    c.os_family = "iPadOS";
  // Mobile Safari's OS token is frozen on recent iOS: Version/ tells the real release.
  if (apple(c.os_family) && c.raw_ua_family == "Mobile Safari") {
    static const RE2 version_re(R"(Version/(\d+(?:\.\d+){0,2}))");
    std::string v;
    if (RE2::PartialMatch(ua, version_re, &v) && major_of(v) > major_of(c.os_version)) c.os_version = v;
  }
  // An iPad asking for the desktop site sends a Mac's Safari string.
  if (c.os_family == "macOS" && c.raw_ua_family == "Safari" && contains(ua, "Macintosh")) {
    static const RE2 version_re(R"(Version/(\d+))");
    int v = 0;
    if (RE2::PartialMatch(ua, version_re, &v) && v >= 13) c.may_be.push_back("iPadOS");
  }

  c.type = own_type.empty() ? guess_type(c, ua, c.raw_device_family) : normalize_type(own_type);

  // ActiveSync DeviceType is the strongest signal; a contradiction is suspicious.
  if (std::string hinted = family_from_device_type(hints.device_type); !hinted.empty()) {
    if (hinted == "iPadOS" && !c.os_version.empty() && major_of(c.os_version) < 13) hinted = "iOS";
    bool agrees = c.os_family == hinted || (apple(c.os_family) && apple(hinted));
    bool may = std::find(c.may_be.begin(), c.may_be.end(), hinted) != c.may_be.end() ||
               (apple(hinted) && std::find_if(c.may_be.begin(), c.may_be.end(), [](const std::string& s) {
                                   return apple(s);
                                 }) != c.may_be.end());
    if (!agrees && !c.os_family.empty() && !may) {
      c.spoofing_suspected = true;
      c.os_version.clear();
    }
    if (!agrees) {
      if (!apple(c.os_family) || !apple(hinted)) c.model.clear();
    }
    c.os_family = hinted;
    c.may_be.clear();
    if (apple(hinted)) {
      c.vendor = "Apple";
      c.type = hinted == "iPadOS" || to_lower_ascii(hints.device_type) == "ipad" ? "tablet" : "phone";
    } else if (c.type == "other" || c.type == "desktop") {
      c.type = "phone";
    }
  }
  if (im.cache->enabled()) im.cache->put(key, c);
  return c;
}

// ---- Apple build numbers -------------------------------------------------------------

namespace {
int ios_major_from_train(int train) {
  if (train >= 16 && train <= 22) return train - 4;  // 16 -> iOS 12 ... 22 -> iOS 18
  if (train >= 23 && train <= 40) return train + 3;  // 23 -> iOS 26 (year-numbered releases)
  if (train >= 9 && train < 16) return train - 4;    // 15 -> iOS 11
  return -1;
}
}  // namespace

std::string ios_version_from_build(std::string_view b) {
  // "20D67": train digits, one letter, build digits (optionally a trailing letter).
  size_t i = 0;
  int train = 0;
  while (i < b.size() && i < 2 && b[i] >= '0' && b[i] <= '9') train = train * 10 + (b[i++] - '0');
  if (i != 2 || i >= b.size() || b[i] < 'A' || b[i] > 'Z') return {};
  int letter = b[i] - 'A';
  int major = ios_major_from_train(train);
  if (major < 0) return {};
  // Letter = minor release from train 18 (iOS 14) on; earlier trains skip letters.
  if (train >= 18) return std::to_string(major) + "." + std::to_string(letter);
  return std::to_string(major);
}

std::string ios_version_from_activesync_build(std::string_view s) {
  std::string id = activesync_build_id(s);
  return id.empty() ? std::string() : ios_version_from_build(id);
}

std::string ios_version_from_darwin(std::string_view darwin, bool mac) {
  int major = major_of(darwin);
  if (major < 0) return {};
  int minor = -1;
  if (auto dot = darwin.find('.'); dot != std::string_view::npos) minor = major_of(darwin.substr(dot + 1));
  if (mac) {
    if (major >= 25) return std::to_string(major + 1);          // Darwin 25 -> macOS 26
    if (major >= 20) return std::to_string(major - 9);          // Darwin 22 -> macOS 13
    if (major >= 5) return "10." + std::to_string(major - 4);   // Darwin 19 -> 10.15
    return {};
  }
  int ios;
  if (major >= 25) ios = major + 1;  // Darwin 25 -> iOS 26
  else if (major >= 10) ios = major - 6;  // Darwin 22 -> iOS 16
  else return {};
  // From Darwin 22 (iOS 16) the kernel minor is the iOS minor.
  if (major >= 22 && minor >= 0) return std::to_string(ios) + "." + std::to_string(minor);
  return std::to_string(ios);
}

}  // namespace fw::detect
