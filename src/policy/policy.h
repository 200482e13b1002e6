// fleetward policies and migration campaigns: policy files (YAML) -> documents -> compiled
// rules; evaluation of one device; exemptions; the campaign timeline; reports over rows.
// Start here. Everything in this module is pure (no I/O, no clock): time comes in as `now`.
// Thread-safety: documents, CompiledPolicy and report inputs are immutable values once built;
// CompiledPolicy::evaluate() may run on several threads at once, each with its own Evaluator.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cel/cel.h"
#include "model/model.h"
#include "util/error.h"
#include "util/time.h"
#include "util/timezone.h"

namespace fw::policy {

// ---------------------------------------------------------------- documents

enum class Severity { low, medium, high, critical };
enum class Level { mandatory, advisory };
std::string_view to_string(Severity s) noexcept;
std::string_view to_string(Level l) noexcept;
std::optional<Severity> parse_severity(std::string_view s) noexcept;
std::optional<Level> parse_level(std::string_view s) noexcept;

// A place in a policy file, 1-based; col counts UTF-8 characters.
struct Pos {
  int line = 0;
  int col = 0;
};

struct Rule {
  std::string id;
  std::string title;
  Severity severity = Severity::medium;
  std::string when;     // CEL; "" = always applicable
  std::string require;  // CEL; must hold
  std::string remedy;
  Pos pos, when_pos, require_pos;
};

// One org-unit subtree of a campaign's scope with its own level.
struct ScopeEntry {
  std::string path;
  Level level = Level::mandatory;
};

enum class Recipient { owner, manager, admin };
std::string_view to_string(Recipient r) noexcept;

// One schedule line. Either a single point (`at`) or a repetition (`every`).
//   at: start | deadline | start+3d | deadline-7d | deadline+14d | 2023-03-01T09:00:00+03:00
//   every: 7d [from: start] [until: deadline]   (points from+every, from+2*every, ... < until)
struct ScheduleEntry {
  enum class Anchor { start, deadline, absolute };
  std::string label;             // as written: "deadline-7d", "every 7d"
  bool repeating = false;
  Anchor anchor = Anchor::start;  // for `at`, and for `every`'s `from`
  Seconds offset{0};
  Time absolute{};
  Seconds every{0};
  Anchor until_anchor = Anchor::deadline;
  Seconds until_offset{0};
  std::vector<Recipient> notify;
  bool block = false;
  Pos pos;
};

struct Document {
  std::string kind;  // "policy" | "campaign"
  std::string id;
  std::string title;
  std::string description;
  std::vector<ScopeEntry> scope;  // empty = the whole organisation at `level`
  Level level = Level::mandatory;
  std::optional<Time> start;     // campaign; when absent the service uses the first apply time
  std::optional<Time> deadline;  // campaign: required
  Seconds grace{0};              // campaign: extra time for people who fail after the start
  std::vector<Rule> rules;
  std::vector<ScheduleEntry> schedule;
  std::string source_name;
  Pos pos;

