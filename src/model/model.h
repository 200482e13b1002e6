// Plain domain types of fleetward: the nouns every module shares.
// No behaviour beyond small helpers; no I/O. Values; safe to copy across threads.
// Ids are strings chosen by whoever creates the entity (import, API, agent enrolment).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/time.h"

namespace fw::model {

// A node of the organisation tree. path is stable and unique: "/administration/domestic-policy",
// "/regions/tver". The root units have paths of one segment.
struct OrgUnit {
  std::string id;
  std::string path;
  std::string name;      // display name, any language
  std::string kind;      // "department", "region", "office", ... free text
  std::string timezone;  // IANA zone for display, e.g. "Europe/Moscow"; empty = inherit
  // Parent path is derived from path: everything before the last '/', empty for roots.
  std::string parent_path() const;
  // True when path equals subtree or lies below it ("/a/b" is within "/a", not within "/ab").
  static bool within(std::string_view path, std::string_view subtree) noexcept;
};

struct Person {
  std::string id;
  std::string name;
  std::string email;
  std::string login;          // directory login ("ivanov"), for attributing log lines
  std::string org_unit_path;  // the OrgUnit this person belongs to
  std::string manager_id;     // another Person's id; empty for none
  std::string title;          // job title, free text
};

// Where a device is known from: an enrolled agent, an access log, an inventory import, or only
// Exchange's Get-MobileDevice export (never seen in a log yet).
enum class DeviceSource { agent, log, import, exchange };
enum class DeviceType { phone, tablet, desktop, other };

std::string_view to_string(DeviceSource s) noexcept;
std::string_view to_string(DeviceType t) noexcept;
std::optional<DeviceSource> parse_device_source(std::string_view s) noexcept;
std::optional<DeviceType> parse_device_type(std::string_view s) noexcept;

struct App {
  std::string id;       // package / bundle id: "us.zoom.videomeetings", "ru.trueconf.client"
  std::string name;
  std::string version;
  friend bool operator==(const App&, const App&) = default;
};

// Canonical OS family names (detect/ and the agent produce only these):
// "iOS", "iPadOS", "Android", "HarmonyOS", "Aurora OS", "Sailfish OS", "KaiOS",
// "Windows", "macOS", "Linux", "ChromeOS", "Other".
struct Device {
  std::string id;
  std::string owner_id;  // Person id; empty when not attributed
  // The device's own org unit: the scope of policies when it has no owner (an agent-enrolled
  // device takes its enrolment secret's unit). Empty for none. An owner's unit wins.
  std::string org_unit_path;
  DeviceSource source = DeviceSource::import;
  std::string os_family;
  std::string os_version;
  std::string vendor;
  std::string model;
  DeviceType type = DeviceType::other;
  bool managed = false;  // an enrolled agent reports for it
  Time first_seen{};
  Time last_seen{};
  std::vector<App> apps;
  // Families this device may really be when classification could not tell
  // (e.g. iPad with a desktop Safari UA: os_family "macOS", may_be {"iPadOS"}).
  std::vector<std::string> may_be;
  // Further facts, as a JSON object text (agent: encryption, root, kernel, ...); "{}" when none.
  std::string facts_json = "{}";
};

// One person's use of one client, aggregated from access-log lines.
struct Sighting {
  std::string user;          // as written in the log ("DOMAIN\\ivanov", "ivanov@example.org")
  std::string person_id;     // attributed Person, empty if unknown
  std::string device_id;     // the inventory Device it became, empty until ingested
  std::string fingerprint;   // stable key of the client: ActiveSync device id or hash of UA
  std::string user_agent;
  std::string activesync_id;
  std::string client_ip;
  std::string os_family, os_version, vendor, model;
  DeviceType type = DeviceType::other;
  Time first_seen{}, last_seen{};
  int64_t count = 0;
};

// Who did what, when: one entry of the hash-chained audit log.
struct AuditEvent {
  int64_t seq = 0;           // assigned by the store, increasing
  Time at{};
  std::string actor;         // token name, "agent:<device>", "system"
  std::string action;        // "device.create", "policy.apply", ...
  std::string entity;        // "device/abc"
  std::string before_json;   // "" when created
  std::string after_json;    // "" when deleted
  std::string prev_hash;     // hex SHA-256 of the previous event ("" for the first)
  std::string hash;          // hex SHA-256 over prev_hash and this event's fields
};

enum class Role { admin, operator_, auditor, manager, agent };
std::string_view to_string(Role r) noexcept;
std::optional<Role> parse_role(std::string_view s) noexcept;

// An API token as stored: the secret itself is never stored, only its hash.
struct ApiToken {
  std::string id;
  std::string name;
  Role role = Role::admin;
  std::string scope_path;   // for managers: the org-unit subtree they may see
  std::string secret_hash;  // hex SHA-256 of the secret
  Time created_at{};
  std::optional<Time> expires_at;
  bool revoked = false;
};

}  // namespace fw::model
