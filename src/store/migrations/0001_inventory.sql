-- 0001: the inventory: org units, people, devices with their apps, API tokens, settings.
-- Portable SQL (SQLite 3.40 and PostgreSQL 15 both run this file as is). Conventions:
--   key_text  : identifiers and paths. SQLite reads it as TEXT (binary order); on PostgreSQL
--               it is a domain over TEXT COLLATE "C", created by the driver before any
--               migration, so both engines order and compare ids bytewise.
--   BIGINT    : instants (Unix seconds, UTC) and counts. INTEGER 0/1: flags.
--   search_key: lower-cased text the store fills in, for case-insensitive search.
CREATE TABLE org_units (
  id        key_text PRIMARY KEY,
  path      key_text NOT NULL UNIQUE,
  name      TEXT NOT NULL,
  kind      TEXT NOT NULL,
  timezone  TEXT NOT NULL
);

CREATE TABLE people (
  id            key_text PRIMARY KEY,
  name          TEXT NOT NULL,
  email         TEXT NOT NULL,
  login         TEXT NOT NULL,
  email_lc      key_text NOT NULL,
  login_lc      key_text NOT NULL,
  org_unit_path key_text NOT NULL REFERENCES org_units (path),
  manager_id    key_text REFERENCES people (id),
  title         TEXT NOT NULL,
  search_key    TEXT NOT NULL
);
CREATE INDEX people_org_unit ON people (org_unit_path);
CREATE INDEX people_manager ON people (manager_id);
CREATE INDEX people_email_lc ON people (email_lc);
CREATE INDEX people_login_lc ON people (login_lc);

CREATE TABLE devices (
  id          key_text PRIMARY KEY,
  owner_id    key_text REFERENCES people (id),
  source      TEXT NOT NULL,
  os_family   TEXT NOT NULL,
  os_version  TEXT NOT NULL,
  vendor      TEXT NOT NULL,
  model       TEXT NOT NULL,
  type        TEXT NOT NULL,
  managed     INTEGER NOT NULL,
  first_seen  BIGINT NOT NULL,
  last_seen   BIGINT NOT NULL,
  may_be      TEXT NOT NULL,
  facts_json  TEXT NOT NULL,
  search_key  TEXT NOT NULL
);
CREATE INDEX devices_owner ON devices (owner_id);
CREATE INDEX devices_os_family ON devices (os_family, id);
CREATE INDEX devices_last_seen ON devices (last_seen);

CREATE TABLE device_apps (
  device_id key_text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  pos       INTEGER NOT NULL,
  app_id    TEXT NOT NULL,
  name      TEXT NOT NULL,
  version   TEXT NOT NULL,
  PRIMARY KEY (device_id, pos)
);
CREATE INDEX device_apps_app ON device_apps (app_id);

CREATE TABLE api_tokens (
  id          key_text PRIMARY KEY,
  name        TEXT NOT NULL,
  role        TEXT NOT NULL,
  scope_path  TEXT NOT NULL,
  secret_hash key_text NOT NULL UNIQUE,
  created_at  BIGINT NOT NULL,
  expires_at  BIGINT,
  revoked     INTEGER NOT NULL
);

CREATE TABLE settings (
  key   key_text PRIMARY KEY,
  value TEXT NOT NULL
);