  bool is_campaign() const noexcept { return kind == "campaign"; }
  // The level for a person in org unit `path`, or nullopt when outside the scope. The
  // deepest matching scope entry wins.
  std::optional<Level> level_for(std::string_view org_unit_path) const;
};

struct ParseLimits {
  size_t max_file_bytes = 1 << 20;
  size_t max_documents = 64;
  size_t max_rules = 256;
  size_t max_schedule = 64;
  size_t max_scope = 256;
  size_t max_text = 16 * 1024;  // one scalar
};

// Every problem found in a file; each Error has where = "file:line:col".
struct ParseResult {
  std::vector<Document> documents;
  std::vector<Error> errors;
  bool ok() const noexcept { return errors.empty(); }
};

// Parses one file (one or more YAML documents separated by ---), checks every field and
// compiles every CEL expression, so that a file that parses here applies without error.
// Never throws. Errors name the file position; CEL errors point into the YAML scalar.
ParseResult parse_file(std::string_view text, std::string_view source_name,
                       const ParseLimits& limits = {});

// "file:line:col" for a byte offset of `text` (col in UTF-8 characters).
Pos position_of(std::string_view text, size_t byte_offset) noexcept;

// ---------------------------------------------------------------- evaluation

enum class RuleStatus { pass, fail, exempt, unknown, not_applicable };
std::string_view to_string(RuleStatus s) noexcept;
std::optional<RuleStatus> parse_rule_status(std::string_view s) noexcept;

// An exemption for a person or a device from one rule or a whole document.
struct Exemption {
  std::string id;
  std::string person_id;  // exactly one of person_id / device_id
  std::string device_id;
  std::string policy_id;
  std::string rule_id;  // "" = the whole document
  std::string reason;
  std::string approver;
  Time created_at{};
  Time expires_at{};  // applies while now < expires_at
};

// True when e covers (person, device, policy, rule) at `now`. Expired or not-yet-created
// exemptions never apply.
bool exemption_applies(const Exemption& e, std::string_view person_id, std::string_view device_id,
                       std::string_view policy_id, std::string_view rule_id, Time now) noexcept;
// Checks the fields of an exemption (one subject, policy set, reason, approver, expiry after
// creation); invalid_argument naming the field.
fw::Status validate_exemption(const Exemption& e);

// The CEL values the rules see. Fields are documented in docs/policies.md.
cel::Value device_value(const model::Device& d);
cel::Value person_value(const model::Person* p);  // null Value for no owner

// Which top-level fields of those values a set of rules reads (from cel::Program::paths):
// one bit per field, in the order of kDeviceFieldNames / kPersonFieldNames; a rule that uses
// the whole variable (indexes it, passes it to a function) sets every bit. A value built with
// fewer fields evaluates every rule of that set exactly as the full value does, since fields
// no rule names are never looked up.
using FieldMask = uint32_t;
inline constexpr std::string_view kDeviceFieldNames[] = {
    "id",     "owner_id", "org_unit",  "source",    "type", "os",     "vendor",
    "model",  "managed",  "first_seen", "last_seen", "apps", "may_be", "facts"};
inline constexpr std::string_view kPersonFieldNames[] = {"id",        "name",  "email", "login",
                                                         "org_unit",  "manager_id", "title"};
inline constexpr FieldMask kAllFields = ~FieldMask(0);
// The bit of a device field by name; 0 for a name the device value does not have.
FieldMask device_field(std::string_view name) noexcept;
// The same with only the fields in `fields` (facts_json is parsed only with the facts bit,
// apps built only with the apps bit).
cel::Value device_value(const model::Device& d, FieldMask fields);
cel::Value person_value(const model::Person* p, FieldMask fields);

struct RuleResult {
  RuleStatus status = RuleStatus::not_applicable;
  std::string detail;  // error text for unknown, exemption id for exempt
};

class CompiledPolicy;

// Per-thread scratch space for evaluation. Not thread-safe; one per thread.
class Evaluator {
 public:
  Evaluator() = default;

 private:
  friend class CompiledPolicy;
  cel::Activation act_;
};

// One document with its expressions compiled once.
class CompiledPolicy {
 public:
  // Compiles doc's rules. Fails with the first compile error (parse_file already reports all).
  static Result<CompiledPolicy> compile(Document doc);

  const Document& document() const noexcept { return *doc_; }
  size_t rule_count() const noexcept;

  // Evaluates every rule against one device (with its owner, possibly null) at `now`; results
  // are in rule order. Exemptions that apply turn fail/unknown into exempt; the person is
  // the device's owner. The scope is decided by the owner's unit, or the device's own unit
  // when it has no owner; devices outside the campaign's scope get not_applicable.
  void evaluate(const model::Device& d, const model::Person* owner, Time now,
                const std::vector<const Exemption*>& exemptions, Evaluator& ev,
                std::vector<RuleResult>& out) const;
  // The same with the CEL values already built (lets a caller share them between documents).
  void evaluate_values(const cel::Value& device, const cel::Value& person, std::string_view person_id,
                       std::string_view device_id, std::string_view org_unit_path, Time now,
                       const std::vector<const Exemption*>& exemptions, Evaluator& ev,
                       std::vector<RuleResult>& out) const;

