-- 0011: per (device, policy) a digest of the results its last evaluation left in findings, so a
-- full re-evaluation reads a device's findings only when its new results differ (issue 4 item 8).
-- digest: 64-bit hash of the policy's results on the device (rule key, status, detail, owner),
-- written by the evaluation in the same transaction as the findings it summarises; NULL = unknown
-- (a tombstone: any other write of the device's findings sets it, so the next run reads them).
-- gen: bumped by every change of the row; the evaluation writes its digest only if gen is still
-- what it read (compare-and-set), so a concurrent write can never be hidden behind a digest.
-- notes: what the report aggregates need beyond the results, so they need not read the findings
-- either: per rule (index in the document) "i:unix" = its first_failed_at, "in" = a stored row
-- of a rule that does not apply; entries joined by ','.
CREATE TABLE eval_digests (
  device_id    key_text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  policy_id    key_text NOT NULL,
  digest       BIGINT,
  gen          BIGINT NOT NULL,
  notes        TEXT NOT NULL,
  PRIMARY KEY (device_id, policy_id)
);
