-- Sync state shared by every task and worker: the API rate budget, extraction cursors, and the
-- catalog of HubSpot properties seen (to detect drift between runs).

-- One token bucket per (token fingerprint, limit): see plugins/hubspot_sync/hooks/rate_budget.py.
CREATE TABLE hubspot_sync.rate_budget (
    bucket       text PRIMARY KEY,
    tokens       double precision NOT NULL,
    refilled_at  timestamptz NOT NULL
);

-- Per object type: everything modified before `cursor_ms` (epoch milliseconds, HubSpot's
-- last-modified clock) is in the warehouse. `list_after` resumes an interrupted full load.
CREATE TABLE hubspot_sync.cursors (
    object_type        text PRIMARY KEY,
    cursor_ms          bigint,
    list_after         text,
    list_started_ms    bigint,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE hubspot_sync.property_catalog (
    object_type     text NOT NULL,
    name            text NOT NULL,
    type            text NOT NULL,
    field_type      text,
    label           text,
    calculated      boolean NOT NULL DEFAULT false,
    read_only       boolean NOT NULL DEFAULT false,
    hubspot_defined boolean NOT NULL DEFAULT false,
    options         jsonb NOT NULL DEFAULT '[]'::jsonb,
    first_seen_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    archived        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (object_type, name)
);
