// `fleetward import`: loads an existing asset register or MDM export into the inventory,
// one transaction per file. A file's kind comes from its name: org-units*.csv,
// people*.csv, devices*.csv, or *.json ({"org_units": [...], "people": [...],
// "devices": [...]} in the API's JSON form, or a bare array of devices). Existing entities
// with the same id are replaced (audit "update"), new ones created. Any bad row fails the
// whole file: nothing of it is written. Columns and rules: docs/import.md.
// Thread-safe (the Store is); parse_csv is pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::service {

// One CSV record with the 1-based line it starts on.
struct CsvRecord {
  int line = 0;
  std::vector<std::string> fields;
};

// RFC 4180 CSV: ',' or ';' separated (guessed from the first line), "quoted" fields with ""
// escapes and line breaks, LF or CRLF, a UTF-8 BOM is skipped. Blank lines are skipped.
// parse_error "line N" for an unterminated quote or junk after a closing quote;
// too_large for a field over 64 KiB.
Result<std::vector<CsvRecord>> parse_csv(std::string_view text);

struct ImportReport {
  std::string kind;  // "org-units", "people", "devices", "json"
  size_t org_units = 0, people = 0, devices = 0;
  // "file:line: field: reason", at most 20 (then a last "... more" line). Empty = success.
  std::vector<std::string> errors;
  bool ok() const { return errors.empty(); }
};

constexpr size_t kMaxImportBytes = 256u << 20;

// Imports `content` as the file named `file_name` (used for the kind and in errors).
// actor is written into audit events ("cli:import").
ImportReport import_text(store::Store& store, std::string_view file_name, std::string_view content,
                         std::string_view actor, Time now);

// Reads the file (at most kMaxImportBytes) and imports it.
ImportReport import_file(store::Store& store, const std::string& path, std::string_view actor, Time now);

}  // namespace fw::service
