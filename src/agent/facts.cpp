// Fact collectors: pure parsers for each source, and collect_facts() reading through a root.
// Pure functions are thread-safe; collect_facts touches only the files below the root.
#include "agent/facts.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>

#include "util/strings.h"

namespace fw::agent {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    char q = v.front();
    v = v.substr(1, v.size() - 2);
    std::string out;
    out.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      if (q == '"' && v[i] == '\\' && i + 1 < v.size()) {
        out.push_back(v[++i]);
      } else {
        out.push_back(v[i]);
      }
    }
    return out;
  }
  return std::string(v);
}

std::string first_line(std::string_view s) {
  size_t nl = s.find('\n');
  return std::string(trim(s.substr(0, nl)));
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  return to_lower_ascii(hay).find(to_lower_ascii(needle)) != std::string::npos;
}

std::vector<model::App> sorted_unique(std::vector<model::App> apps) {
  std::sort(apps.begin(), apps.end(), [](const model::App& a, const model::App& b) {
    return std::tie(a.id, a.version) < std::tie(b.id, b.version);
  });
  apps.erase(std::unique(apps.begin(), apps.end(),
                         [](const model::App& a, const model::App& b) { return a.id == b.id; }),
             apps.end());
  return apps;
}

std::optional<int> to_int(std::string_view s) {
  s = trim(s);
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::map<std::string, std::string> parse_env_file(std::string_view text) {
  std::map<std::string, std::string> out;
  for (std::string_view line : split(text, '\n')) {
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string_view key = trim(line.substr(0, eq));
    bool ok = std::all_of(key.begin(), key.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (!ok) continue;
    out[std::string(key)] = unquote(line.substr(eq + 1));
  }
  return out;
}

std::string os_family_for(std::string_view id, std::string_view id_like, std::string_view name) {
  std::string lid = to_lower_ascii(id);
  if (lid == "auroraos" || lid == "aurora" || contains_ci(name, "aurora os")) return "Aurora OS";
  if (lid == "sailfishos" || lid == "sailfish" || contains_ci(name, "sailfish")) return "Sailfish OS";
  if (lid == "chromeos" || lid == "chromiumos") return "ChromeOS";
  if (lid == "kaios") return "KaiOS";
  if (lid == "harmonyos" || lid == "openharmony") return "HarmonyOS";
  if (!id.empty() || !id_like.empty() || !name.empty()) return "Linux";
  return "Other";
}

OsInfo parse_os_release(std::string_view text) {
  auto kv = parse_env_file(text);
  auto get = [&](const char* k) -> std::string {
    auto it = kv.find(k);
    return it == kv.end() ? std::string() : it->second;
  };
  OsInfo os;
  os.id = get("ID");
  os.name = get("NAME");
  os.pretty_name = get("PRETTY_NAME");
  os.version = get("VERSION_ID");
  if (os.version.empty()) os.version = get("VERSION");
  if (os.version.empty()) os.version = get("BUILD_ID");
  if (os.name.empty() && !os.id.empty()) os.name = os.id;
  os.family = os_family_for(os.id, get("ID_LIKE"), os.name);
  return os;
}

std::vector<std::string> parse_nul_list(std::string_view bytes) {
  std::vector<std::string> out;
  for (std::string_view part : split(bytes, '\0')) {
    part = trim(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

std::optional<Hardware> parse_hw_release(std::string_view text) {
  auto kv = parse_env_file(text);
  Hardware hw;
  hw.source = "hw-release";
  if (auto it = kv.find("MER_HA_VENDOR"); it != kv.end()) hw.vendor = it->second;
  if (auto it = kv.find("NAME"); it != kv.end()) hw.model = it->second;
  if (hw.model.empty())
    if (auto it = kv.find("MER_HA_DEVICE"); it != kv.end()) hw.model = it->second;
  if (hw.vendor.empty() && hw.model.empty()) return std::nullopt;
  return hw;
}

namespace {
// Device-tree vendor prefixes (Documentation/devicetree/bindings/vendor-prefixes.yaml) seen on
// phones and boards; others are shown as the prefix itself.
std::string dt_vendor_name(std::string_view prefix) {
  static const std::pair<std::string_view, std::string_view> kNames[] = {
      {"pine64", "PINE64"},       {"purism", "Purism"},       {"sony", "Sony"},
      {"oneplus", "OnePlus"},     {"xiaomi", "Xiaomi"},       {"samsung", "Samsung"},
      {"google", "Google"},       {"fairphone", "Fairphone"}, {"raspberrypi", "Raspberry Pi"},
      {"qcom", "Qualcomm"},       {"jolla", "Jolla"},         {"omp", "Open Mobile Platform"},
      {"lg", "LG"},               {"motorola", "Motorola"},   {"nokia", "Nokia"},
      {"asus", "ASUS"},           {"huawei", "Huawei"},       {"lenovo", "Lenovo"},
  };
  for (auto [k, v] : kNames)
    if (k == prefix) return std::string(v);
  return std::string(prefix);
}
// Strings that firmware vendors leave in DMI fields instead of a value.
bool dmi_placeholder(std::string_view v) {
  static const std::string_view kJunk[] = {"to be filled by o.e.m.", "system product name",
                                           "system manufacturer", "default string", "not specified",
                                           "none", "o.e.m.", "oem", "123456789"};
  std::string l = to_lower_ascii(trim(v));
  if (l.empty()) return true;
  for (auto j : kJunk)
    if (l == j) return true;
  return false;
}
}  // namespace

std::optional<Hardware> parse_device_tree(std::string_view model, std::string_view compatible) {
  Hardware hw;
  hw.source = "device-tree";
  auto m = parse_nul_list(model);
  if (!m.empty()) hw.model = m.front();
  hw.compatible = parse_nul_list(compatible);
  if (!hw.compatible.empty()) {
    std::string_view first = hw.compatible.front();
    size_t comma = first.find(',');
    if (comma != std::string_view::npos) hw.vendor = dt_vendor_name(first.substr(0, comma));
    if (hw.model.empty()) hw.model = std::string(first);
  }
  if (hw.model.empty() && hw.vendor.empty()) return std::nullopt;
  return hw;
}

std::optional<Hardware> parse_dmi(std::string_view sys_vendor, std::string_view product_name) {
  Hardware hw;
  hw.source = "dmi";
  if (!dmi_placeholder(sys_vendor)) hw.vendor = std::string(trim(sys_vendor));
  if (!dmi_placeholder(product_name)) hw.model = std::string(trim(product_name));
  if (hw.vendor.empty() && hw.model.empty()) return std::nullopt;
  return hw;
}

model::DeviceType device_type_for(std::string_view chassis, std::string_view dmi_chassis_type,
                                  std::string_view os_family, bool has_device_tree) {
  std::string c = to_lower_ascii(trim(chassis));
  if (c == "handset" || c == "watch") return model::DeviceType::phone;
  if (c == "tablet") return model::DeviceType::tablet;
  if (c == "desktop" || c == "laptop" || c == "convertible" || c == "server")
    return model::DeviceType::desktop;
  if (auto n = to_int(dmi_chassis_type)) {
    // SMBIOS 3.x chassis types: 30 tablet, 31 convertible, 32 detachable; 3..17 desktops,
    // laptops and servers, 35/36 mini PC / stick PC.
    if (*n == 30 || *n == 32) return model::DeviceType::tablet;
    if ((*n >= 3 && *n <= 17) || *n == 31 || *n == 35 || *n == 36) return model::DeviceType::desktop;
  }
  if (os_family == "Aurora OS" || os_family == "Sailfish OS") return model::DeviceType::phone;
  if (!has_device_tree && os_family == "Linux") return model::DeviceType::desktop;
  return model::DeviceType::other;
}

namespace {

// Calls fn with each line of text (without '\n' or a final '\r').
template <class Fn>
void for_each_line_of(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    fn(line);
  }
}

// Line-at-a-time readers of the package databases (fed from a file or from a string).
struct DpkgStatusReader {
  std::vector<model::App> apps;
  model::App cur;
  bool installed = false;
  void flush() {
    if (installed && !cur.id.empty()) apps.push_back(std::move(cur));
    cur = {};
    installed = false;
  }
  void line(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) {
      flush();
      return;
    }
    if (line.front() == ' ' || line.front() == '\t') return;  // continuation
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    std::string_view key = line.substr(0, colon);
    std::string_view val = trim(line.substr(colon + 1));
    if (key == "Package") {
      cur.id = std::string(val);
      if (cur.name.empty()) cur.name = cur.id;
    } else if (key == "Status") {
      installed = (val == "install ok installed" || val == "hold ok installed");
    } else if (key == "Version") {
      cur.version = std::string(val);
    }
  }
  std::vector<model::App> finish() {
    flush();
    return sorted_unique(std::move(apps));
  }
};

struct ApkInstalledReader {
  std::vector<model::App> apps;
  model::App cur;
  void flush() {
    if (!cur.id.empty()) apps.push_back(std::move(cur));
    cur = {};
  }
  void line(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      flush();
      return;
    }
    if (line.size() < 2 || line[1] != ':') return;
    std::string_view val = line.substr(2);
    switch (line[0]) {
      case 'P':
        cur.id = std::string(val);
        cur.name = cur.id;
        break;
      case 'V':
        cur.version = std::string(val);
        break;
      default:
        break;
    }
  }
  std::vector<model::App> finish() {
    flush();
    return sorted_unique(std::move(apps));
  }
};

}  // namespace

std::vector<model::App> parse_dpkg_status(std::string_view text) {
  DpkgStatusReader r;
  for_each_line_of(text, [&](std::string_view l) { r.line(l); });
  return r.finish();
}

std::vector<model::App> parse_apk_installed(std::string_view text) {
  ApkInstalledReader r;
  for_each_line_of(text, [&](std::string_view l) { r.line(l); });
  return r.finish();
}

std::vector<model::App> parse_rpm_qa(std::string_view text) {
  std::vector<model::App> apps;
  for (std::string_view line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    auto f = split(line, '\t');
    if (f.size() < 2 || trim(f[0]).empty()) continue;
    if (trim(f[0]) == "gpg-pubkey") continue;  // imported signing keys, not software
    model::App a;
    a.id = std::string(trim(f[0]));
    a.name = a.id;
    a.version = std::string(trim(f[1]));
    apps.push_back(std::move(a));
  }
  return sorted_unique(std::move(apps));
}

int parse_crypttab(std::string_view text) {
  int n = 0;
  for (std::string_view line : split(text, '\n')) {
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    ++n;
  }
  return n;
}

bool is_dm_crypt_uuid(std::string_view uuid) { return trim(uuid).starts_with("CRYPT-"); }

std::string root_mount_source(std::string_view mounts) {
  std::string src;
  for (std::string_view line : split(mounts, '\n')) {
    auto f = split(trim(line), ' ');
    if (f.size() >= 3 && f[1] == "/" && f[0] != "rootfs") src = std::string(f[0]);  // last wins
  }
  return src;
}

ScreenLock parse_devicelock_settings(std::string_view text) {
  ScreenLock s;
  s.source = "devicelock";
  for (std::string_view line : split(text, '\n')) {
    line = trim(line);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, eq));
    if (key.ends_with("automatic_locking")) {
      if (auto v = to_int(line.substr(eq + 1))) {
        s.configured = *v >= 0;
        if (*v >= 0) s.timeout_s = *v * 60;
      }
    }
  }
  return s;
}

