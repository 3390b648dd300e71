-- Reverse ETL: what was last pushed per model and key, an audit of every property sent, the preview a
-- dry run leaves, and the property definitions the last real run validated against.

-- `pushed` holds, per property, the last value HubSpot accepted (canonical text, "" = cleared). Only a
-- confirmed success changes it, so a crash or a refused input is simply diffed and sent again next run.
CREATE TABLE hubspot_sync.push_state (
    model               text NOT NULL,
    record_key          text NOT NULL,   -- HubSpot id, or the unique property value (e.g. lower-cased email)
    object_type         text NOT NULL,
    pushed              jsonb NOT NULL DEFAULT '{}'::jsonb,
    pushed_at           timestamptz,
    failed_values       jsonb,           -- the values of the last refused attempt
    failed_attempts     integer NOT NULL DEFAULT 0,
    last_error_category text,
    last_error          text,
    last_correlation_id text,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, record_key)
);
CREATE INDEX push_state_failed_idx ON hubspot_sync.push_state (model) WHERE failed_attempts > 0;

-- One row per property sent (or refused before sending is not recorded here: see hubspot_sync.rejects).
CREATE TABLE hubspot_sync.push_audit (
    audit_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model           text NOT NULL,
    object_type     text NOT NULL,
    record_key      text NOT NULL,
    property        text NOT NULL,
    new_value       text NOT NULL,
    previous_value  text,               -- NULL when this property was never pushed for this record
    operation       text NOT NULL CHECK (operation IN ('update', 'upsert')),
    outcome         text NOT NULL CHECK (outcome IN ('success', 'failed')),
    error_category  text,
    error           text,
    correlation_id  text,
    dag_id          text NOT NULL,
    run_id          text NOT NULL,
    task_id         text NOT NULL,
    try_number      integer NOT NULL,
    sent_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_audit_record_idx ON hubspot_sync.push_audit (model, record_key, sent_at);
CREATE INDEX push_audit_run_idx ON hubspot_sync.push_audit (run_id);

-- What a dry run would send (or refuse); replaced per model by each dry run.
CREATE TABLE hubspot_sync.push_preview (
    model           text NOT NULL,
    record_key      text,
    property        text,
    new_value       text,
    previous_value  text,
    action          text NOT NULL CHECK (action IN ('update', 'upsert', 'reject')),
    reason          text,
    run_id          text NOT NULL,
    computed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_preview_model_idx ON hubspot_sync.push_preview (model);

-- Definitions read from HubSpot by the last real run, so that a dry run can validate without API calls.
CREATE TABLE hubspot_sync.push_property_cache (
    object_type  text PRIMARY KEY,
    definitions  jsonb NOT NULL,
    fetched_at   timestamptz NOT NULL DEFAULT now()
);
