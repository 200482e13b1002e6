-- 0005: fleetward-agent state (issue 6): enrolment secrets, device credentials, the per-device
-- report sequence and facts hash, and the queued commands with their results.
-- Replaces the interim "agent.*" rows of the settings table, which only development
-- databases of the first agent session hold (nothing was deployed): they are not copied,
-- and such devices enrol again.
CREATE TABLE agent_enroll_secrets (
  secret_hash   key_text PRIMARY KEY,     -- hex SHA-256 of the secret; the secret is never stored
  org_unit_path key_text NOT NULL,
  created_by    TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL,
  max_uses      BIGINT NOT NULL,
  used          BIGINT NOT NULL
);

-- One row per enrolled device: the report sequence (last committed seq) and the hash of the
-- stored facts, so an unchanged report rewrites only this row. seen_at is the last_seen
-- last written to the devices row (refreshed at most once a minute by check-ins).
CREATE TABLE agent_devices (
  device_id     key_text PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  hardware_id   TEXT NOT NULL,
  org_unit_path TEXT NOT NULL,
  enrolled_at   BIGINT NOT NULL,
  last_seq      BIGINT NOT NULL,
  last_checkin  BIGINT,
  seen_at       BIGINT NOT NULL,
  facts_hash    TEXT NOT NULL,            -- "" until the first report
  has_commands  INTEGER NOT NULL,         -- 1: open commands may exist (set on queueing)
  revoked_at    BIGINT                    -- set with the credentials' revoked_at
);

CREATE TABLE agent_credentials (
  credential_hash key_text PRIMARY KEY,   -- hex SHA-256 of the credential
  device_id       key_text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  created_at      BIGINT NOT NULL,
  revoked_at      BIGINT                  -- NULL while valid
);
CREATE INDEX agent_credentials_device ON agent_credentials (device_id);

-- Commands for devices: queued -> sent (in a check-in answer) -> done | failed (the agent's
-- result). result_json is the agent's result object, "" until it arrives.
CREATE TABLE agent_commands (
  id           key_text PRIMARY KEY,
  device_id    key_text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  type         TEXT NOT NULL,
  payload_json TEXT NOT NULL,
  created_by   TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  state        TEXT NOT NULL,
  sent_at      BIGINT,
  finished_at  BIGINT,
  result_json  TEXT NOT NULL
);
CREATE INDEX agent_commands_device ON agent_commands (device_id, created_at);
-- Open commands (queued or sent) per device: what a check-in answer carries.
CREATE INDEX agent_commands_open ON agent_commands (device_id, state);