ScreenLock parse_dconf_screensaver(std::string_view text) {
  ScreenLock s;
  s.source = "dconf";
  std::string section;
  for (std::string_view line : split(text, '\n')) {
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = std::string(line.substr(1, line.size() - 2));
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, eq));
    std::string_view val = trim(line.substr(eq + 1));
    if (section == "org/gnome/desktop/screensaver" && key == "lock-enabled") {
      if (val == "true") s.configured = true;
      if (val == "false") s.configured = false;
    } else if (section == "org/gnome/desktop/session" && key == "idle-delay") {
      if (val.starts_with("uint32")) val = trim(val.substr(6));
      if (auto v = to_int(val)) s.timeout_s = *v;
    }
  }
  return s;
}

// ---- reading through the root ----

std::string RootFs::path(std::string_view p) const {
  std::string out = root_;
  while (!out.empty() && out.back() == '/') out.pop_back();
  if (p.empty() || p.front() != '/') out.push_back('/');
  out.append(p);
  return out;
}

bool RootFs::for_each_line(std::string_view p, const std::function<void(std::string_view)>& fn,
                           size_t max_bytes) const {
  std::ifstream in(path(p), std::ios::binary);
  if (!in) return false;
  constexpr size_t kMaxLine = 64u << 10;
  std::string line;
  char buf[8192];
  size_t total = 0;
  while (in && total < max_bytes) {
    in.read(buf, std::streamsize(std::min(sizeof buf, max_bytes - total)));
    size_t n = size_t(in.gcount());
    total += n;
    std::string_view piece(buf, n);
    while (!piece.empty()) {
      size_t nl = piece.find('\n');
      std::string_view part = piece.substr(0, nl);
      if (line.size() < kMaxLine) line.append(part.substr(0, kMaxLine - line.size()));
      if (nl == std::string_view::npos) break;
      fn(line);
      line.clear();
      piece.remove_prefix(nl + 1);
    }
  }
  if (!line.empty()) fn(line);
  return !in.bad();
}

