// The Store: fleetward's persistent state behind one interface, with SQLite (embedded
// default) and PostgreSQL implementations that callers cannot tell apart.
//
// Use: auto store = Store::open("/var/lib/fleetward/fleetward.db") or
// Store::open("postgresql://user@host/db"). All work happens inside explicit transactions:
//   store->write([&](Tx& tx) -> Status { ...; return {}; });   // commits on success, rolls back on error
//   store->read([&](Tx& tx) -> Status { ... });                 // a consistent read snapshot
// A Store is thread-safe (it hands each transaction its own connection or serialises them);
// a Tx belongs to the thread running the callback and must not escape it. A callback must
// not call write()/read() on the same Store (SQLite: the writer mutex would deadlock;
// PostgreSQL: nested transactions could exhaust the pool); use the Tx it was given.
// Errors: not_found for a missing entity on get/update/delete, already_exists for a taken
// unique key, conflict for a foreign-key or state violation, io_error/unavailable for the
// database itself. A failed write leaves the database exactly as it was.
// Once a statement of a transaction fails in the database (a constraint error, I/O), the
// transaction is doomed on both backends: later calls on that Tx return the same error and
// write() rolls back and returns it even if the callback returns success. Lookups that
// merely find nothing (not_found) do not doom it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.h"
#include "util/error.h"

namespace fw::store {

// Keyset pagination: items come in a stable order (by id); `cursor` is opaque text from a
// previous page's next_cursor ("" = from the start). limit is clamped to [1, 1000].
// sort: "" = the list's default order (by id); "field" ascending, "-field" descending, ties
// broken by the id so that pages stay stable. Each list method names the fields it accepts;
// another is invalid_argument (where "sort") naming it. A cursor is only valid with the
// sort it was made for (invalid_argument, where "cursor", otherwise).
struct PageRequest {
  std::string cursor;
  int limit = 100;
  std::string sort;
};

template <class T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;  // "" when this is the last page
  // Display names of what the items refer to, from the list query's own joins (no query per
  // item): list_devices fills person_names (owners); list_people person_names (managers) and
  // org_unit_names (by path); list_findings_view person_names and device_labels ("vendor
  // model"). Ids whose entity is gone are absent. Other lists leave them empty.
  std::map<std::string, std::string, std::less<>> person_names, org_unit_names, device_labels;
};

struct OrgUnitFilter {
  std::string subtree;  // path; "" = all
};

struct PersonFilter {
  std::string subtree;   // org-unit path subtree; "" = all
  std::string search;    // case-insensitive substring of name, e-mail or login; "" = all
  std::string manager_id;
  bool search_scan = false;  // search by scanning, not the search index (same rows; for tests)
};

struct DeviceFilter {
  std::string subtree;    // org-unit subtree of the owner's unit, else the device's own; "" = all
  std::string owner_id;
  std::string os_family;  // exact canonical family
  std::optional<model::DeviceType> type;
  std::optional<model::DeviceSource> source;
  std::optional<bool> managed;
  std::optional<Time> seen_before, seen_after;  // last_seen < before, last_seen >= after
  std::string search;     // case-insensitive substring of id, model, vendor, owner name/e-mail
  bool search_scan = false;  // search by scanning, not the search index (same rows; for tests)
};

// A stored policy or campaign document: the YAML text as applied, versioned.
struct PolicyDoc {
  std::string id;         // the document's id: "replace-ios"
  std::string kind;       // "policy" | "campaign"
  int64_t version = 0;    // 1, 2, ... assigned by the store on put
  std::string source;     // YAML text
  std::string source_name;  // file name it came from
  Time applied_at{};
  std::string applied_by;
  bool active = true;     // false once withdrawn
};

enum class FindingStatus { pass, fail, exempt, unknown };
std::string_view to_string(FindingStatus s) noexcept;
std::optional<FindingStatus> parse_finding_status(std::string_view s) noexcept;

// The current result of one rule on one device. Key: (device_id, rule_key).
struct Finding {
  std::string device_id;
  std::string person_id;      // owner at evaluation time; may be ""
  std::string policy_id;      // document id (policy or campaign)
  std::string rule_key;       // "<policy_id>/<rule_id>"
  FindingStatus status = FindingStatus::unknown;
  std::string severity;       // low|medium|high|critical
  std::string detail;         // evaluation error text for unknown; exemption id for exempt
  std::optional<Time> first_failed_at;  // set when status became fail; kept while failing
  Time last_evaluated_at{};
  Time status_since{};        // when the current status began
};

