-- 0004: sightings of clients in access logs, one row per (user as logged, fingerprint).
CREATE TABLE sightings (
  user_name     key_text NOT NULL,
  fingerprint   key_text NOT NULL,
  person_id     key_text NOT NULL,
  device_id     key_text NOT NULL,
  user_agent    TEXT NOT NULL,
  activesync_id TEXT NOT NULL,
  client_ip     TEXT NOT NULL,
  os_family     TEXT NOT NULL,
  os_version    TEXT NOT NULL,
  vendor        TEXT NOT NULL,
  model         TEXT NOT NULL,
  type          TEXT NOT NULL,
  first_seen    BIGINT NOT NULL,
  last_seen     BIGINT NOT NULL,
  count         BIGINT NOT NULL,
  PRIMARY KEY (user_name, fingerprint)
);
CREATE INDEX sightings_device ON sightings (device_id, last_seen);
CREATE INDEX sightings_person ON sightings (person_id, last_seen);
CREATE INDEX sightings_last_seen ON sightings (last_seen);
