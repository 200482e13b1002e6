// SqlTx: Exchange's mobile-device export (exchange_devices, migration 0006) and the lookup of
// sightings by ActiveSync device id that the Exchange import resolves.
// Used by the one thread that runs the transaction.
#include <string>

#include "store/sql/tx.h"
#include "util/strings.h"

namespace fw::store::sql {

namespace {
constexpr std::string_view kExchangeCols =
    "activesync_id, user_name, person_id, device_id, raw_os, raw_model, raw_type, raw_user_agent, os_family, "
    "os_version, vendor, model, type, imported_at";

}  // namespace

Result<std::vector<model::Sighting>> SqlTx::list_activesync_sightings() {
  std::vector<model::Sighting> out;
  FW_TRY_STATUS(query("SELECT " + std::string(kSightingColumns) +
                          " FROM sightings WHERE activesync_id <> '' ORDER BY user_name, fingerprint",
                      {}, [&](const Row& r) -> Status {
                        out.push_back(sighting_from_row(r));
                        return {};
                      }));
  return out;
}

Status SqlTx::put_exchange_device(const ExchangeDevice& d) {
  if (d.activesync_id.empty())
    return fail(Errc::invalid_argument, "exchange device needs an ActiveSync device id", "exchange_device");
  FW_TRY_STATUS(exec("INSERT INTO exchange_devices (" + std::string(kExchangeCols) +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                         "ON CONFLICT (activesync_id) DO UPDATE SET user_name = excluded.user_name, "
                         "person_id = excluded.person_id, device_id = excluded.device_id, raw_os = excluded.raw_os, "
                         "raw_model = excluded.raw_model, raw_type = excluded.raw_type, "
                         "raw_user_agent = excluded.raw_user_agent, os_family = excluded.os_family, "
                         "os_version = excluded.os_version, vendor = excluded.vendor, model = excluded.model, "
                         "type = excluded.type, imported_at = excluded.imported_at",
                     {to_upper_ascii(d.activesync_id), d.user, d.person_id, d.device_id, d.raw_os, d.raw_model,
                      d.raw_type, d.raw_user_agent, d.os_family, d.os_version, d.vendor, d.model,
                      model::to_string(d.type), d.imported_at}));
  return {};
}

Result<ExchangeDevice> SqlTx::get_exchange_device(std::string_view activesync_id) {
  ExchangeDevice d;
  std::string key = to_upper_ascii(activesync_id);
  FW_TRY_STATUS(query_one("SELECT " + std::string(kExchangeCols) + " FROM exchange_devices WHERE activesync_id = ?",
                          {key}, "exchange device " + key, [&](const Row& r) -> Status {
                            d.activesync_id = r.text(0);
                            d.user = r.text(1);
                            d.person_id = r.text(2);
                            d.device_id = r.text(3);
                            d.raw_os = r.text(4);
                            d.raw_model = r.text(5);
                            d.raw_type = r.text(6);
                            d.raw_user_agent = r.text(7);
                            d.os_family = r.text(8);
                            d.os_version = r.text(9);
                            d.vendor = r.text(10);
                            d.model = r.text(11);
                            d.type = model::parse_device_type(r.text(12)).value_or(model::DeviceType::other);
                            d.imported_at = r.time(13);
                            return {};
                          }));
  return d;
}

}  // namespace fw::store::sql