std::optional<std::string> RootFs::read(std::string_view p, size_t max_bytes) const {
  std::ifstream in(path(p), std::ios::binary);
  if (!in) return std::nullopt;
  std::string out;
  std::error_code ec;
  auto size = fs::file_size(path(p), ec);  // 0 for /proc and /sys files: read to EOF then
  if (!ec && size > 0) out.reserve(std::min<size_t>(size_t(size), max_bytes));
  char buf[8192];
  while (in && out.size() < max_bytes) {
    in.read(buf, std::min(sizeof buf, max_bytes - out.size()));
    out.append(buf, size_t(in.gcount()));
  }
  if (in.bad()) return std::nullopt;
  return out;
}

bool RootFs::exists(std::string_view p) const {
  std::error_code ec;
  return fs::exists(path(p), ec);
}

std::vector<std::string> RootFs::list(std::string_view dir) const {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(path(dir), ec), end; !ec && it != end; it.increment(ec))
    out.push_back(it->path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

json::object to_json(const OsInfo& os) {
  json::object o;
  o["family"] = os.family;
  o["name"] = os.name;
  o["id"] = os.id;
  o["version"] = os.version;
  o["pretty_name"] = os.pretty_name;
  return o;
}

std::optional<Hardware> collect_hardware(const RootFs& fs) {
  if (auto t = fs.read("/etc/hw-release", 64 << 10))
    if (auto hw = parse_hw_release(*t)) {
      // The device tree still gives the compatible list on adaptation-based phones.
      if (auto c = fs.read("/proc/device-tree/compatible", 64 << 10)) hw->compatible = parse_nul_list(*c);
      return hw;
    }
  auto model = fs.read("/proc/device-tree/model", 64 << 10);
  auto compat = fs.read("/proc/device-tree/compatible", 64 << 10);
  if (model || compat)
    if (auto hw = parse_device_tree(model.value_or(""), compat.value_or(""))) return hw;
  auto vendor = fs.read("/sys/class/dmi/id/sys_vendor", 4096);
  auto product = fs.read("/sys/class/dmi/id/product_name", 4096);
  if (vendor || product) return parse_dmi(vendor.value_or(""), product.value_or(""));
  return std::nullopt;
}

json::object collect_encryption(const RootFs& fs) {
  json::object o;
  json::array crypt_devs;
  std::set<std::string> crypt_names;  // dm names (/dev/mapper/<name>) and dm-N
  std::map<std::string, std::vector<std::string>> slaves;
  std::map<std::string, std::string> name_to_dm;
  for (const auto& dev : fs.list("/sys/block")) {
    if (!dev.starts_with("dm-")) continue;
    std::string base = "/sys/block/" + dev + "/dm/";
    auto name = fs.read(base + "name", 4096);
    if (name) name_to_dm[std::string(trim(*name))] = dev;
    slaves[dev] = fs.list("/sys/block/" + dev + "/slaves");
    auto uuid = fs.read(base + "uuid", 4096);
    if (uuid && is_dm_crypt_uuid(*uuid)) {
      crypt_devs.emplace_back(dev);
      crypt_names.insert(dev);
    }
  }
  // Is "/" on dm-crypt, directly or through LVM on LUKS (a dm device whose slave is crypt)?
  std::function<bool(const std::string&, int)> on_crypt = [&](const std::string& dm, int depth) {
    if (depth > 8) return false;
    if (crypt_names.count(dm)) return true;
    for (const auto& s : slaves[dm])
      if (on_crypt(s, depth + 1)) return true;
    return false;
  };
  bool root_encrypted = false;
  auto mounts = fs.read("/proc/mounts", 1 << 20);
  if (mounts) {
    std::string src = root_mount_source(*mounts);
    std::string dm;
    if (src.starts_with("/dev/mapper/")) {
      auto it = name_to_dm.find(src.substr(12));
      if (it != name_to_dm.end()) dm = it->second;
    } else if (src.starts_with("/dev/dm-")) {
      dm = src.substr(5);
    }
    if (!dm.empty()) root_encrypted = on_crypt(dm, 0);
  }
  o["root_encrypted"] = root_encrypted;
  o["dm_crypt_devices"] = std::move(crypt_devs);
  if (auto ct = fs.read("/etc/crypttab", 1 << 20)) o["crypttab_entries"] = parse_crypttab(*ct);
  return o;
}

json::object collect_security(const RootFs& fs, const std::vector<model::App>& apps) {
  json::array indicators;
  bool rooted = false, dev_mode = false;
  // Tools that give an app or the user root on phones (Android-style su, Magisk).
  static const std::string_view kRootPaths[] = {"/system/xbin/su", "/system/bin/su", "/sbin/magisk",
                                                "/data/adb/magisk", "/su/bin/su"};
  for (auto p : kRootPaths)
    if (fs.exists(p)) {
      rooted = true;
      indicators.emplace_back(std::string("root tool present: ") + std::string(p));
    }
  // Sailfish / Aurora developer mode installs devel-su (root shell with the developer password).
  if (fs.exists("/usr/bin/devel-su")) {
    dev_mode = true;
    indicators.emplace_back("developer mode: /usr/bin/devel-su present");
  }
  for (const auto& a : apps) {
    if (a.id == "jolla-developer-mode" || a.id == "sailfish-developer-mode" ||
        a.id.find("developer-mode") != std::string::npos) {
      dev_mode = true;
      indicators.emplace_back("developer mode package installed: " + a.id);
      break;
    }
  }
  // SSH server with root login allowed counts as a root indicator on a phone.
  if (auto sshd = fs.read("/etc/ssh/sshd_config", 1 << 20)) {
    for (std::string_view line : split(*sshd, '\n')) {
      line = trim(line);
      if (istarts_with_ascii(line, "PermitRootLogin") && contains_ci(line, "yes")) {
        indicators.emplace_back("sshd: PermitRootLogin yes");
        rooted = true;
      }
    }
  }
  json::object o;
  o["rooted"] = rooted;
  o["developer_mode"] = dev_mode;
  o["indicators"] = std::move(indicators);
  return o;
}

std::optional<ScreenLock> collect_screen_lock(const RootFs& fs) {
  if (auto t = fs.read("/usr/share/lipstick/devicelock/devicelock_settings.conf", 1 << 20)) {
    auto s = parse_devicelock_settings(*t);
    if (s.configured) return s;
  }
  for (const char* dir : {"/etc/dconf/db/local.d", "/etc/dconf/db/site.d"}) {
    for (const auto& f : fs.list(dir)) {
      auto t = fs.read(std::string(dir) + "/" + f, 1 << 20);
      if (!t) continue;
      auto s = parse_dconf_screensaver(*t);
      if (s.configured) return s;
    }
  }
  return std::nullopt;
}

}  // namespace

