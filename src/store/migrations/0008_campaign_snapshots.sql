-- 0008: what a full evaluation leaves for the campaign report and the campaign actions, so
-- they read a few small rows instead of the whole fleet and its history.
-- campaign_snapshots: per campaign, the report's aggregates (units, rules, platforms, totals,
-- overdue people) and its non-compliant people, computed at the end of evaluate_all, as of
-- evaluated_at, for the document version it evaluated. body is the service's own encoding.
CREATE TABLE campaign_snapshots (
  policy_id    key_text PRIMARY KEY,
  version      BIGINT NOT NULL,
  evaluated_at BIGINT NOT NULL,
  body         TEXT NOT NULL
);

-- campaign_burndown: non-compliant people and devices per local day (day = the UTC instant of
-- the local midnight starting it). Today's point is rewritten by every full evaluation; days
-- without one (before the first snapshot, or missed) are reconstructed once from
-- finding_changes.
CREATE TABLE campaign_burndown (
  policy_id key_text NOT NULL,
  day       BIGINT NOT NULL,
  people    BIGINT NOT NULL,
  devices   BIGINT NOT NULL,
  PRIMARY KEY (policy_id, day)
);

-- The failing findings of a document by person (campaign actions: Tx::scan_failing_people
-- reads only this index, grouped by person).
CREATE INDEX findings_failing ON findings (policy_id, status, person_id, first_failed_at);