  // The fields of `device` and `person` that any rule (when or require) of this document reads.
  FieldMask device_fields() const noexcept { return device_fields_; }
  FieldMask person_fields() const noexcept { return person_fields_; }

 private:
  struct Compiled;
  std::shared_ptr<const Document> doc_;
  std::shared_ptr<const std::vector<Compiled>> rules_;
  FieldMask device_fields_ = kAllFields, person_fields_ = kAllFields;
};

// ---------------------------------------------------------------- campaign timeline
//
// Times in a campaign are per person: a person who starts failing after the campaign's start
// gets the `start` notice then (personal start = max(start, first failure)), and their
// deadline is max(deadline, first failure + grace). Points anchored at `deadline` follow the
// personal deadline. Advisory people get notifications only, never a block.

// The campaign's start as used everywhere: doc.start, or the deadline when unset (the service
// fills doc.start with the first apply time before calling anything here).
Time campaign_start(const Document& c) noexcept;

struct ActionPoint {
  Time at{};
  std::string label;  // "start", "deadline-7d", "every 7d #3"
  std::vector<Recipient> notify;
  bool block = false;
};

enum class Escalation { none, reminded, escalated, overdue, blocked };
std::string_view to_string(Escalation e) noexcept;

// What the timeline needs to know about one person in scope.
struct PersonState {
  std::string person_id;
  Level level = Level::mandatory;
  bool compliant = true;                // no device of theirs fails a rule (exempt counts as compliant)
  std::optional<Time> first_failed_at;  // earliest first failure among their failing findings
};

struct PersonTimeline {
  std::string person_id;
  Level level = Level::mandatory;
  Time start{};     // personal start
  Time deadline{};  // personal deadline
  Escalation escalation = Escalation::none;
  std::optional<ActionPoint> last;  // latest point at or before now (non-compliant people only)
  std::optional<ActionPoint> next;  // first point after now (non-compliant people only)
  int64_t days_overdue = 0;         // whole days past the personal deadline (0 before)
};

// Every point of c's schedule for one person, sorted by time (ties in file order). At most
// 10,000 points per `every` entry.
std::vector<ActionPoint> schedule_points(const Document& c, Time personal_start, Time personal_deadline,
                                         Level level);
PersonTimeline person_timeline(const Document& c, const PersonState& p, Time now);

struct DueAction {
  std::string person_id;
  ActionPoint point;
};
// The actions of non-compliant people whose point lies in (now - window, now], sorted by
// time then person. A point exactly at `now` is due; one a second later is not.
std::vector<DueAction> actions_due(const Document& c, const std::vector<PersonState>& people, Time now,
                                   Seconds window);

// ---------------------------------------------------------------- reports
//
// Pure functions over rows: the service reads rows from the store, builds dense indices,
// and calls build_report(). Rows refer to each other by index into the vectors of the input.

inline constexpr uint32_t kNone = 0xFFFFFFFFu;

struct OrgUnitRow {
  std::string path;
  std::string name;
};
struct PersonRow {
  std::string id;
  std::string name;
  std::string email;
  std::string org_unit_path;
  uint32_t manager = kNone;  // index into people
};
struct DeviceRow {
  std::string id;
  uint32_t owner = kNone;  // index into people
  std::string os_family;
  std::string os_version;
  std::string model;
  std::string org_unit_path;  // the device's own unit: where it counts when it has no owner
};
// The current result of one rule (index into campaign.rules) on one device.
struct FindingRow {
  uint32_t device = kNone;
  uint32_t person = kNone;
  uint16_t rule = 0;
  RuleStatus status = RuleStatus::unknown;
  std::optional<Time> first_failed_at;
};
// A status change of (device, rule), as kept in the history.
struct ChangeRow {
  uint32_t device = kNone;
  uint32_t person = kNone;
  uint16_t rule = 0;
  RuleStatus status = RuleStatus::unknown;
  Time at{};
};

struct ReportInput {
  Document campaign;  // with start resolved
  std::vector<OrgUnitRow> units;
  std::vector<PersonRow> people;
  std::vector<DeviceRow> devices;
  std::vector<FindingRow> findings;
  std::vector<ChangeRow> history;  // any order
  Time now{};
  TimeZone tz;
};

struct UnitStats {
  std::string path, name;
  int depth = 0;                    // 0 for roots
  std::optional<Level> level;       // campaign level for people directly in this unit
  int64_t people = 0, people_noncompliant = 0, people_unknown = 0;
  int64_t devices = 0, devices_noncompliant = 0, devices_exempt = 0;
  double compliance_pct = 100.0;    // share of compliant people (100 when no people)
};
struct RuleStats {
  std::string id, title;
  Severity severity = Severity::medium;
  int64_t pass = 0, fail = 0, exempt = 0, unknown = 0, not_applicable = 0;
};
struct PlatformStats {
  std::string family;
  int64_t devices = 0, noncompliant = 0;
};
struct BurnPoint {
  Time day{};        // local midnight starting the day (UTC instant)
  std::string date;  // local date "2023-03-01"
  int64_t people = 0, devices = 0;  // non-compliant at the end of the day (or now, for today)
};
struct Projection {
  std::string method;               // stated in the report
  int window_days = 0;              // points used
  double slope_per_day = 0;         // change of non-compliant people per day
  double intercept = 0;             // fitted value at the first point of the window
  Time window_start{};
  std::optional<Time> completion;   // when the fitted line reaches zero
  bool completed = false;           // nobody is non-compliant now
  bool on_track = false;            // completion <= deadline
};
struct OverdueRow {
  std::string person_id, name, email, unit, manager_name, manager_email;
  std::vector<std::string> devices;  // "iPhone 13 (iOS 16.3)"
  std::vector<std::string> rules;    // failing rule ids
  int64_t days_overdue = 0;
  Time deadline{};
};

struct Report {
  std::string campaign_id, title;
  bool is_campaign = false;
  Time start{}, deadline{}, now{};
  Time grace_end{};  // campaign: deadline + grace (== deadline without a grace period)
  bool as_of_evaluation = false;  // read from the aggregates of the last full evaluation, at `now`
  std::string tz_name;
  int64_t people = 0, people_noncompliant = 0, people_unknown = 0, people_exempt = 0;
  int64_t devices = 0, devices_noncompliant = 0;
  std::vector<UnitStats> units;  // tree order (by path)
  std::vector<RuleStats> rules;
  std::vector<PlatformStats> platforms;  // most devices first
  std::vector<BurnPoint> burndown;
  Projection projection;
  std::vector<OverdueRow> overdue;  // most days overdue first
};

// The non-compliant people and devices at `at`, reconstructed from the history alone.
struct Snapshot {
  int64_t people = 0, devices = 0;
};
Snapshot state_at(const ReportInput& in, Time at);

Report build_report(const ReportInput& in);

// What build_report() needs of the devices and findings, accumulated device by device while
// a run visits every device (the full evaluation) instead of keeping millions of rows: one
// tally per thread, fed whole devices, merged by finish_report(). Small per-person arrays,
// a few counters and only the names of failing devices of mandatory-scope people are kept.
// finish_report(in, tallies) == build_report() of the same devices (in `order`, i.e. id
// order) and findings (per device in rule-id order) without history. Not thread-safe: one
// tally per thread; the shared person_level must outlive it.
class ReportTally {
 public:
  // person_level[p] = campaign.level_for(people[p].org_unit_path).
  ReportTally(const Document& campaign, const std::vector<std::optional<Level>>& person_level);
  // One device: begin(), its finding rows, end(), devices in any order. `order` is unique per
  // device and increases with its id across all tallies of a run; `owner` indexes the people
  // (kNone when none).
  void begin(uint64_t order, uint32_t owner, std::string_view id, std::string_view os_family,
             std::string_view os_version, std::string_view model, std::string_view org_unit_path);
  void finding(uint16_t rule, RuleStatus status, const std::optional<Time>& first_failed_at);
  void end();