// One status change of a finding, kept forever: the state on any past day is the latest
// change at or before that day.
struct FindingChange {
  std::string device_id;
  std::string person_id;
  std::string policy_id;
  std::string rule_key;
  FindingStatus status = FindingStatus::unknown;
  Time at{};
};

struct FindingFilter {
  std::string policy_id;
  std::string rule_key;
  std::string device_id;
  std::string person_id;
  std::string subtree;  // org-unit subtree of the owner's unit, else the device's own
  std::optional<FindingStatus> status;
};

// The campaign report's aggregates as of a full evaluation (the service encodes body).
struct CampaignSnapshot {
  std::string policy_id;
  int64_t version = 0;  // the document version that was evaluated
  Time evaluated_at{};
  std::string body;
};
// One day of a campaign's burn-down: day = the UTC instant of the local midnight starting it.
struct BurnDay {
  Time day{};
  int64_t people = 0, devices = 0;
};

// The digest of one document's results on one device as its last evaluation left them in
// findings (migration 0011; see service/evaluate.cpp). digest nullopt = unknown (another write
// of the device's findings since); gen 0 = no row. notes: the evaluation's own encoding.
struct EvalDigest {
  std::string device_id;
  std::string policy_id;
  std::optional<uint64_t> digest;
  int64_t gen = 0;
  std::string notes;
};
// What an evaluation writes for some devices, in one transaction (Tx::write_eval).
struct EvalWrite {
  std::vector<Finding> writes;          // upserted
  std::vector<Finding> deletes;         // by (device_id, rule_key)
  std::vector<FindingChange> changes;   // history
  // Set when the row's gen is still the gen given (0: there is still no row), else ignored.
  std::vector<EvalDigest> digests;
  // Rows of documents no longer evaluated: deleted when their gen is still the gen given.
  std::vector<EvalDigest> drops;
};

// A person with at least one failing finding of a document (campaign actions).
struct FailingPerson {
  std::string person_id;
  std::string org_unit_path;
  std::optional<Time> first_failed_at;  // the earliest among their failing findings
};
// A keyset page of failing people (Tx::failing_people_page). `last` is the last person id the
// page read (people missing from the people table are read but not returned, as in
// scan_failing_people); `end`: nobody follows it.
struct FailingPeoplePage {
  std::vector<FailingPerson> people;
  std::string last;
  bool end = false;
};
// How many failing people share a unit and a first failure (Tx::failing_people_groups).
struct FailingGroup {
  std::string org_unit_path;
  std::optional<Time> first_failed_at;
  int64_t people = 0;
};

struct Exemption {
  std::string id;
  std::string person_id;   // exactly one of person_id / device_id is set
  std::string device_id;
  std::string policy_id;   // campaign or policy id; with rule_id "" it covers the whole document
  std::string rule_id;
  std::string reason;
  std::string approver;
  Time created_at{};
  Time expires_at{};       // exemption applies while now < expires_at
};

// One row of Exchange's mobile-device export (Get-MobileDevice), keyed by the ActiveSync
// device id (upper-cased). raw_* is what Exchange wrote; the rest is fleetward's reading.
struct ExchangeDevice {
  std::string activesync_id;
  std::string user;        // as exported (UPN, login or display name)
  std::string person_id;   // "" if no person matched
  std::string device_id;   // inventory device it resolved or created; "" if none
  std::string raw_os, raw_model, raw_type, raw_user_agent;
  std::string os_family, os_version, vendor, model;
  model::DeviceType type = model::DeviceType::other;
  Time imported_at{};
};

// A dashboard sign-in session as stored (the cookie value itself never is, only its hash).
struct WebSession {
  std::string id_hash;   // hex SHA-256 of the cookie value
  std::string csrf;      // the CSRF token the page sends back
  std::string token_id;  // the API token it was made from
  Time created_at{};
  Time expires_at{};
  // The token's, filled by find_web_session (ignored by put_web_session).
  std::string token_name;
  model::Role role = model::Role::admin;
  std::string scope_path;
};

// fleetward-agent state (migration 0005; service/checkin.h). Hashes are hex SHA-256.
struct AgentSecret {
  std::string secret_hash;
  std::string org_unit_path;
  std::string created_by;
  Time created_at{};
  Time expires_at{};
  int64_t max_uses = 0;
  int64_t used = 0;
};

