-- Least-privilege roles for the HubSpot sync. Run once by a superuser (or a role with CREATEROLE that
-- can take over the objects), through `python -m hubspot_sync.privacy.roles`, which appends the
-- writer's column grants from the configuration; run it again after changing `two_way` fields.
-- Idempotent. The roles are group roles (NOLOGIN): log in as a member (README, "Privacy").
--
--   hubspot_sync_owner  owns the schemas hubspot and hubspot_sync and everything in them: the sync's
--                       own connection (migrations, extraction, write-back, reverse ETL, reconcile)
--   hubspot_analyst     reads hubspot.*; nothing of hubspot_sync (audit values, rejects, outbox)
--   hubspot_writer      reads hubspot.*, updates only the two-way columns (edits pushed to HubSpot)
DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['hubspot_sync_owner', 'hubspot_analyst', 'hubspot_writer'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', name);
        END IF;
    END LOOP;
END $$;

CREATE SCHEMA IF NOT EXISTS hubspot AUTHORIZATION hubspot_sync_owner;
CREATE SCHEMA IF NOT EXISTS hubspot_sync AUTHORIZATION hubspot_sync_owner;
ALTER SCHEMA hubspot OWNER TO hubspot_sync_owner;
ALTER SCHEMA hubspot_sync OWNER TO hubspot_sync_owner;
REVOKE ALL ON SCHEMA hubspot, hubspot_sync FROM PUBLIC;

-- Everything already in the two schemas changes owner (sequences owned by a table follow their table).
DO $$
DECLARE
    object record;
BEGIN
    FOR object IN
        SELECT c.oid::regclass AS name,
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                              WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('hubspot', 'hubspot_sync')
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND NOT EXISTS (
              SELECT FROM pg_depend AS d
              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')
                AND d.refclassid = 'pg_class'::regclass
          )
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO hubspot_sync_owner', object.kind, object.name);
    END LOOP;
    FOR object IN
        SELECT p.oid::regprocedure AS name
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('hubspot', 'hubspot_sync')
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO hubspot_sync_owner', object.name);
    END LOOP;
END $$;

-- Analysts and writers read the mirror, now and whatever the sync creates there later.
GRANT USAGE ON SCHEMA hubspot TO hubspot_analyst, hubspot_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA hubspot TO hubspot_analyst, hubspot_writer;
ALTER DEFAULT PRIVILEGES FOR ROLE hubspot_sync_owner IN SCHEMA hubspot
    GRANT SELECT ON TABLES TO hubspot_analyst, hubspot_writer;

-- A writer's edit is captured by the mirror tables' trigger, which runs with the writer's rights and
-- records the edit in the outbox; the per-record sync status views show how it went.
GRANT USAGE ON SCHEMA hubspot_sync TO hubspot_writer;
GRANT SELECT, INSERT, UPDATE ON hubspot_sync.outbox TO hubspot_writer;
DO $$
DECLARE
    view_name text;
BEGIN
    FOR view_name IN
        SELECT table_name FROM information_schema.views
        WHERE table_schema = 'hubspot_sync' AND table_name LIKE '%\_sync\_status'
    LOOP
        EXECUTE format('GRANT SELECT ON hubspot_sync.%I TO hubspot_writer', view_name);
    END LOOP;
END $$;

-- The writer's column grants are rebuilt from the configuration below.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA hubspot FROM hubspot_writer;
