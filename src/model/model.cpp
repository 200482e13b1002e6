// Small helpers of the domain types.
#include "model/model.h"

namespace fw::model {

std::string OrgUnit::parent_path() const {
  auto pos = path.rfind('/');
  if (pos == std::string::npos || pos == 0) return {};
  return path.substr(0, pos);
}

bool OrgUnit::within(std::string_view path, std::string_view subtree) noexcept {
  if (subtree == "/" || subtree.empty()) return true;
  if (!path.starts_with(subtree)) return false;
  return path.size() == subtree.size() || path[subtree.size()] == '/';
}

std::string_view to_string(DeviceSource s) noexcept {
  switch (s) {
    case DeviceSource::agent: return "agent";
    case DeviceSource::log: return "log";
    case DeviceSource::import: return "import";
    case DeviceSource::exchange: return "exchange";
  }
  return "import";
}

std::string_view to_string(DeviceType t) noexcept {
  switch (t) {
    case DeviceType::phone: return "phone";
    case DeviceType::tablet: return "tablet";
    case DeviceType::desktop: return "desktop";
    case DeviceType::other: return "other";
  }
  return "other";
}

std::optional<DeviceSource> parse_device_source(std::string_view s) noexcept {
  if (s == "agent") return DeviceSource::agent;
  if (s == "log") return DeviceSource::log;
  if (s == "import") return DeviceSource::import;
  if (s == "exchange") return DeviceSource::exchange;
  return std::nullopt;
}

std::optional<DeviceType> parse_device_type(std::string_view s) noexcept {
  if (s == "phone") return DeviceType::phone;
  if (s == "tablet") return DeviceType::tablet;
  if (s == "desktop") return DeviceType::desktop;
  if (s == "other") return DeviceType::other;
  return std::nullopt;
}

std::string_view to_string(Role r) noexcept {
  switch (r) {
    case Role::admin: return "admin";
    case Role::operator_: return "operator";
    case Role::auditor: return "auditor";
    case Role::manager: return "manager";
    case Role::agent: return "agent";
  }
  return "admin";
}

std::optional<Role> parse_role(std::string_view s) noexcept {
  if (s == "admin") return Role::admin;
  if (s == "operator") return Role::operator_;
  if (s == "auditor") return Role::auditor;
  if (s == "manager") return Role::manager;
  if (s == "agent") return Role::agent;
  return std::nullopt;
}

}  // namespace fw::model
