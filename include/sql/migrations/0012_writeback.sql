-- Two-way fields. Triggers on the mirror tables (installed per configuration by the write-back and the
-- extraction, see hubspot_sync.writeback.triggers) record PostgreSQL edits here, in the editing
-- transaction; hubspot_writeback pushes them. One row per (object, record, field): later edits of a
-- field overwrite its value, so a field edited many times is pushed once, with its last value.
CREATE TABLE hubspot_sync.outbox (
    object_type     text NOT NULL,
    record_id       bigint NOT NULL,          -- the mirror row's id; negative until HubSpot created it
    field           text NOT NULL,            -- the column; '' for a record-level create or archive
    operation       text NOT NULL CHECK (operation IN ('update', 'create', 'archive')),
    value           jsonb,                    -- to_jsonb of the column's last value (update)
    base_value      jsonb,                    -- the value before the first unpushed edit: the last agreed one
    changed_at      timestamptz NOT NULL,     -- clock_timestamp() of the last edit (database clock)
    changed_by      text NOT NULL,            -- current_user of the last edit
    application     text,                     -- application_name of the last edit's session
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'failed', 'synced', 'reverted', 'superseded')),
    create_key      uuid,                     -- written to HubSpot with a create: a retried create finds it
    attempts        integer NOT NULL DEFAULT 0,
    sent_value      jsonb,                    -- what the last push sent, and when: our own write, recognised
    sent_at         timestamptz,
    pushed_at       timestamptz,              -- when HubSpot last accepted this field's value
    error_category  text,
    error_reason    text,                     -- HubSpot's reason, never the value
    correlation_id  text,
    run_id          text,
    PRIMARY KEY (object_type, record_id, field)
);
CREATE INDEX outbox_pending_idx ON hubspot_sync.outbox (object_type, record_id) WHERE status = 'pending';

-- Fields changed on both sides since they last agreed, and how each was settled.
CREATE TABLE hubspot_sync.conflicts (
    id                  bigserial PRIMARY KEY,
    object_type         text NOT NULL,
    record_id           bigint NOT NULL,
    field               text NOT NULL,
    postgres_value      jsonb,
    postgres_changed_at timestamptz NOT NULL,
    hubspot_value       text,
    hubspot_changed_at  timestamptz,           -- HubSpot's property history time, on the database clock
    hubspot_source      text,                  -- sourceType of HubSpot's change (CRM_UI, WORKFLOWS, ...)
    winner              text NOT NULL CHECK (winner IN ('hubspot', 'postgres')),
    rule                text NOT NULL,
    run_id              text,
    detected_at         timestamptz NOT NULL DEFAULT now(),
    -- One PostgreSQL edit meets HubSpot's change once, however often the push is retried.
    UNIQUE (object_type, record_id, field, postgres_changed_at)
);

-- Ids for records inserted in PostgreSQL before HubSpot has them: negative, so they never collide.
CREATE SEQUENCE hubspot_sync.new_record_ids;

CREATE FUNCTION hubspot_sync.new_record_id() RETURNS bigint
LANGUAGE sql VOLATILE AS $$ SELECT -nextval('hubspot_sync.new_record_ids') $$;

