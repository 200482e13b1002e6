-- 0012: the dashboard's findings list filtered by status in its default order (device, rule)
-- (issue 7). With only findings_status_sort (status, status_since, ...) the engines read every
-- finding of that status and sorted them for each page (68,620 "fail" rows at 100,000 devices:
-- the 0.8 s first load); this index makes the page one range of 51 entries for any status.
CREATE INDEX findings_status_key ON findings (status, device_id, rule_key);
