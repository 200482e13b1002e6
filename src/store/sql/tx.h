// Private to store/: SqlTx, the one implementation of store::Tx over a sql::Conn, shared by
// the SQLite and PostgreSQL drivers (the SQL is portable; see migrations/). Its methods live
// in one file per entity group: tx_inventory.cpp, tx_audit.cpp, tx_policy.cpp,
// tx_sightings.cpp; a new group (e.g. agent credentials) adds tx_<group>.cpp + a migration.
// A SqlTx belongs to the thread running the transaction callback.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "store/sql/db.h"
#include "store/store.h"

namespace fw::store::sql {

// A list's sort order and position for keyset pagination (PageRequest::sort, ::cursor),
// built by Keyset::make from the list's sortable fields (tx_sort.cpp).
struct SortCol {
  std::string_view sql;  // "d.last_seen"
  bool integer = false;  // bound and encoded as an integer
};
struct SortField {
  std::string_view name;        // "last_seen"
  std::vector<SortCol> cols;    // most significant first, ending with the unique key
};
class Keyset {
 public:
  // sort: "" (fields[0], the list's default order), "name" or "-name"; cursor: "" or from
  // cursor_after(). invalid_argument naming "sort" or "cursor" when they do not fit.
  static Result<Keyset> make(std::string_view sort, std::string_view cursor, const std::vector<SortField>& fields);
  // The list's default order from the start (scans).
  static Keyset first(const SortField& field);
  // Appends the "after the cursor" condition to a WHERE clause (" WHERE "/" AND ").
  void add_after(std::string& where, std::vector<Param>& ps) const;
  // "a DESC, b DESC" (no ORDER BY keyword).
  std::string order_by() const;
  // "a, b": the sort columns, for the select list (read back by key_of).
  std::string select_cols() const;
  size_t ncols() const { return field_.cols.size(); }
  // The key of the row whose sort columns start at column `first` of r.
  std::vector<std::string> key_of(const Row& r, int first) const;
  // The cursor after a row with this key.
  std::string cursor_after(const std::vector<std::string>& key) const;
  // Moves the position to after this key (scans).
  void set_after(std::vector<std::string> key) { after_ = std::move(key); }

 private:
  bool named() const { return desc_ || !default_; }
  std::string canonical() const { return (desc_ ? "-" : "") + std::string(field_.name); }

  SortField field_;
  bool desc_ = false;
  bool default_ = false;            // field_ is the list's default order
  std::vector<std::string> after_;  // the last row's key; empty = from the start
};

class SqlTx final : public Tx {
 public:
  explicit SqlTx(Conn& c) : c_(c) {}

  // The first database error of this transaction, if any: once a statement has failed the
  // transaction is doomed on both engines (PostgreSQL aborts it anyway), so every later
  // call fails with the same error and the driver rolls back even if the callback succeeds.
  const std::optional<Error>& doomed() const { return doomed_; }

  Status put_org_unit(const model::OrgUnit& u) override;
  Result<model::OrgUnit> get_org_unit(std::string_view id) override;
  Result<model::OrgUnit> get_org_unit_by_path(std::string_view path) override;
  Status delete_org_unit(std::string_view id) override;
  Result<Page<model::OrgUnit>> list_org_units(const OrgUnitFilter& f, const PageRequest& p) override;

  Status put_person(const model::Person& p) override;
  Result<model::Person> get_person(std::string_view id) override;
  Result<model::Person> find_person(std::string_view login_or_email) override;
  Status delete_person(std::string_view id) override;
  Result<Page<model::Person>> list_people(const PersonFilter& f, const PageRequest& p) override;

  Status put_device(const model::Device& d) override;
  Result<model::Device> get_device(std::string_view id) override;
  Status delete_device(std::string_view id) override;
  Result<Page<model::Device>> list_devices(const DeviceFilter& f, const PageRequest& p) override;
  Status scan_devices(const DeviceFilter& f, const std::function<Status(const model::Device&)>& fn) override;
  Result<int64_t> count_devices(const DeviceFilter& f) override;

