-- 0006: Exchange's mobile-device export (Get-MobileDevice | Export-Csv), one row per
-- ActiveSync device id (upper-cased), so that sightings carrying that id -- Outlook-iOS-Android
-- above all, whose User-Agent cannot tell iOS from Android -- are resolved now and in later
-- discover runs. raw_* columns keep what Exchange wrote; the rest is fleetward's reading of it.
CREATE TABLE exchange_devices (
  activesync_id  key_text PRIMARY KEY,
  user_name      TEXT NOT NULL,            -- as exported (UPN, login, or display name)
  person_id      key_text NOT NULL,        -- attributed person, '' if none matched
  device_id      key_text NOT NULL,        -- the inventory device it resolved or created, ''
  raw_os         TEXT NOT NULL,            -- DeviceOS: "iOS 16.3.1 20D67", "Android 13.0.0"
  raw_model      TEXT NOT NULL,            -- DeviceModel: "iPhone14,5", "SM-G991B"
  raw_type       TEXT NOT NULL,            -- DeviceType: "iPhone", "Outlook", "SAMSUNGSMG991B"
  raw_user_agent TEXT NOT NULL,            -- DeviceUserAgent
  os_family      TEXT NOT NULL,
  os_version     TEXT NOT NULL,
  vendor         TEXT NOT NULL,
  model          TEXT NOT NULL,
  type           TEXT NOT NULL,
  imported_at    BIGINT NOT NULL
);
CREATE INDEX exchange_devices_device ON exchange_devices (device_id);