struct AgentDevice {
  std::string device_id;
  std::string hardware_id;
  std::string org_unit_path;
  Time enrolled_at{};
  int64_t last_seq = 0;                 // last committed report
  std::optional<Time> last_checkin;
  Time seen_at{};                       // devices.last_seen as last written by check-ins
  std::string facts_hash;               // of the stored facts ("" before the first report)
  std::optional<Time> revoked_at;
  bool has_commands = false;            // open commands may exist: a check-in looks them up
};

// A heartbeat in the check-in log (migration 0013, SQLite's check-in writer): the device's
// report seq and time, under an id the writer gives in increasing order.
struct AgentHeartbeat {
  int64_t id = 0;
  std::string_view device_id;
  int64_t seq = 0;
  Time at{};
};

// A command queued for a device. state: queued -> sent -> done | failed.
struct AgentCommand {
  std::string id;
  std::string device_id;
  std::string type;          // refresh, message, remove-app, install-app, lock, wipe
  std::string payload_json;  // the "args" object
  std::string created_by;
  Time created_at{};
  std::string state = "queued";
  std::optional<Time> sent_at, finished_at;
  std::string result_json;   // the agent's result object; "" until it arrives
};

// What a check-in changed on the device record (Tx::apply_agent_report). Fields left
// alone: id, owner_id, first_seen, may_be.
struct AgentReportWrite {
  const model::Device* device = nullptr;  // the mapped facts; required when facts_changed
  bool facts_changed = false;   // rewrite the device row's facts columns
  bool apps_changed = false;    // diff device->apps against the stored app rows
  bool touch_seen = false;      // write devices.last_seen = now (no other column)
};

class Tx {
 public:
  virtual ~Tx() = default;

  // Org units. put_* create or replace by id (audit is the caller's job via append_audit).
  virtual Status put_org_unit(const model::OrgUnit& u) = 0;
  virtual Result<model::OrgUnit> get_org_unit(std::string_view id) = 0;
  virtual Result<model::OrgUnit> get_org_unit_by_path(std::string_view path) = 0;
  virtual Status delete_org_unit(std::string_view id) = 0;  // conflict if people or children reference it
  virtual Result<Page<model::OrgUnit>> list_org_units(const OrgUnitFilter& f, const PageRequest& p) = 0;

  // People.
  virtual Status put_person(const model::Person& p) = 0;  // conflict if org unit or manager missing
  virtual Result<model::Person> get_person(std::string_view id) = 0;
  // Finds a person by login or e-mail, case-insensitively; not_found if none.
  virtual Result<model::Person> find_person(std::string_view login_or_email) = 0;
  virtual Status delete_person(std::string_view id) = 0;
  // Sort fields: name, email, org_unit (path, then name); person_names holds the managers,
  // org_unit_names the units of the page.
  virtual Result<Page<model::Person>> list_people(const PersonFilter& f, const PageRequest& p) = 0;

  // Devices (with their apps, replaced as a whole on put).
  virtual Status put_device(const model::Device& d) = 0;  // conflict if owner missing
  virtual Result<model::Device> get_device(std::string_view id) = 0;
  virtual Status delete_device(std::string_view id) = 0;
  // person_names holds the owners of the page.
  virtual Result<Page<model::Device>> list_devices(const DeviceFilter& f, const PageRequest& p) = 0;
  // Streams every device matching f in id order, with apps, without paging; stops early and
  // returns the callback's error if it fails. For evaluation and reports over the whole fleet.
  // Reads in keyset batches of 1,000; fn may use this Tx (e.g. get_person) between devices.
  virtual Status scan_devices(const DeviceFilter& f,
                              const std::function<Status(const model::Device&)>& fn) = 0;
  virtual Result<int64_t> count_devices(const DeviceFilter& f) = 0;
  // For the dashboard's platform mix: every device of type `type`, as (os_family, first_seen,
  // last_seen) only (no apps, no facts), in no particular order, in one statement.
  virtual Status scan_device_spans(model::DeviceType type,
                                   const std::function<Status(std::string_view os_family, Time first_seen,
                                                              Time last_seen)>& fn) = 0;

  // Audit: appends an event, filling seq, prev_hash and hash (hash chain over all events).
  virtual Result<model::AuditEvent> append_audit(model::AuditEvent e) = 0;
  virtual Result<Page<model::AuditEvent>> list_audit(const PageRequest& p) = 0;  // by seq
  // Re-reads the whole audit log in seq order and checks the chain: seqs are 1, 2, 3...
  // without gaps, each prev_hash equals the previous event's hash ("" for the first), each
  // hash is the SHA-256 of the event's canonical serialisation (docs/storage.md), and the
  // newest matches the stored chain head. Returns the number of events verified; fails with
  // Errc::conflict naming the first bad event ("audit seq N") if a row was altered, removed
  // or inserted behind the store's back. Reads only; O(events).
  virtual Result<int64_t> verify_audit_chain() = 0;