  Result<model::AuditEvent> append_audit(model::AuditEvent e) override;
  Result<Page<model::AuditEvent>> list_audit(const PageRequest& p) override;
  Result<int64_t> verify_audit_chain() override;

  Status put_token(const model::ApiToken& t) override;
  Result<model::ApiToken> find_token_by_hash(std::string_view secret_hash) override;
  // tx_tokens.cpp
  Result<std::vector<model::ApiToken>> list_tokens() override;
  Result<model::ApiToken> get_token(std::string_view id) override;
  Result<int64_t> revoke_token(std::string_view id) override;

  // tx_sessions.cpp
  Status put_web_session(const WebSession& s) override;
  Result<WebSession> find_web_session(std::string_view id_hash, Time now) override;
  Status delete_web_session(std::string_view id_hash) override;
  Result<int64_t> delete_web_sessions_of_token(std::string_view token_id) override;
  Result<int64_t> purge_web_sessions(Time now) override;

  Result<PolicyDoc> put_policy(PolicyDoc d) override;
  Result<PolicyDoc> get_policy(std::string_view id) override;
  Result<std::vector<PolicyDoc>> list_policies(bool active_only) override;

  Status put_findings(const std::vector<Finding>& fs) override;
  Status add_finding_changes(const std::vector<FindingChange>& cs) override;
  Result<Page<Finding>> list_findings(const FindingFilter& f, const PageRequest& p) override;
  Status scan_findings(const FindingFilter& f, const std::function<Status(const Finding&)>& fn) override;
  Status scan_finding_changes(std::string_view policy_id,
                              const std::function<Status(const FindingChange&)>& fn) override;
  Status delete_findings_for_device(std::string_view device_id) override;
  Status delete_findings(const std::vector<Finding>& keys) override;
  Status read_eval_batch(std::string_view after_id, int limit, std::string_view policy_id,
                         std::vector<model::Device>& devices, std::vector<Finding>& findings) override;
  Result<std::vector<std::string>> device_boundaries(int64_t every) override;
  Status read_eval_slice(std::string_view after_id, int limit, std::string_view policy_id,
                         std::vector<model::Device>& devices, std::vector<EvalDigest>& digests,
                         bool with_apps = true) override;
  Status read_eval_people(std::vector<model::Person>& people) override;
  Status read_eval_findings(const std::vector<std::string>& device_ids, std::string_view policy_id,
                            std::vector<Finding>& findings) override;
  Status write_eval(const EvalWrite& w) override;

  Status scan_failing_people(std::string_view policy_id,
                             const std::function<Status(const FailingPerson&)>& fn) override;
  Result<std::vector<FailingGroup>> failing_people_groups(std::string_view policy_id) override;
  Result<FailingPeoplePage> failing_people_page(std::string_view policy_id, std::string_view from, bool inclusive,
                                                int limit) override;
  Status put_campaign_snapshot(const CampaignSnapshot& s) override;
  Result<CampaignSnapshot> get_campaign_snapshot(std::string_view policy_id) override;
  Status put_burndown(std::string_view policy_id, const std::vector<BurnDay>& days) override;
  Result<std::vector<BurnDay>> list_burndown(std::string_view policy_id) override;

  // tx_history.cpp
  Status scan_device_spans(model::DeviceType type,
                           const std::function<Status(std::string_view, Time, Time)>& fn) override;
  Result<Page<Finding>> list_findings_view(const FindingFilter& f, const PageRequest& p) override;
  Result<std::vector<FindingChange>> list_device_finding_changes(std::string_view device_id, int limit) override;

  Status put_exemption(const Exemption& e) override;
  Result<Exemption> get_exemption(std::string_view id) override;
  Status delete_exemption(std::string_view id) override;
  Result<std::vector<Exemption>> list_exemptions(std::string_view policy_id) override;

