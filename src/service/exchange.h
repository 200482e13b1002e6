// Exchange mobile-device import: Exchange's own list of ActiveSync devices
// (`Get-MobileDevice | Export-Csv`) resolves what access logs cannot tell, above all
// Outlook-iOS-Android, whose User-Agent is the same on iOS and Android. The CSV parser is
// pure (text in, rows and per-line errors out); import_exchange_devices writes in one
// transaction (all-or-nothing). Thread-safe (no shared state; the Store is thread-safe).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "detect/detect.h"
#include "store/store.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::service {

// Limits on the CSV (outside input).
inline constexpr size_t kMaxExchangeCsvBytes = 64u << 20;  // whole file / request body
inline constexpr size_t kMaxExchangeField = 4096;          // one field, bytes
inline constexpr size_t kMaxExchangeRows = 1'000'000;
inline constexpr size_t kMaxExchangeDeviceId = 128;

// One device row of the export. line = the line its record starts on (1-based).
struct ExchangeRow {
  size_t line = 0;
  std::string device_id, device_os, device_model, device_type, device_user_agent;
  std::string user;  // User / UserPrincipalName / PrimarySmtpAddress, else the display name
};

// A row (or the header) that was rejected: "FILE:LINE: FIELD: REASON".
struct ExchangeCsvError {
  size_t line = 0;
  std::string field;  // column name, or "record" / "header"
  std::string reason;
  std::string to_string(std::string_view file) const;
};

struct ExchangeCsv {
  std::vector<ExchangeRow> rows;
  std::vector<ExchangeCsvError> errors;  // every bad row, in order; the good rows are still in rows
};

// Parses the CSV text of `Get-MobileDevice | Export-Csv` (optional UTF-8 BOM, optional
// "#TYPE ..." first line, RFC 4180 quoting with "" and line breaks inside quotes, CRLF or
// LF). Columns are found by name, case-insensitively, in any order; DeviceId is required,
// the others optional. Fails (parse_error naming `file`:line) only when the text has no
// usable header, exceeds kMaxExchangeCsvBytes, or has an unterminated quote; a bad row is
// reported in errors and skipped.
Result<ExchangeCsv> parse_exchange_csv(std::string_view text, std::string_view file);

// What fleetward reads from one row: DeviceOS first ("iOS 16.3.1 20D67" -> iOS 16.3.1),
// then DeviceType (iPhone/iPad), then the DeviceUserAgent through the classifier (when given).
// An iPad on iOS 13 or later is iPadOS. os_family "" when nothing tells.
struct ExchangeReading {
  std::string os_family, os_version, vendor, model;
  model::DeviceType type = model::DeviceType::other;
};
ExchangeReading read_exchange_row(const ExchangeRow& row, const detect::Classifier* classifier);

struct ExchangeImportOptions {
  std::vector<std::string> strip_domains;  // as for discover: "example.org", "*"
  std::string actor = "cli:import-exchange";
  std::shared_ptr<const detect::Classifier> classifier;  // optional, for DeviceUserAgent
};

struct ExchangeImportResult {
  size_t rows = 0;               // rows stored in the mapping
  size_t devices_resolved = 0;   // existing devices (from logs) updated from the export
  size_t devices_created = 0;    // devices known only from Exchange, created (source log)
  size_t unresolved = 0;         // rows whose OS could not be read (mapping kept anyway)
  std::vector<std::string> device_ids;          // every device created or updated (sorted)
  std::vector<std::string> unattributed_users;  // users no person matched (sorted, unique)
};

// Stores each row in the mapping (store::ExchangeDevice) and applies it: devices from log
// sightings with that ActiveSync id get the OS, version, model and type from the export and
// lose their may_be (only devices with source log; agent-managed ones are not touched);
// ids no sighting has yet become unmanaged devices owned by the attributed person. Later
// ingest_sightings calls resolve the same ids through the stored mapping. People are
// matched by login or e-mail (after strip_domains), then by exact display name when only
// one person has it. One transaction; `now` is the audit time and imported_at.
// Failure: the store's error; nothing is written then.
Result<ExchangeImportResult> import_exchange_devices(store::Store& store, const std::vector<ExchangeRow>& rows,
                                                     const ExchangeImportOptions& opts, Time now);

// The user part of an Exchange identity: "contoso.com/Users/Ivan Petrov/ExchangeActiveSync
// Devices/iPhone§X" or "Ivan Petrov\ExchangeActiveSyncDevices\..." -> "Ivan Petrov";
// "contoso.com/Users/Ivan Petrov" -> "Ivan Petrov"; anything else is returned trimmed.
std::string exchange_identity_user(std::string_view identity);

}  // namespace fw::service
