-- 0002: the append-only, hash-chained audit log (see docs/storage.md, "Audit chain").
-- audit_head holds the newest seq and hash in one row: appending updates it first, which
-- serialises concurrent appenders on PostgreSQL (row lock) as SQLite's single writer does.
CREATE TABLE audit_events (
  seq         BIGINT PRIMARY KEY,
  at          BIGINT NOT NULL,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  entity      TEXT NOT NULL,
  before_json TEXT NOT NULL,
  after_json  TEXT NOT NULL,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL
);
CREATE INDEX audit_events_entity ON audit_events (entity);

CREATE TABLE audit_head (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  last_seq  BIGINT NOT NULL,
  last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, '');