  Status put_sightings(const std::vector<model::Sighting>& s) override;
  Result<std::vector<model::Sighting>> list_sightings(std::string_view device_id, std::string_view person_id,
                                                      int limit) override;

  Result<std::vector<model::Sighting>> list_activesync_sightings() override;
  Status put_exchange_device(const ExchangeDevice& d) override;
  Result<ExchangeDevice> get_exchange_device(std::string_view activesync_id) override;

  Status put_agent_secret(const AgentSecret& s) override;
  Result<AgentSecret> get_agent_secret(std::string_view secret_hash) override;
  Status put_agent_device(const AgentDevice& d) override;
  Result<AgentDevice> get_agent_device(std::string_view device_id) override;
  Status update_agent_device_report(const AgentDevice& d) override;
  Status log_agent_heartbeats(std::span<const AgentHeartbeat> rows) override;
  Status fold_agent_heartbeats(std::span<const AgentHeartbeat> rows) override;
  Status delete_agent_log(int64_t after_id, int64_t upto_id) override;
  Result<int64_t> fold_agent_log_all() override;
  Result<int64_t> sqlite_data_version() override;
  Status put_agent_credential(std::string_view credential_hash, std::string_view device_id, Time at) override;
  Result<std::string> find_agent_credential(std::string_view credential_hash) override;
  Result<int64_t> revoke_agent_device(std::string_view device_id, Time at) override;
  Status apply_agent_report(const AgentReportWrite& w, std::string_view device_id, Time now) override;
  Result<std::string> get_device_facts_json(std::string_view device_id) override;
  Result<std::vector<model::App>> get_device_apps(std::string_view device_id) override;
  Status put_agent_command(const AgentCommand& c) override;
  Result<AgentCommand> get_agent_command(std::string_view id) override;
  Result<std::vector<AgentCommand>> list_agent_commands(std::string_view device_id, bool open_only,
                                                        int limit) override;

  Status put_setting(std::string_view key, std::string_view value) override;
  Result<std::string> get_setting(std::string_view key) override;

 private:
  // Statement helpers that doom the transaction on a database error.
  Result<int64_t> exec(std::string_view sql, std::span<const Param> ps);
  Result<int64_t> exec(std::string_view sql, std::initializer_list<Param> ps) {
    return exec(sql, std::span<const Param>(ps.begin(), ps.size()));
  }
  Status query(std::string_view sql, std::span<const Param> ps, const RowFn& fn);
  Status query(std::string_view sql, std::initializer_list<Param> ps, const RowFn& fn) {
    return query(sql, std::span<const Param>(ps.begin(), ps.size()), fn);
  }
  // Inserts n rows with multi-row INSERTs of 64, 16, 4 and 1 rows (a few statements instead
  // of n; each text is prepared once per connection). head is "INSERT INTO t (c1, ..., cK)
  // VALUES " with `columns` = K; row(i, ps) appends row i's K parameters to ps.
  Status insert_rows(std::string_view head, size_t columns, size_t n,
                     const std::function<void(size_t, std::vector<Param>&)>& row);
  // Runs a query expected to give at most one row; not_found (naming `what`) if none.
  Status query_one(std::string_view sql, std::initializer_list<Param> ps, std::string_view what,
                   const RowFn& fn);

  // Runs fn (one page-sized join query) with PostgreSQL's hash and merge joins switched off
  // for the transaction, then restores them; on SQLite just runs fn. The store's one
  // planner hint: for a page of ~1,000 rows PostgreSQL's cost model prefers hashing the
  // whole joined table (a sequential scan per page, so walking the fleet is quadratic) to
  // 1,000 index probes, which measure 20x faster.
  Status nested_loops(const std::function<Status()>& fn);

