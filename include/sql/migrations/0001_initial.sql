-- Schemas, the migration ledger, per-run metrics and rejected records.
CREATE SCHEMA IF NOT EXISTS hubspot;
CREATE SCHEMA IF NOT EXISTS hubspot_sync;

CREATE TABLE hubspot_sync.schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per task run and object (or model): what it read, wrote and rejected, and what it cost.
CREATE TABLE hubspot_sync.run_metrics (
    dag_id             text NOT NULL,
    run_id             text NOT NULL,
    task_id            text NOT NULL,
    try_number         integer NOT NULL DEFAULT 1,
    object_type        text,
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz,
    status             text NOT NULL CHECK (status IN ('running', 'success', 'failed')),
    records_read       bigint NOT NULL DEFAULT 0,
    records_written    bigint NOT NULL DEFAULT 0,
    records_rejected   bigint NOT NULL DEFAULT 0,
    api_calls          integer NOT NULL DEFAULT 0,
    rate_limited_calls integer NOT NULL DEFAULT 0,
    details            jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (dag_id, run_id, task_id, try_number)
);
CREATE INDEX run_metrics_started_at_idx ON hubspot_sync.run_metrics (started_at);

-- A record (or field) the sync refused, with the reason. Values are not copied here: they may be
-- personal data; the record id points at them.
CREATE TABLE hubspot_sync.rejects (
    reject_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dag_id       text NOT NULL,
    run_id       text NOT NULL,
    task_id      text NOT NULL,
    object_type  text NOT NULL,
    record_id    text,
    field        text,
    reason       text NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejects_run_idx ON hubspot_sync.rejects (dag_id, run_id);
CREATE INDEX rejects_record_idx ON hubspot_sync.rejects (object_type, record_id);