  // API tokens.
  virtual Status put_token(const model::ApiToken& t) = 0;
  virtual Result<model::ApiToken> find_token_by_hash(std::string_view secret_hash) = 0;
  // Every token (hash included), oldest first; get: not_found for an unknown id (tx_tokens.cpp).
  virtual Result<std::vector<model::ApiToken>> list_tokens() = 0;
  virtual Result<model::ApiToken> get_token(std::string_view id) = 0;
  // Marks the token revoked and deletes its dashboard sessions; not_found for an unknown id.
  // Returns how many sessions it ended. Revoking twice is not an error.
  virtual Result<int64_t> revoke_token(std::string_view id) = 0;

  // Dashboard sessions. put: inserts (already_exists if the hash is taken, conflict if the
  // token does not exist). find: the session with this hash if it has not expired at `now`
  // and its token is neither revoked nor expired, with the token's name, role and scope;
  // not_found otherwise. delete_web_session ignores an unknown hash. Deleting a token
  // deletes its sessions (foreign key); purge deletes those expired at `now`.
  virtual Status put_web_session(const WebSession& s) = 0;
  virtual Result<WebSession> find_web_session(std::string_view id_hash, Time now) = 0;
  virtual Status delete_web_session(std::string_view id_hash) = 0;
  virtual Result<int64_t> delete_web_sessions_of_token(std::string_view token_id) = 0;  // how many
  virtual Result<int64_t> purge_web_sessions(Time now) = 0;  // how many

  // Policy documents: put stores a new version (version = previous + 1) and returns it.
  virtual Result<PolicyDoc> put_policy(PolicyDoc d) = 0;
  virtual Result<PolicyDoc> get_policy(std::string_view id) = 0;  // latest version
  virtual Result<std::vector<PolicyDoc>> list_policies(bool active_only) = 0;  // latest versions

  // Findings: upsert current results; a status change must also be recorded with
  // add_finding_changes by the caller (the policy engine decides what changed).
  virtual Status put_findings(const std::vector<Finding>& fs) = 0;
  virtual Status add_finding_changes(const std::vector<FindingChange>& cs) = 0;
  virtual Result<Page<Finding>> list_findings(const FindingFilter& f, const PageRequest& p) = 0;
  virtual Status scan_findings(const FindingFilter& f, const std::function<Status(const Finding&)>& fn) = 0;
  virtual Status scan_finding_changes(std::string_view policy_id,
                                      const std::function<Status(const FindingChange&)>& fn) = 0;  // by time
  virtual Status delete_findings_for_device(std::string_view device_id) = 0;
  // Deletes the findings with the (device_id, rule_key) of each element (other fields are
  // ignored); missing ones are skipped. For findings of rules no longer in an active policy.
  virtual Status delete_findings(const std::vector<Finding>& keys) = 0;
  // One slice of the fleet for evaluation: up to `limit` devices with id > after_id in id
  // order, with apps (as scan_devices gives them), and the current findings of exactly those
  // devices (of `policy_id`, "" = all documents) in (device_id, rule_key) order, so a caller
  // merges the two by walking both. Replaces the contents of both vectors; devices comes back
  // empty at the end of the fleet. A few index range reads per call, no whole-table work.
  // The findings carry what evaluation compares: severity and last_evaluated_at are empty.
  virtual Status read_eval_batch(std::string_view after_id, int limit, std::string_view policy_id,
                                 std::vector<model::Device>& devices, std::vector<Finding>& findings) = 0;
  // The same slice without the findings, with the digest rows of those devices (of
  // `policy_id`, "" = all) in (device_id, policy_id) order instead (Tx::write_eval).
  // Without `with_apps` the devices' apps are not read (no rule reads device.apps).
  virtual Status read_eval_slice(std::string_view after_id, int limit, std::string_view policy_id,
                                 std::vector<model::Device>& devices, std::vector<EvalDigest>& digests,
                                 bool with_apps = true) = 0;
  // Every person, in id order (all columns, no joins): the owners and the report's people of a
  // full evaluation, in one query. Replaces the contents of `people`.
  virtual Status read_eval_people(std::vector<model::Person>& people) = 0;
  // The findings (as read_eval_batch gives them) of these devices, ids sorted ascending.
  virtual Status read_eval_findings(const std::vector<std::string>& device_ids, std::string_view policy_id,
                                    std::vector<Finding>& findings) = 0;
  // Writes an evaluation's findings, deletes, history and digests. A device whose findings
  // this writes or deletes keeps a digest only if all of its digests given here were set
  // (compare-and-set); otherwise its rows become unknown. put_findings, delete_findings and
  // delete_findings_for_device likewise make the digests of the devices they touch unknown.
  virtual Status write_eval(const EvalWrite& w) = 0;
  // Ids that cut the devices (in id order) into ranges of `every` devices: the ids at
  // positions every, 2*every, ... (1-based); empty when there are at most `every` devices.
  // For reading the fleet in parallel ranges. One keyset walk of the id index.
  virtual Result<std::vector<std::string>> device_boundaries(int64_t every) = 0;

