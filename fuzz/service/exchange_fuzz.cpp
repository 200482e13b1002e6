// Fuzzes the Exchange Get-MobileDevice CSV parser (service::parse_exchange_csv), the reading
// of each row (read_exchange_row) and, for small files, import_exchange_devices into a real
// SQLite store. Any bytes must give rows and "exchange.csv:LINE: FIELD: REASON" errors or
// one error naming the file, never a crash. Seeds: corpus_exchange/.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_store.h"
#include "service/exchange.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fw::store::Store& store = fw::fuzz::fuzz_store();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto csv = fw::service::parse_exchange_csv(text, "exchange.csv");
  if (!csv) {
    if (!csv.error().where.starts_with("exchange.csv") || csv.error().code == fw::Errc::internal) __builtin_trap();
    return 0;
  }
  for (const auto& e : csv->errors) {
    if (e.line == 0 || !e.to_string("exchange.csv").starts_with("exchange.csv:")) __builtin_trap();
  }
  for (const auto& row : csv->rows) {
    if (row.line == 0 || row.device_id.empty()) __builtin_trap();  // DeviceId is required
    fw::service::read_exchange_row(row, nullptr);
    (void)fw::service::exchange_identity_user(row.user);
  }
  // One transaction per file; keep it to small files so each input stays fast.
  if (!csv->rows.empty() && csv->rows.size() <= 32) {
    fw::service::ExchangeImportOptions opts;
    opts.strip_domains = {"example.org"};
    auto r = fw::service::import_exchange_devices(store, csv->rows, opts, fw::from_unix(1'800'000'000));
    if (!r && r.error().code == fw::Errc::internal) __builtin_trap();
  }
  return 0;
}
