// Policy use cases: check and apply policy files (stored versioned, with an audit event),
// load the active documents compiled, exemptions (CRUD with audit), and the campaign
// timeline over the store (actions due, per-person escalation).
// Thread-safe: every function runs its own store transactions; nothing is cached.
// Failure: parse_error with every file:line:col problem in the message for a bad file,
// not_found for a missing policy/exemption, invalid_argument naming the field.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"
#include "store/store.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::service {

// The time policy logic runs at: the store setting "clock.now" (RFC 3339) when set — the demo
// database keeps its fixed demo clock there, a few weeks before its campaign's deadline —
// otherwise clock.now().
Time policy_now(store::Tx& tx, const Clock& clock);
Time policy_now(store::Store& s, const Clock& clock);

// The organisation's display zone: setting "org.timezone" (IANA name), default Europe/Moscow.
TimeZone org_timezone(store::Tx& tx);
// Report language: setting "org.lang" (ru|en), default ru.
policy::Lang org_lang(store::Tx& tx);

// Reads a policy file (at most 1 MiB); io_error/too_large naming the path.
Result<std::string> read_policy_file(const std::string& path);

// Parses `text`; on any problem fails with parse_error whose message lists every
// "file:line:col: message" line.
Result<std::vector<policy::Document>> check_policy_text(std::string_view text, std::string_view source_name);

struct Applied {
  std::string id;
  std::string kind;
  int64_t version = 0;
};

// Stores every document of the file as a new version (audit "policy.apply") in one
// transaction. A campaign without `start` gets the time of its first apply (setting
// "policy.<id>.start"). Evaluation is the caller's next step (see evaluate.h).
Result<std::vector<Applied>> apply_policy_text(store::Store& s, const Clock& clock, std::string_view actor,
                                               std::string_view text, std::string_view source_name);

// Marks a document withdrawn (a new inactive version; audit "policy.withdraw").
Status withdraw_policy(store::Store& s, const Clock& clock, std::string_view actor, std::string_view id);

struct LoadedPolicy {
  store::PolicyDoc stored;
  policy::CompiledPolicy compiled;  // document with start resolved
};

// The active documents ("" = all, else that id only), parsed and compiled.
Result<std::vector<LoadedPolicy>> load_policies(store::Tx& tx, std::string_view id = "");

// Exemptions. create fills id (when empty) and created_at (= policy_now), validates (the policy,
// rule, person or device must exist), and writes an audit event; delete: not_found when no such
// id, else removes it with an audit event. Neither evaluates: callers re-evaluate the policy.
Result<store::Exemption> create_exemption(store::Store& s, const Clock& clock, std::string_view actor,
                                          store::Exemption e);
Status delete_exemption(store::Store& s, const Clock& clock, std::string_view actor, std::string_view id);
policy::Exemption to_policy(const store::Exemption& e);

// The campaign timeline over the current findings.
//
// Two lists: `due`, the schedule points in (now - window, now] of every non-compliant person in
// scope, by (time, person id, the person's own point order); and `people`, every such person's
// timeline by person id. Both can be read in keyset pages: a page is its first `*_limit` rows
// after the given position, and `*_next` is the position to ask for the following page (empty
// at the end), so the pages concatenated are the full list. A page's cost is the rows it shows
// plus one grouped count of the failing people by (unit, first failure) for the totals.
struct DueAfter {  // the position just after a row of `due`
  Time at{};
  std::string person_id;
  uint32_t n = 0;  // how many of this person's points at `at` are before the position (>= 1)
};
struct ActionsPage {
  size_t due_limit = static_cast<size_t>(-1);     // 0 = no due rows (the totals are still given)
  size_t people_limit = static_cast<size_t>(-1);  // 0 = no timelines
  std::optional<DueAfter> due_after;              // none = from the first row
  std::string people_after;                       // "" = from the first person
};
struct CampaignActions {
  std::string campaign_id;
  Time now{};
  std::vector<policy::DueAction> due;         // the page of due points
  size_t due_total = 0;                        // how many points are due in all
  std::optional<DueAfter> due_next;            // where the next page starts; none = this is the last
  std::vector<policy::PersonTimeline> people;  // the page of non-compliant people in scope
  size_t people_total = 0;                     // how many there are in all
  std::string people_next;                     // "" = this is the last page
};
Result<CampaignActions> campaign_actions(store::Store& s, const Clock& clock, std::string_view campaign_id,
                                         Seconds window, const ActionsPage& page);
// The full lists (the CLI, the notifications): with_people = false leaves `people` empty;
// due_limit keeps only the first that many due points (the others are counted, not copied).
Result<CampaignActions> campaign_actions(store::Store& s, const Clock& clock, std::string_view campaign_id,
                                         Seconds window = Seconds{86400}, bool with_people = true,
                                         size_t due_limit = static_cast<size_t>(-1));

// The wire form of a DueAfter position: "<unix seconds>.<n>.<person id>"; invalid_argument
// naming `where` for anything else.
std::string format_due_after(const DueAfter& a);
Result<DueAfter> parse_due_after(std::string_view s, std::string_view where);

}  // namespace fw::service
