// Report assembly: reads the rows of one campaign or policy from the store (org units, people,
// devices, current findings, finding history), builds dense indices and calls the pure
// policy::build_report(); renders in table|json|csv|html. Thread-safe (own read transaction).
// Failure: not_found for an unknown document or when there is no campaign to default to;
// invalid_argument for an unknown format or language.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "policy/policy.h"
#include "store/store.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::service {

// Reads everything build_report() needs for `id` ("" = the first active campaign by id).
// `now` defaults to policy_now().
Result<policy::ReportInput> load_report_input(store::Tx& tx, const Clock& clock, std::string_view id,
                                              std::optional<Time> now = std::nullopt);

struct RenderedReport {
  std::string body;
  std::string content_type;  // text/plain, application/json, text/csv, text/html (utf-8)
};

// format: table|json|csv|html; lang: "" = the organisation's setting (default ru).
Result<RenderedReport> report(store::Store& s, const Clock& clock, std::string_view id, std::string_view format,
                              std::string_view lang = "");

}  // namespace fw::service
