-- Erasure and retention. `erasures` is the tombstone of every record erased (ids and why, nothing
-- else); `erasure_requests` is where a person asks, from PostgreSQL, for a contact to be erased on
-- both sides (hubspot_reconcile processes it). Rejects become one row per (object, record, field,
-- reason) with a count, so a record that stays invalid does not add a row on every run.
CREATE TABLE hubspot_sync.erasures (
    object_type  text NOT NULL,
    record_id    bigint NOT NULL,
    reason       text NOT NULL CHECK (reason IN ('deleted_in_hubspot', 'erasure_request')),
    request_id   bigint,                      -- the erasure request, when there was one
    run_id       text,
    erased_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (object_type, record_id)
);

CREATE TABLE hubspot_sync.erasure_requests (
    request_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text,                     -- cleared once the request is done
    contact_id      bigint,                   -- given, or found from the email
    requested_at    timestamptz NOT NULL DEFAULT now(),
    requested_by    text NOT NULL DEFAULT current_user,
    status          text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'done', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    records_erased  integer,                  -- warehouse rows removed (the contact and merged-away ids)
    processed_at    timestamptz,
    error           text,                     -- HTTP status, category and correlationId: never a value
    CONSTRAINT erasure_requests_names_a_contact CHECK (email IS NOT NULL OR contact_id IS NOT NULL OR status = 'done')
);
CREATE INDEX erasure_requests_open_idx ON hubspot_sync.erasure_requests (request_id) WHERE status <> 'done';

-- Rejects: the first time (rejected_at), the last time and how often; run/task of the last time.
ALTER TABLE hubspot_sync.rejects
    ADD COLUMN count bigint NOT NULL DEFAULT 1,
    ADD COLUMN last_seen_at timestamptz;
WITH grouped AS (
    SELECT reject_id,
           row_number() OVER w AS position,
           count(*) OVER w AS seen,
           min(rejected_at) OVER w AS first_seen,
           max(rejected_at) OVER w AS last_seen
    FROM hubspot_sync.rejects
    WINDOW w AS (PARTITION BY object_type, record_id, field, reason ORDER BY rejected_at DESC, reject_id DESC
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
), kept AS (
    UPDATE hubspot_sync.rejects AS r
    SET count = g.seen, rejected_at = g.first_seen, last_seen_at = g.last_seen
    FROM grouped AS g
    WHERE g.reject_id = r.reject_id AND g.position = 1
)
DELETE FROM hubspot_sync.rejects AS r USING grouped AS g WHERE g.reject_id = r.reject_id AND g.position > 1;
ALTER TABLE hubspot_sync.rejects
    ALTER COLUMN last_seen_at SET DEFAULT now(),
    ALTER COLUMN last_seen_at SET NOT NULL;
DROP INDEX hubspot_sync.rejects_record_idx;
CREATE UNIQUE INDEX rejects_key_idx
    ON hubspot_sync.rejects (object_type, record_id, field, reason) NULLS NOT DISTINCT;

-- Retention prunes by these times, a bounded batch at a time.
CREATE INDEX rejects_last_seen_idx ON hubspot_sync.rejects (last_seen_at);
CREATE INDEX push_audit_sent_at_idx ON hubspot_sync.push_audit (sent_at);
CREATE INDEX push_preview_computed_at_idx ON hubspot_sync.push_preview (computed_at);
CREATE INDEX conflicts_detected_at_idx ON hubspot_sync.conflicts (detected_at);
CREATE INDEX reconcile_findings_found_at_idx ON hubspot_sync.reconcile_findings (found_at);
