-- Take the slot that frees first, if it is free: its last call was answered (or timed out) at least a
-- window ago. Returns one row: the slot and grant time when taken (else NULL) and how many seconds to
-- wait before asking again (a slot whose call is in flight frees a whole window after its answer, still
-- to come). No row: every slot is being taken by another session this instant.
WITH candidate AS (
    SELECT slot,
           answered_at IS NULL AND granted_at > clock_timestamp() - make_interval(secs => %(call_timeout)s)
               AS in_flight,
           coalesce(answered_at, granted_at + make_interval(secs => %(call_timeout)s))
               + make_interval(secs => %(window)s) AS frees_at
    FROM hubspot_sync.rate_budget_slots
    WHERE bucket = %(bucket)s AND slot < %(slots)s
    ORDER BY frees_at, slot
    LIMIT 1
    FOR UPDATE SKIP LOCKED
), taken AS (
    UPDATE hubspot_sync.rate_budget_slots AS slots
    SET granted_at = clock_timestamp(), answered_at = NULL
    FROM candidate
    WHERE slots.bucket = %(bucket)s AND slots.slot = candidate.slot AND candidate.frees_at <= clock_timestamp()
    RETURNING slots.slot, slots.granted_at
)
SELECT taken.slot, taken.granted_at,
       CASE WHEN candidate.in_flight THEN %(window)s
            ELSE greatest(0, extract(epoch FROM candidate.frees_at - clock_timestamp()))
       END::float8 AS wait_seconds
FROM candidate LEFT JOIN taken ON true