boost::json::object collect_facts(const CollectOptions& opts) {
  RootFs fs(opts.root);
  json::object facts;

  OsInfo os;
  auto osr = fs.read("/etc/os-release", 64 << 10);
  if (!osr) osr = fs.read("/usr/lib/os-release", 64 << 10);
  if (osr) {
    os = parse_os_release(*osr);
    facts["os"] = to_json(os);
  }
  if (auto k = fs.read("/proc/sys/kernel/osrelease", 4096)) {
    json::object kernel;
    kernel["release"] = first_line(*k);
    facts["kernel"] = std::move(kernel);
  }
  auto host = fs.read("/proc/sys/kernel/hostname", 4096);
  if (!host) host = fs.read("/etc/hostname", 4096);
  if (host && !first_line(*host).empty()) facts["hostname"] = first_line(*host);

  // Hardware and device type.
  auto hw = collect_hardware(fs);
  std::string chassis;
  if (auto mi = fs.read("/etc/machine-info", 64 << 10)) {
    auto kv = parse_env_file(*mi);
    if (auto it = kv.find("CHASSIS"); it != kv.end()) chassis = it->second;
  }
  auto dmi_type = fs.read("/sys/class/dmi/id/chassis_type", 64).value_or("");
  bool has_dt = fs.exists("/proc/device-tree/compatible") || fs.exists("/proc/device-tree/model");
  {
    json::object h;
    if (hw) {
      h["vendor"] = hw->vendor;
      h["model"] = hw->model;
      json::array c;
      for (const auto& s : hw->compatible) c.emplace_back(s);
      h["compatible"] = std::move(c);
      h["source"] = hw->source;
    }
    h["type"] = std::string(model::to_string(device_type_for(chassis, dmi_type, os.family, has_dt)));
    facts["hardware"] = std::move(h);
  }

  // Installed packages: the first package database found wins.
  // A package database that exists but cannot be read is reported as "apps_error" with no
  // "apps": an empty list would read as "nothing installed" and pass every app rule.
  std::vector<model::App> apps;
  std::string apps_source, apps_error;
  DpkgStatusReader dpkg;
  ApkInstalledReader apk;
  if (fs.for_each_line("/var/lib/dpkg/status", [&](std::string_view l) { dpkg.line(l); })) {
    apps = dpkg.finish();
    apps_source = "dpkg";
  } else if (fs.for_each_line("/lib/apk/db/installed", [&](std::string_view l) { apk.line(l); })) {
    apps = apk.finish();
    apps_source = "apk";
  } else if (opts.rpm_query &&
             (fs.exists("/var/lib/rpm") || fs.exists("/usr/lib/sysimage/rpm"))) {
    apps_source = "rpm";
    if (auto out = opts.rpm_query(opts.root))
      apps = parse_rpm_qa(*out);
    else
      apps_error = "rpm: " + out.error().to_string();
  }
  if (!apps_error.empty()) {
    facts["apps_source"] = apps_source;
    facts["apps_error"] = apps_error;
  } else if (!apps_source.empty()) {
    facts["apps_source"] = apps_source;
    json::array a;
    a.reserve(apps.size());
    for (const auto& app : apps) {
      json::object o;
      o["id"] = app.id;
      o["name"] = app.name;
      o["version"] = app.version;
      a.emplace_back(std::move(o));
    }
    facts["apps"] = std::move(a);
  }

  facts["encryption"] = collect_encryption(fs);
  facts["security"] = collect_security(fs, apps);
  if (auto sl = collect_screen_lock(fs)) {
    json::object o;
    o["configured"] = *sl->configured;
    if (sl->timeout_s) o["timeout_s"] = *sl->timeout_s;
    o["source"] = sl->source;
    facts["screen_lock"] = std::move(o);
  }
  json::object agent;
  agent["version"] = opts.agent_version;
  facts["agent"] = std::move(agent);
  return facts;
}

std::vector<model::App> apps_from_facts(const boost::json::object& facts) {
  std::vector<model::App> out;
  auto it = facts.find("apps");
  if (it == facts.end() || !it->value().is_array()) return out;
  for (const auto& v : it->value().get_array()) {
    if (!v.is_object()) continue;
    const auto& o = v.get_object();
    model::App a;
    auto str = [&](const char* k) -> std::string {
      auto f = o.find(k);
      return (f != o.end() && f->value().is_string()) ? std::string(f->value().get_string()) : "";
    };
    a.id = str("id");
    a.name = str("name");
    a.version = str("version");
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace fw::agent
