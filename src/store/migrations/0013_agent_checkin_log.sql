-- 0013: the check-in log (issue 6). On SQLite the group-commit writer appends a heartbeat
-- (a check-in that changed nothing but the report sequence and time) here as one short row
-- instead of rewriting its device's agent_devices row: rows land on consecutive pages, ~80
-- per 4 KiB page, where an UPDATE dirtied one page per device. The writer folds the rows
-- into agent_devices (last_seq, last_checkin: the larger value wins) in device order a few
-- hundred devices per batch, deletes folded rows by id range, and folds the whole log when
-- it starts. So agent_devices.last_seq / last_checkin may lag behind the log: the exact
-- value of a device is the larger of its row's and its log rows' (docs/agent-protocol.md).
-- PostgreSQL servers do not use it (every check-in there updates its row); it exists on
-- both engines so that the schemas stay alike. No foreign key: a deleted device's rows are
-- simply dropped by the next fold.
-- @sqlite
CREATE TABLE agent_checkin_log (
  id        INTEGER PRIMARY KEY,        -- the rowid, given by the writer in increasing order
  device_id TEXT NOT NULL,
  seq       BIGINT NOT NULL,
  at        BIGINT NOT NULL
);
-- @postgres
CREATE TABLE agent_checkin_log (
  id        BIGINT PRIMARY KEY,
  device_id key_text NOT NULL,
  seq       BIGINT NOT NULL,
  at        BIGINT NOT NULL
);
