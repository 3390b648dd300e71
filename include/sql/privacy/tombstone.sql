-- What stays of an erased record: its id, why and when.
INSERT INTO hubspot_sync.erasures (object_type, record_id, reason, request_id, run_id)
SELECT %(object_type)s, unnest(%(ids)s::bigint[]), %(reason)s, %(request_id)s, %(run_id)s
ON CONFLICT (object_type, record_id) DO UPDATE
    SET reason = EXCLUDED.reason, request_id = EXCLUDED.request_id, run_id = EXCLUDED.run_id,
        erased_at = now()
