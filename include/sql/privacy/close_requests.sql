-- Open requests naming an erased contact (by id or email) are done; their email is forgotten.
UPDATE hubspot_sync.erasure_requests
SET status = 'done', email = NULL, error = NULL, processed_at = now(),
    contact_id = coalesce(contact_id, %(contact_id)s),
    records_erased = CASE WHEN %(request_id)s::bigint IS NULL OR request_id = %(request_id)s
                          THEN %(records_erased)s ELSE 0 END
WHERE status <> 'done'
  AND (request_id = %(request_id)s OR contact_id = ANY(%(ids)s) OR lower(trim(email)) = ANY(%(emails)s))
