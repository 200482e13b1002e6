// Fuzzes `fleetward import` (service::import_text, service::parse_csv) against a real SQLite
// store: the first byte picks the file kind (org-units.csv, people.csv, devices.csv,
// import.json), the rest is the file. Any bytes must give a report, never a crash, and
// every error must name the file ("FILE:LINE: ..."). Seeds: corpus_import/.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "fuzz_store.h"
#include "service/importer.h"

namespace {

const fw::Time kNow = fw::from_unix(1'800'000'000);

[[noreturn]] void broken(const char* promise, const std::string& detail) {
  std::fprintf(stderr, "import_fuzz: broken promise: %s: %s\n", promise, detail.c_str());
  __builtin_trap();
}

// An org unit and a person for the seeds' references (people -> /field, devices -> p-1).
void set_up(fw::store::Store& s) {
  auto u = fw::service::import_text(s, "org-units.csv", "path,name\n/field,Field\n/field/north,North\n", "fuzz", kNow);
  auto p = fw::service::import_text(s, "people.csv", "id,name,org_unit,email,login\np-1,Ivan,/field,ivan@example.org,ivan\n",
                                    "fuzz", kNow);
  if (!u.ok() || !p.ok()) broken("set-up imports", u.ok() ? p.errors.front() : u.errors.front());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fw::store::Store& store = []() -> fw::store::Store& {
    auto& s = fw::fuzz::fuzz_store();
    set_up(s);
    return s;
  }();
  if (size == 0) return 0;
  static const char* const kNames[] = {"org-units.csv", "people.csv", "devices.csv", "import.json"};
  std::string_view file = kNames[data[0] % 4];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  // The pure CSV reader: records start on increasing lines >= 1.
  if (auto recs = fw::service::parse_csv(text)) {
    int last = 0;
    for (const auto& r : *recs) {
      if (r.line <= last) broken("records start on increasing lines", std::to_string(r.line));
      last = r.line;
    }
  } else if (!recs.error().where.starts_with("line ") || recs.error().code == fw::Errc::internal) {
    broken("parse_csv errors name the line", recs.error().to_string());
  }

  auto rep = fw::service::import_text(store, file, text, "fuzz", kNow);
  for (const auto& e : rep.errors) {
    if (!e.starts_with(std::string(file) + ":")) broken("every error names the file", e);
  }
  if (rep.errors.size() > 21) broken("at most 20 errors and a count", std::to_string(rep.errors.size()));
  return 0;
}