  // The people (present in people) owning a failing finding of policy_id, by person id:
  // one grouped query over the failing findings, for the campaign timeline.
  virtual Status scan_failing_people(std::string_view policy_id,
                                     const std::function<Status(const FailingPerson&)>& fn) = 0;
  // The same people counted by (org_unit_path, first_failed_at): one row per distinct pair
  // (a handful in practice), for the campaign actions' totals without reading every person.
  virtual Result<std::vector<FailingGroup>> failing_people_groups(std::string_view policy_id) = 0;
  // A keyset page of scan_failing_people: the next `limit` people with person_id > from (>= from
  // when `inclusive`), by person id. Reads only as far along findings_failing as the page needs.
  virtual Result<FailingPeoplePage> failing_people_page(std::string_view policy_id, std::string_view from,
                                                        bool inclusive, int limit) = 0;
  // Campaign report aggregates (see service/reports.h): put replaces the campaign's snapshot;
  // get is not_found when there is none. put_burndown upserts days; list_burndown is by day.
  virtual Status put_campaign_snapshot(const CampaignSnapshot& s) = 0;
  virtual Result<CampaignSnapshot> get_campaign_snapshot(std::string_view policy_id) = 0;
  virtual Status put_burndown(std::string_view policy_id, const std::vector<BurnDay>& days) = 0;
  virtual Result<std::vector<BurnDay>> list_burndown(std::string_view policy_id) = 0;

  // The findings list of the API and dashboard: like list_findings, plus p.sort (fields:
  // device (the default: device, then rule), rule_key, status (then status_since),
  // status_since) and the names
  // of the page's people and devices (Page::person_names, device_labels).
  virtual Result<Page<Finding>> list_findings_view(const FindingFilter& f, const PageRequest& p) = 0;
  // One device's finding history (every status change of its findings), newest first, at
  // most `limit` (clamped to [1, 1000]). Empty, not not_found, for an unknown device: the
  // history outlives devices.
  virtual Result<std::vector<FindingChange>> list_device_finding_changes(std::string_view device_id,
                                                                         int limit) = 0;

  // Exemptions.
  virtual Status put_exemption(const Exemption& e) = 0;
  virtual Result<Exemption> get_exemption(std::string_view id) = 0;
  virtual Status delete_exemption(std::string_view id) = 0;
  virtual Result<std::vector<Exemption>> list_exemptions(std::string_view policy_id) = 0;  // "" = all

  // Sightings from access logs, keyed by (user, fingerprint). put merges into what is
  // stored: count adds up, first_seen takes the minimum, last_seen the maximum, the rest
  // is replaced.
  virtual Status put_sightings(const std::vector<model::Sighting>& s) = 0;
  // By device id or person id ("" = any); newest last_seen first; at most `limit`.
  virtual Result<std::vector<model::Sighting>> list_sightings(std::string_view device_id,
                                                              std::string_view person_id, int limit) = 0;

  // Every sighting that carries an ActiveSync device id (for the Exchange import).
  virtual Result<std::vector<model::Sighting>> list_activesync_sightings() = 0;

  // Exchange mobile devices (tx_exchange.cpp): put creates or replaces by activesync_id;
  // get takes the id in any case; not_found if absent.
  virtual Status put_exchange_device(const ExchangeDevice& d) = 0;
  virtual Result<ExchangeDevice> get_exchange_device(std::string_view activesync_id) = 0;

