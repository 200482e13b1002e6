-- 0003: policy documents (versioned), findings (current state), finding history, exemptions.
CREATE TABLE policy_docs (
  id          key_text NOT NULL,
  version     BIGINT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('policy', 'campaign')),
  source      TEXT NOT NULL,
  source_name TEXT NOT NULL,
  applied_at  BIGINT NOT NULL,
  applied_by  TEXT NOT NULL,
  active      INTEGER NOT NULL,
  PRIMARY KEY (id, version)
);

-- Current result per (device, rule); derived data, so it goes with its device.
CREATE TABLE findings (
  device_id         key_text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  rule_key          key_text NOT NULL,
  person_id         key_text NOT NULL,
  policy_id         key_text NOT NULL,
  status            TEXT NOT NULL,
  severity          TEXT NOT NULL,
  detail            TEXT NOT NULL,
  first_failed_at   BIGINT,
  last_evaluated_at BIGINT NOT NULL,
  status_since      BIGINT NOT NULL,
  PRIMARY KEY (device_id, rule_key)
);
CREATE INDEX findings_policy ON findings (policy_id, device_id, rule_key);
CREATE INDEX findings_person ON findings (person_id);

-- Status changes, kept forever (no foreign keys: history outlives devices and people).
CREATE TABLE finding_changes (
  id        BIGINT PRIMARY KEY,
  device_id key_text NOT NULL,
  person_id key_text NOT NULL,
  policy_id key_text NOT NULL,
  rule_key  key_text NOT NULL,
  status    TEXT NOT NULL,
  at        BIGINT NOT NULL
);
CREATE INDEX finding_changes_policy_at ON finding_changes (policy_id, at, id);

CREATE TABLE exemptions (
  id         key_text PRIMARY KEY,
  person_id  key_text REFERENCES people (id) ON DELETE CASCADE,
  device_id  key_text REFERENCES devices (id) ON DELETE CASCADE,
  policy_id  key_text NOT NULL,
  rule_id    TEXT NOT NULL,
  reason     TEXT NOT NULL,
  approver   TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  CHECK ((person_id IS NULL) <> (device_id IS NULL))
);
CREATE INDEX exemptions_policy ON exemptions (policy_id);