-- Capture of one mirror table's edits; TG_ARGV lists its two-way columns. Writes made by the sync itself
-- (the extraction landing HubSpot's values, the write-back recording results) set hubspot_sync.origin
-- for their transaction and are never captured: nothing the sync writes can come back as an edit.
CREATE FUNCTION hubspot_sync.capture_edit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    origin  text := coalesce(current_setting('hubspot_sync.origin', true), '');
    old_row jsonb;
    new_row jsonb;
    col     text;
    edited  boolean := false;
BEGIN
    IF origin IN ('extract', 'writeback') THEN
        RETURN NULL;
    END IF;
    new_row := to_jsonb(NEW);
    IF TG_OP = 'INSERT' THEN
        IF NEW.id < 0 THEN
            INSERT INTO hubspot_sync.outbox AS o (object_type, record_id, field, operation, changed_at,
                                                  changed_by, application, create_key)
            VALUES (TG_TABLE_NAME, NEW.id, '', 'create', clock_timestamp(), current_user,
                    current_setting('application_name', true), gen_random_uuid())
            ON CONFLICT (object_type, record_id, field) DO NOTHING;
            edited := true;
        END IF;
    ELSE
        old_row := to_jsonb(OLD);
        IF NEW.id >= 0 AND NEW.archived AND NOT OLD.archived THEN
            INSERT INTO hubspot_sync.outbox AS o (object_type, record_id, field, operation, changed_at,
                                                  changed_by, application)
            VALUES (TG_TABLE_NAME, NEW.id, '', 'archive', clock_timestamp(), current_user,
                    current_setting('application_name', true))
            ON CONFLICT (object_type, record_id, field) DO UPDATE
                SET status = 'pending', changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by,
                    application = EXCLUDED.application, error_category = NULL, error_reason = NULL;
            edited := true;
        ELSIF NEW.id >= 0 THEN
            -- A record still waiting for its create is sent whole, as it is then: no field entries.
            FOREACH col IN ARRAY TG_ARGV LOOP
                CONTINUE WHEN (new_row -> col) IS NOT DISTINCT FROM (old_row -> col);
                INSERT INTO hubspot_sync.outbox AS o (object_type, record_id, field, operation, value,
                                                      base_value, changed_at, changed_by, application)
                VALUES (TG_TABLE_NAME, NEW.id, col, 'update', coalesce(new_row -> col, 'null'),
                        coalesce(old_row -> col, 'null'), clock_timestamp(), current_user,
                        current_setting('application_name', true))
                ON CONFLICT (object_type, record_id, field) DO UPDATE
                    SET value = EXCLUDED.value,
                        -- Unpushed (or refused) edits keep the value both sides last agreed on.
                        base_value = CASE WHEN o.status IN ('pending', 'failed') THEN o.base_value
                                          ELSE EXCLUDED.base_value END,
                        status = 'pending', changed_at = EXCLUDED.changed_at,
                        changed_by = EXCLUDED.changed_by, application = EXCLUDED.application,
                        error_category = NULL, error_reason = NULL, correlation_id = NULL;
                edited := true;
            END LOOP;
        END IF;
    END IF;
    IF edited THEN
        -- One notification per transaction and table (identical payloads are folded by PostgreSQL).
        PERFORM pg_notify('hubspot_sync_outbox', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;

-- Sync status of every record edited in PostgreSQL (a record never edited there has no row).
DO $$
DECLARE
    object_type text;
BEGIN
    FOREACH object_type IN ARRAY ARRAY['companies', 'contacts', 'deals', 'tickets', 'line_items'] LOOP
        EXECUTE format(
            'CREATE VIEW hubspot_sync.%I AS
             SELECT record_id AS id,
                    count(*) FILTER (WHERE status = ''pending'') AS pending_changes,
                    count(*) FILTER (WHERE status = ''failed'') AS failed_changes,
                    min(changed_at) FILTER (WHERE status IN (''pending'', ''failed'')) AS oldest_unpushed_edit_at,
                    max(pushed_at) AS last_pushed_at,
                    (array_agg(coalesce(nullif(field, ''''), operation) || '': '' || error_reason ORDER BY changed_at DESC)
                        FILTER (WHERE status = ''failed''))[1] AS last_error,
                    (array_agg(correlation_id ORDER BY changed_at DESC)
                        FILTER (WHERE status = ''failed''))[1] AS last_error_correlation_id
             FROM hubspot_sync.outbox
             WHERE object_type = %L
             GROUP BY record_id', object_type || '_sync_status', object_type);
        -- A record inserted in PostgreSQL takes a negative id until HubSpot has created it.
        EXECUTE format('ALTER TABLE hubspot.%I ALTER COLUMN id SET DEFAULT hubspot_sync.new_record_id(),
                        ALTER COLUMN updated_at SET DEFAULT now()', object_type);
    END LOOP;
END $$;