  // fleetward-agent state (tx_agent.cpp). put_* insert or replace by key; get_* not_found.
  virtual Status put_agent_secret(const AgentSecret& s) = 0;
  virtual Result<AgentSecret> get_agent_secret(std::string_view secret_hash) = 0;
  virtual Status put_agent_device(const AgentDevice& d) = 0;  // conflict if the device is missing
  virtual Result<AgentDevice> get_agent_device(std::string_view device_id) = 0;
  // After a check-in: last_seq, last_checkin, seen_at, facts_hash, has_commands; not_found
  // if the row is gone (the device was deleted).
  virtual Status update_agent_device_report(const AgentDevice& d) = 0;
  // The check-in log (tx_agent_log.cpp, migration 0013): on SQLite a heartbeat is appended
  // there instead of rewriting its agent_devices row, and folded in later, so a row's
  // last_seq / last_checkin may lag: the exact value is the larger of the row's and its log
  // rows'. log_* appends rows (ids increasing); fold_* raises last_seq / last_checkin to the
  // given values where they are larger (a device that is gone is skipped); delete removes
  // the ids in (after_id, upto_id]; fold_agent_log_all folds and deletes every row and
  // returns the largest id it saw (0 for an empty log).
  virtual Status log_agent_heartbeats(std::span<const AgentHeartbeat> rows) = 0;
  virtual Status fold_agent_heartbeats(std::span<const AgentHeartbeat> rows) = 0;
  virtual Status delete_agent_log(int64_t after_id, int64_t upto_id) = 0;
  virtual Result<int64_t> fold_agent_log_all() = 0;
  // SQLite only: PRAGMA data_version of this transaction's connection, which changes when
  // another connection (another process, e.g. the CLI) committed since this one last looked
  // (the check-in writer then drops what it keeps in memory of agent_devices). PostgreSQL:
  // internal error (no such counter; the writer keeps nothing in memory there).
  virtual Result<int64_t> sqlite_data_version() = 0;
  virtual Status put_agent_credential(std::string_view credential_hash, std::string_view device_id, Time at) = 0;
  // The device of a credential that is not revoked; not_found otherwise (unknown or revoked).
  virtual Result<std::string> find_agent_credential(std::string_view credential_hash) = 0;
  // Revokes every credential of the device and marks its agent row; returns how many
  // credentials were valid until now (0: already revoked); not_found if not enrolled.
  virtual Result<int64_t> revoke_agent_device(std::string_view device_id, Time at) = 0;
  // Writes a check-in's facts onto the device row: the facts columns when facts_changed
  // (only those whose value differs, so that unchanged indexed columns keep their entries),
  // the app rows by difference when apps_changed (only added/removed/changed apps are
  // written), devices.last_seen when touch_seen or facts_changed. not_found if the device
  // row is missing.
  virtual Status apply_agent_report(const AgentReportWrite& w, std::string_view device_id, Time now) = 0;
  virtual Result<std::string> get_device_facts_json(std::string_view device_id) = 0;  // not_found
  virtual Result<std::vector<model::App>> get_device_apps(std::string_view device_id) = 0;  // by pos
  // Commands: put inserts or replaces by id (conflict if the device is missing).
  virtual Status put_agent_command(const AgentCommand& c) = 0;
  virtual Result<AgentCommand> get_agent_command(std::string_view id) = 0;
  // A device's commands, oldest first; open_only: state queued or sent. At most `limit`.
  virtual Result<std::vector<AgentCommand>> list_agent_commands(std::string_view device_id, bool open_only,
                                                                int limit) = 0;

  // Small key/value settings (organisation name, time zone, schema facts).
  virtual Status put_setting(std::string_view key, std::string_view value) = 0;
  virtual Result<std::string> get_setting(std::string_view key) = 0;  // not_found if unset
};

class Store {
 public:
  virtual ~Store() = default;

  // Opens (creating if needed) and migrates to the newest schema, all-or-nothing per
  // migration. `url` is a file path (SQLite, WAL) or "postgresql://..." (libpq URI).
  static Result<std::unique_ptr<Store>> open(std::string_view url);

  // Runs fn in one read-write transaction; commits if fn succeeds, else rolls back and
  // returns fn's error. Retries on SQLITE_BUSY / serialization failures internally.
  virtual Status write(const std::function<Status(Tx&)>& fn) = 0;
  // Runs fn in a read-only transaction (a consistent snapshot).
  virtual Status read(const std::function<Status(Tx&)>& fn) = 0;

  virtual int schema_version() const = 0;
  virtual std::string_view backend() const = 0;  // "sqlite" | "postgres"
};

}  // namespace fw::store
