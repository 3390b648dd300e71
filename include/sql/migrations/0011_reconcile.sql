-- Reconciliation reports: one row per run and object type (or association table), one row per
-- difference found, and an audit row for every warehouse row removed because HubSpot deleted the
-- record for good. Ids, kinds, property names and counts only: never a property value.
CREATE TABLE hubspot_sync.reconcile_runs (
    run_id            text NOT NULL,
    object_type       text NOT NULL,          -- an object type, or an association table
    dag_id            text NOT NULL,
    task_id           text NOT NULL,
    status            text NOT NULL CHECK (status IN ('running', 'success', 'failed', 'abandoned')),
    mode              text NOT NULL,          -- 'configured', 'report' or 'repair'
    compared_values   boolean NOT NULL,
    hubspot_records   bigint NOT NULL DEFAULT 0,   -- live and archived ids HubSpot listed
    warehouse_records bigint NOT NULL DEFAULT 0,
    found             jsonb NOT NULL DEFAULT '{}'::jsonb,  -- kind -> findings
    repaired          jsonb NOT NULL DEFAULT '{}'::jsonb,  -- kind -> findings repaired
    drift_share       numeric,
    api_calls         integer NOT NULL DEFAULT 0,
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz,
    seconds           numeric,
    note              text,                   -- why a run is incomplete, what was not covered
    PRIMARY KEY (run_id, object_type)
);

CREATE TABLE hubspot_sync.reconcile_findings (
    finding_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       text NOT NULL,
    object_type  text NOT NULL,
    record_id    bigint NOT NULL,             -- for associations: the id on the `from` side
    kind         text NOT NULL,
    fields       text[] NOT NULL DEFAULT '{}', -- property names concerned, when known
    detail       jsonb NOT NULL DEFAULT '{}'::jsonb,  -- ids, flags, history sources: never values
    repaired     boolean NOT NULL DEFAULT false,
    repair_note  text,
    found_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reconcile_findings_run_idx ON hubspot_sync.reconcile_findings (run_id, object_type, kind);
CREATE INDEX reconcile_findings_record_idx ON hubspot_sync.reconcile_findings (object_type, record_id);

CREATE TABLE hubspot_sync.deleted_records (
    object_type     text NOT NULL,
    record_id       bigint NOT NULL,
    was_archived    boolean NOT NULL,
    merged_into_id  bigint,
    run_id          text NOT NULL,
    deleted_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (object_type, record_id, run_id)
);
