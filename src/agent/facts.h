// Device fact collectors of fleetward-agent: pure parsers (string in, value out) and one
// collect_facts() that reads every source through a root path, so tests run it over the
// fixture trees in tests/agent/fixtures/. The fact shape is documented in docs/agent-protocol.md.
// Parsers are pure and thread-safe; collect_facts only reads files (and may run the rpm executor).
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.h"
#include "util/error.h"

namespace fw::agent {

// KEY=VALUE files (os-release, hw-release, machine-info): quotes and backslash escapes
// removed, comments and malformed lines skipped. Later keys win.
std::map<std::string, std::string> parse_env_file(std::string_view text);

struct OsInfo {
  std::string family;  // canonical family of model.h: "Aurora OS", "Sailfish OS", "Linux", ...
  std::string name;    // NAME ("postmarketOS", "Ubuntu")
  std::string id;      // ID ("auroraos", "debian")
  std::string version; // VERSION_ID, else VERSION, else BUILD_ID; may be empty
  std::string pretty_name;
};
// /etc/os-release (or /usr/lib/os-release) text -> OsInfo. Never fails: unknown systems
// map to family "Linux" (they are Linux: the file exists), empty text to "Other".
OsInfo parse_os_release(std::string_view text);
// The canonical family for an os-release ID / ID_LIKE / NAME triple.
std::string os_family_for(std::string_view id, std::string_view id_like, std::string_view name);

// Device-tree string lists (/proc/device-tree/compatible): NUL-separated, NUL-terminated.
std::vector<std::string> parse_nul_list(std::string_view bytes);

struct Hardware {
  std::string vendor, model;
  std::vector<std::string> compatible;
  std::string source;  // "hw-release", "device-tree", "dmi", "" when nothing was readable
};
// Sailfish/Aurora hardware adaptation (/etc/hw-release): MER_HA_VENDOR / NAME.
std::optional<Hardware> parse_hw_release(std::string_view text);
// Device tree: model text and compatible list ("pine64,pinephone-1.2\0allwinner,sun50i-a64\0").
std::optional<Hardware> parse_device_tree(std::string_view model, std::string_view compatible);
// DMI: sys_vendor and product_name (placeholder strings like "To Be Filled By O.E.M." dropped).
std::optional<Hardware> parse_dmi(std::string_view sys_vendor, std::string_view product_name);

// Device type from systemd's CHASSIS (machine-info), DMI chassis_type number, and the OS family.
model::DeviceType device_type_for(std::string_view chassis, std::string_view dmi_chassis_type,
                                  std::string_view os_family, bool has_device_tree);

// Package databases -> apps, sorted by id, duplicates removed. Malformed stanzas are skipped.
std::vector<model::App> parse_dpkg_status(std::string_view text);      // only "install ok installed"
std::vector<model::App> parse_apk_installed(std::string_view text);    // /lib/apk/db/installed
// Output of: rpm -qa --queryformat '%{NAME}\t%{VERSION}-%{RELEASE}\t%{SUMMARY}\n'
inline constexpr std::string_view kRpmQueryFormat = "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{SUMMARY}\\n";
std::vector<model::App> parse_rpm_qa(std::string_view text);

// /etc/crypttab: number of entries (comments and blank lines skipped).
int parse_crypttab(std::string_view text);
// dm uuid ("CRYPT-LUKS2-...-name") -> is it a dm-crypt mapping?
bool is_dm_crypt_uuid(std::string_view uuid);
// /proc/mounts (or /proc/self/mounts) text -> the source device of the "/" mount, "" if none.
std::string root_mount_source(std::string_view mounts);

struct ScreenLock {
  std::optional<bool> configured;  // nullopt: not readable here
  std::optional<int> timeout_s;
  std::string source;
};
// Sailfish/Aurora lipstick devicelock settings ("nemo\devicelock\automatic_locking=5", minutes;
// -1 = never).
ScreenLock parse_devicelock_settings(std::string_view text);
// dconf keyfile text (/etc/dconf/db/*.d/*): org/gnome/desktop/screensaver lock-enabled and
// org/gnome/desktop/session idle-delay.
ScreenLock parse_dconf_screensaver(std::string_view text);

// Reads files below a root directory ("/" on a device, a fixture tree in tests).
// Reads are bounded; a missing or unreadable file is nullopt, never an error.
class RootFs {
 public:
  explicit RootFs(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string path(std::string_view p) const;  // root + p
  std::optional<std::string> read(std::string_view p, size_t max_bytes = 8u << 20) const;
  // Calls fn with each line of the file (without the '\n'), reading it in 8 KiB pieces so a
  // large package database is never held whole (memory budget). Lines longer than 64 KiB are
  // cut. Stops after max_bytes. False when the file cannot be opened.
  bool for_each_line(std::string_view p, const std::function<void(std::string_view)>& fn,
                     size_t max_bytes = 64u << 20) const;
  bool exists(std::string_view p) const;
  // Names of the entries of a directory, sorted; empty when missing.
  std::vector<std::string> list(std::string_view dir) const;

 private:
  std::string root_;
};

// Runs the rpm query (production: `rpm --root ROOT -qa --queryformat ...`); returns its stdout.
using RpmQuery = std::function<Result<std::string>(const std::string& root)>;

struct CollectOptions {
  std::string root = "/";
  RpmQuery rpm_query;  // empty: rpm databases are not queried
  std::string agent_version;
};

// Collects every fact. Sources that are missing leave their key out. Never fails: a package
// database that is present but unreadable (rpm missing or failing) gives "apps_error" (the
// reason) and no "apps", so that the server does not take it for an empty app list.
boost::json::object collect_facts(const CollectOptions& opts);

// Facts object helpers for the protocol.
std::vector<model::App> apps_from_facts(const boost::json::object& facts);

}  // namespace fw::agent
