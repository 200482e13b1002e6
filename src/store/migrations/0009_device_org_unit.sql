-- 0009: a device's own org unit (issue 4/6 gap). A device with an owner is in its owner's
-- unit; one without (an agent enrolled it, an import named no owner) is in this unit, so
-- org-unit-scoped campaigns and the per-unit report reach it. NULL: no unit of its own.
-- Agent devices take the unit of the secret they enrolled with.
ALTER TABLE devices ADD COLUMN org_unit_path key_text;
UPDATE devices SET org_unit_path =
  (SELECT a.org_unit_path FROM agent_devices a WHERE a.device_id = devices.id)
  WHERE id IN (SELECT device_id FROM agent_devices);
CREATE INDEX devices_org_unit ON devices (org_unit_path, id);

-- Devices known only from Exchange's Get-MobileDevice export (never in a log: no sighting
-- names them) were stored with source 'log'; they get their own source 'exchange'.
UPDATE devices SET source = 'exchange'
  WHERE source = 'log'
    AND id IN (SELECT device_id FROM exchange_devices)
    AND NOT EXISTS (SELECT 1 FROM sightings s WHERE s.device_id = devices.id);
