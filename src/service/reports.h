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

// ---- the campaign report's aggregates, kept by the full evaluation ----
//
// Reading 1,000,000 devices, their findings and the whole history per request is too slow,
// so evaluate_all (which visits every device anyway) hands its rows to
// compute_campaign_aggregates() and stores the result with put_campaign_aggregates(): the
// report's per-unit/rule/platform counts and overdue people as of that evaluation, and
// today's burn-down point. Days since the campaign's start that have no stored point yet
// (before the first snapshot, after an upgrade, days without a full evaluation) are
// reconstructed from finding_changes once, exactly as build_report() would. report() then
// reads the snapshot and the daily points (small rows) when the snapshot is of the current
// document version, and says "as of the last evaluation"; otherwise it builds from scratch.

struct CampaignAggregates {
  store::CampaignSnapshot snapshot;
  std::vector<store::BurnDay> days;  // points to upsert (reconstructed ones and today's)
};
// `in` holds the campaign, units, people, devices and current findings (history empty) as
// of in.now; its history may be filled and used when days must be reconstructed.
Result<CampaignAggregates> compute_campaign_aggregates(store::Tx& tx, policy::ReportInput& in, int64_t version);
// The same from `rep`, the report of the current rows without history (finish_report() of the
// evaluation's tallies); `in` gives the campaign, now and tz. Missing days are reconstructed
// from the store's rows and history (load_report_input: slow, but only once per gap).
Result<CampaignAggregates> compute_campaign_aggregates(store::Tx& tx, const policy::ReportInput& in,
                                                       policy::Report rep, int64_t version);
Status put_campaign_aggregates(store::Tx& tx, const CampaignAggregates& a);
// The report from the stored aggregates; nullopt when there are none for this version of
// the document or a day of the burn-down is missing (the caller builds from scratch).
Result<std::optional<policy::Report>> report_from_aggregates(store::Tx& tx, const policy::Document& doc,
                                                             int64_t version, const TimeZone& tz);
// Appends the document's finding history to in.history (devices and people by in's indices;
// rows of devices or rules no longer there are skipped).
Status load_report_history(store::Tx& tx, policy::ReportInput& in);

struct RenderedReport {
  std::string body;
  std::string content_type;  // text/plain, application/json, text/csv, text/html (utf-8)
};

// format: table|json|csv|html; lang: "" = the organisation's setting (default ru); csv: which
// table a CSV holds (invalid_argument for burndown or overdue of a policy, not a campaign).
Result<RenderedReport> report(store::Store& s, const Clock& clock, std::string_view id, std::string_view format,
                              std::string_view lang = "", const policy::CsvOptions& csv = {});

}  // namespace fw::service
