-- Per object type, the minimisation settings last applied to its mirror table (kept properties, the
-- deny-list, pseudonymised properties): extraction strips existing rows once per change of them.
CREATE TABLE hubspot_sync.minimisation (
    object_type   text PRIMARY KEY,
    settings      jsonb NOT NULL,
    applied_at    timestamptz NOT NULL DEFAULT now(),
    rows_changed  bigint NOT NULL DEFAULT 0
);
