-- 0007: the dashboard (issue 7): sign-in sessions that survive a restart, the finding
-- history of one device, and the indexes behind the lists' sort orders (keyset pages in
-- (sort column(s), id) order read an index range instead of sorting every row).

-- One row per signed-in browser. The cookie value itself is never stored, only its hash;
-- the session's name, role and scope are the token's, read through the join, so that a
-- revoked or deleted token ends its sessions at once.
CREATE TABLE web_sessions (
  id_hash    key_text PRIMARY KEY,     -- hex SHA-256 of the cookie value
  csrf       TEXT NOT NULL,            -- sent back by the page in X-CSRF-Token
  token_id   key_text NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL           -- never later than the token's own expiry
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
CREATE INDEX web_sessions_token ON web_sessions (token_id);

-- A device's finding history, newest first.
CREATE INDEX finding_changes_device_at ON finding_changes (device_id, at, id);

-- Sort orders of GET /api/v1/devices (?sort=model|os|type|source|managed|last_seen).
CREATE INDEX devices_model_sort ON devices (model, id);
CREATE INDEX devices_os_sort ON devices (os_family, os_version, id);
CREATE INDEX devices_type_sort ON devices (type, id);
CREATE INDEX devices_source_sort ON devices (source, id);
CREATE INDEX devices_managed_sort ON devices (managed, id);
CREATE INDEX devices_last_seen_sort ON devices (last_seen, id);

-- Sort orders of GET /api/v1/people (?sort=name|email|org_unit).
CREATE INDEX people_name_sort ON people (name, id);
CREATE INDEX people_email_sort ON people (email, id);
CREATE INDEX people_org_unit_sort ON people (org_unit_path, name, id);

-- Sort orders of GET /api/v1/findings (?sort=rule_key|status|status_since; the default is
-- the primary key, device then rule). "status" orders by status, then status_since, so the
-- same index also serves the common "status = fail, by status_since" page.
CREATE INDEX findings_rule_sort ON findings (rule_key, device_id);
CREATE INDEX findings_status_sort ON findings (status, status_since, device_id, rule_key);
CREATE INDEX findings_since_sort ON findings (status_since, device_id, rule_key);