 private:
  friend Report finish_report(const ReportInput& in, const std::vector<const ReportTally*>& tallies);
  struct Platform {
    std::string family;
    int64_t devices = 0, noncompliant = 0;
    uint64_t first = 0;  // order of its first device in scope
  };
  struct Counts {
    int64_t devices = 0, noncompliant = 0, exempt = 0;
  };
  struct Failing {  // a failing device of a mandatory-scope person, for the overdue list
    uint64_t order = 0;
    uint32_t owner = kNone;
    std::string name;  // "model (family version)"
    uint32_t rules_begin = 0, rules_end = 0;  // into fail_rules
  };
  const Document& c_;
  const std::vector<std::optional<Level>>& person_level_;
  std::vector<std::array<int64_t, 5>> rules_;  // per rule: pass fail exempt unknown n/a
  std::vector<uint8_t> p_state_, p_exempt_;
  std::vector<int32_t> p_dev_, p_dnc_, p_dex_;
  std::vector<int64_t> p_first_fail_;  // unix seconds; INT64_MAX = none
  std::vector<Platform> platforms_;
  size_t last_ = 0;  // index of the last platform found
  std::map<std::string, Counts, std::less<>> unowned_;  // by the device's own unit
  std::vector<Failing> failing_;
  std::vector<uint16_t> fail_rules_;
  int64_t devices_ = 0, devices_noncompliant_ = 0;
  // the current device
  uint64_t order_ = 0;
  uint32_t owner_ = kNone;
  std::string_view id_, family_, version_, model_, unit_;
  uint8_t state_ = 0;
  bool any_ = false, exempt_ = false;
  size_t rules_at_ = 0;
};
// The report of the tallied devices (history empty: no burn-down); `in` gives the campaign,
// units, people, now and tz (its devices, findings and history are not used).
Report finish_report(const ReportInput& in, const std::vector<const ReportTally*>& tallies);

// The projection build_report() makes from its burn-down (the method is stated in the
// result); for a report assembled from stored daily points.
Projection project_burndown(const std::vector<BurnPoint>& pts, Time deadline, Time now);

enum class Lang { ru, en };
std::optional<Lang> parse_lang(std::string_view s) noexcept;
// The message catalogue: key -> text in `lang` (the key itself when missing).
std::string_view tr(Lang lang, std::string_view key) noexcept;
// tr() with its "%N" replaced by n; whether the catalogue has `key` (in every language).
std::string tr_n(Lang lang, std::string_view key, int64_t n);
bool has_message(std::string_view key) noexcept;
// "N <noun>" with the noun in the form the number takes ("1 сотрудник", "3 сотрудника",
// "5 сотрудников"; "1 person", "2 people"): the catalogue's `key`.one / .few / .many
// (e.g. "n.day", "n.person"; English uses .one and .many).
std::string tr_count_of(Lang lang, std::string_view key, int64_t n);
// tr_count_of() for `noun` "people" or "devices".
std::string tr_count(Lang lang, std::string_view noun, int64_t n);
// A rule's severity as the reader's language names it ("critical" / "критическая").
std::string_view tr_severity(Lang lang, Severity s) noexcept;

std::string render_table(const Report& r, Lang lang, const TimeZone& tz);
std::string render_json(const Report& r, const TimeZone& tz);
// CSV: one table with one header row per file (RFC 4180: CRLF, quotes doubled, UTF-8, numbers
// with a '.'), the header in `lang`; `bom` puts a UTF-8 byte-order mark first (Excel needs it
// to read Cyrillic). burndown and overdue exist for a campaign only (empty for a policy).
enum class CsvTable { units, rules, platforms, burndown, overdue };
std::optional<CsvTable> parse_csv_table(std::string_view s) noexcept;
struct CsvOptions {
  CsvTable table = CsvTable::units;
  bool bom = false;
};
std::string render_csv(const Report& r, Lang lang, const TimeZone& tz, const CsvOptions& opt = {});
std::string render_html(const Report& r, Lang lang, const TimeZone& tz);

}  // namespace fw::policy
