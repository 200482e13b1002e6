-- 0010: the dashboard's search and owner sort orders (issue 7).
-- Search: the devices' and people's search_key (already case-folded by the store) gets the
-- engine's own substring index: SQLite an FTS5 `trigram` external-content table kept in sync
-- by triggers, PostgreSQL a pg_trgm GIN index (LIKE '%x%' uses it as it is). Without
-- pg_trgm (CREATE EXTENSION not permitted) the migration still succeeds and search scans.
-- Owner sort: devices.owner_name and people.manager_name copy the person's name (kept by
-- triggers), so that "sort by owner" pages read one index range; findings sort by their
-- device's owner_name (a walk of devices_owner_sort, then each device's findings by key), so
-- the findings table, written by every evaluation, gets neither a trigger nor an index.
-- Lines "-- @sqlite", "-- @postgres" and "-- @all" start a part that only that engine runs
-- (store/sql/migrate.cpp); the rest of the file is portable.

ALTER TABLE devices ADD COLUMN owner_name TEXT NOT NULL DEFAULT '';
ALTER TABLE people ADD COLUMN manager_name TEXT NOT NULL DEFAULT '';

UPDATE devices SET owner_name = COALESCE((SELECT p.name FROM people p WHERE p.id = devices.owner_id), '')
  WHERE owner_id IS NOT NULL;
UPDATE people SET manager_name = COALESCE((SELECT m.name FROM people m WHERE m.id = people.manager_id), '')
  WHERE manager_id IS NOT NULL;

CREATE INDEX devices_owner_sort ON devices (owner_name, id);
CREATE INDEX people_manager_sort ON people (manager_name, id);

-- @sqlite
CREATE VIRTUAL TABLE devices_search USING fts5 (search_key, content = 'devices', content_rowid = 'rowid',
                                                tokenize = 'trigram case_sensitive 1');
CREATE VIRTUAL TABLE people_search USING fts5 (search_key, content = 'people', content_rowid = 'rowid',
                                               tokenize = 'trigram case_sensitive 1');
INSERT INTO devices_search (devices_search) VALUES ('rebuild');
INSERT INTO people_search (people_search) VALUES ('rebuild');

CREATE TRIGGER devices_search_ins AFTER INSERT ON devices BEGIN
  INSERT INTO devices_search (rowid, search_key) VALUES (new.rowid, new.search_key);
END;
CREATE TRIGGER devices_search_del AFTER DELETE ON devices BEGIN
  INSERT INTO devices_search (devices_search, rowid, search_key) VALUES ('delete', old.rowid, old.search_key);
END;
CREATE TRIGGER devices_search_upd AFTER UPDATE OF search_key ON devices
  WHEN old.search_key IS NOT new.search_key BEGIN
  INSERT INTO devices_search (devices_search, rowid, search_key) VALUES ('delete', old.rowid, old.search_key);
  INSERT INTO devices_search (rowid, search_key) VALUES (new.rowid, new.search_key);
END;
CREATE TRIGGER people_search_ins AFTER INSERT ON people BEGIN
  INSERT INTO people_search (rowid, search_key) VALUES (new.rowid, new.search_key);
END;
CREATE TRIGGER people_search_del AFTER DELETE ON people BEGIN
  INSERT INTO people_search (people_search, rowid, search_key) VALUES ('delete', old.rowid, old.search_key);
END;
CREATE TRIGGER people_search_upd AFTER UPDATE OF search_key ON people
  WHEN old.search_key IS NOT new.search_key BEGIN
  INSERT INTO people_search (people_search, rowid, search_key) VALUES ('delete', old.rowid, old.search_key);
  INSERT INTO people_search (rowid, search_key) VALUES (new.rowid, new.search_key);
END;

-- Owner names.
CREATE TRIGGER devices_owner_name_ins AFTER INSERT ON devices WHEN new.owner_id IS NOT NULL BEGIN
  UPDATE devices SET owner_name = COALESCE((SELECT name FROM people WHERE id = new.owner_id), '')
    WHERE rowid = new.rowid;
END;
CREATE TRIGGER devices_owner_name_upd AFTER UPDATE OF owner_id ON devices
  WHEN old.owner_id IS NOT new.owner_id BEGIN
  UPDATE devices SET owner_name = COALESCE((SELECT name FROM people WHERE id = new.owner_id), '')
    WHERE rowid = new.rowid;
END;
CREATE TRIGGER people_manager_name_ins AFTER INSERT ON people WHEN new.manager_id IS NOT NULL BEGIN
  UPDATE people SET manager_name = COALESCE((SELECT name FROM people WHERE id = new.manager_id), '')
    WHERE rowid = new.rowid;
END;
CREATE TRIGGER people_manager_name_upd AFTER UPDATE OF manager_id ON people
  WHEN old.manager_id IS NOT new.manager_id BEGIN
  UPDATE people SET manager_name = COALESCE((SELECT name FROM people WHERE id = new.manager_id), '')
    WHERE rowid = new.rowid;
END;
CREATE TRIGGER people_name_copies AFTER UPDATE OF name ON people WHEN old.name IS NOT new.name BEGIN
  UPDATE devices SET owner_name = new.name WHERE owner_id = new.id;
  UPDATE people SET manager_name = new.name WHERE manager_id = new.id;
END;

-- @postgres
DO $$
DECLARE
  ext_schema TEXT;
BEGIN
  SELECT n.nspname INTO ext_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
  IF ext_schema IS NULL THEN
    ext_schema := CASE WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN 'public'
                       ELSE current_schema() END;
    EXECUTE format('CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA %I', ext_schema);
  END IF;
  EXECUTE format('CREATE INDEX devices_search_trgm ON devices USING gin (search_key %I.gin_trgm_ops)', ext_schema);
  EXECUTE format('CREATE INDEX people_search_trgm ON people USING gin (search_key %I.gin_trgm_ops)', ext_schema);
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'fleetward: no pg_trgm search index (%); device and people search will scan', SQLERRM;
END $$;

CREATE FUNCTION fw_devices_owner_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.owner_id IS NULL THEN
    NEW.owner_name := '';
  ELSIF TG_OP = 'INSERT' OR NEW.owner_id IS DISTINCT FROM OLD.owner_id THEN
    NEW.owner_name := COALESCE((SELECT name FROM people WHERE id = NEW.owner_id), '');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER devices_owner_name BEFORE INSERT OR UPDATE OF owner_id ON devices
  FOR EACH ROW EXECUTE FUNCTION fw_devices_owner_name();

CREATE FUNCTION fw_people_manager_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.manager_id IS NULL THEN
    NEW.manager_name := '';
  ELSIF TG_OP = 'INSERT' OR NEW.manager_id IS DISTINCT FROM OLD.manager_id THEN
    NEW.manager_name := COALESCE((SELECT name FROM people WHERE id = NEW.manager_id), '');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER people_manager_name BEFORE INSERT OR UPDATE OF manager_id ON people
  FOR EACH ROW EXECUTE FUNCTION fw_people_manager_name();

CREATE FUNCTION fw_people_name_copies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.name IS DISTINCT FROM OLD.name THEN
    UPDATE devices SET owner_name = NEW.name WHERE owner_id = NEW.id;
    UPDATE people SET manager_name = NEW.name WHERE manager_id = NEW.id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER people_name_copies AFTER UPDATE OF name ON people
  FOR EACH ROW EXECUTE FUNCTION fw_people_name_copies();
