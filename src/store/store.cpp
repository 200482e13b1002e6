// Store::open (chooses the driver from the URL) and the small enum helpers of store.h.
// Thread-safe.
#include "store/drivers.h"
#include "store/store.h"

namespace fw::store {

Result<std::unique_ptr<Store>> Store::open(std::string_view url) {
  if (url.empty()) return fail(Errc::invalid_argument, "empty database path", "db");
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return open_postgres(url);
  return open_sqlite(url);
}

std::string_view to_string(FindingStatus s) noexcept {
  switch (s) {
    case FindingStatus::pass: return "pass";
    case FindingStatus::fail: return "fail";
    case FindingStatus::exempt: return "exempt";
    case FindingStatus::unknown: return "unknown";
  }
  return "unknown";
}

std::optional<FindingStatus> parse_finding_status(std::string_view s) noexcept {
  if (s == "pass") return FindingStatus::pass;
  if (s == "fail") return FindingStatus::fail;
  if (s == "exempt") return FindingStatus::exempt;
  if (s == "unknown") return FindingStatus::unknown;
  return std::nullopt;
}

}  // namespace fw::store