  // Devices: one page of up to `limit` devices after the keyset position `ks` (in its
  // order), with apps. With `page`: also each device's sort key (for the cursor) and the
  // owners' names (a join) into page->person_names.
  Status device_page(const DeviceFilter& f, const Keyset& ks, int limit, std::vector<model::Device>& out,
                     std::vector<std::vector<std::string>>* keys = nullptr, Page<model::Device>* page = nullptr);
  // The same in id order after `after_id` ("" = from the start).
  Status device_page(const DeviceFilter& f, std::string_view after_id, int limit, std::vector<model::Device>& out);
  // Evaluation slices (tx_eval.cpp): devices with id > after_id in id order, with apps (unless
  // !with_apps).
  Status eval_devices(std::string_view after_id, int limit, std::vector<model::Device>& devices,
                      bool with_apps = true);
  // Upserts one finding (put_findings without touching the digests).
  Status upsert_finding(const Finding& f);
  // Makes the digests of these devices unknown (rows of `policy_ids` are created as unknown).
  Status invalidate_digests(std::string_view device_id, std::span<const std::string_view> policy_ids);
  Status finding_page(const FindingFilter& f, std::string_view after_device, std::string_view after_rule,
                      int limit, std::vector<Finding>& out);

  Conn& c_;
  std::optional<Error> doomed_;
};

// Helpers shared by the tx_*.cpp files.
int clamp_limit(int limit);
std::string escape_like(std::string_view s);  // escapes \ % _ for LIKE ... ESCAPE '\'
// Lower-cases UTF-8 text: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic letters (the
// scripts of our users); other characters unchanged. Used for case-insensitive search keys.
std::string fold_case(std::string_view s);
// Opaque cursors: the keys of the last item of a page, hex-encoded.
std::string encode_cursor(const std::vector<std::string>& keys);
Result<std::vector<std::string>> decode_cursor(std::string_view cursor, size_t nkeys);
// Appends "(<col> = ? OR <col> LIKE ? ESCAPE '\')" for an org-unit path subtree; stores the
// two parameter texts in `texts` (a deque: its elements never move).
void add_subtree_condition(std::string& where, std::string_view col, std::string_view subtree,
                           std::deque<std::string>& texts, std::vector<Param>& ps);
// The WHERE conditions of a FindingFilter over "findings f" (and the join to people p for a
// subtree), appended like add_subtree_condition (tx_policy.cpp).
void add_finding_conditions(const FindingFilter& f, std::string& join, std::string& where,
                            std::deque<std::string>& texts, std::vector<Param>& ps);
// A text-search condition on rows of `table` ("devices" or "people") named `alias` in the
// query: one SQL condition with one parameter (tx_search.cpp). scan: the LIKE scan even when
// the search index could answer (tests compare both).
struct SearchCond {
  std::string sql;
  std::string param;
  bool indexed = false;  // false: the LIKE scan of alias.search_key
};
SearchCond search_condition(Dialect d, std::string_view table, std::string_view alias, std::string_view search,
                            bool scan);
// A sightings row selected with kSightingColumns, in that order (tx_sightings.cpp).
extern const std::string_view kSightingColumns;
model::Sighting sighting_from_row(const Row& r);
// A devices row selected with kDeviceColumns (columns of "devices d"), in that order
// (tx_inventory.cpp).
extern const std::string_view kDeviceColumns;
Result<model::Device> device_from_row(const Row& r);
// An api_tokens row selected with kTokenColumns, in that order (tx_tokens.cpp).
extern const std::string_view kTokenColumns;
Result<model::ApiToken> token_from_row(const Row& r);

// Runs fn on a transaction that the driver has already begun on c, then commits if fn
// succeeded and the transaction is not doomed, else rolls back and returns the error. An
// exception from fn rolls back and propagates. Both drivers end every transaction here.
Status finish_transaction(Conn& c, const std::function<Status(Tx&)>& fn);

}  // namespace fw::store::sql
