UPDATE hubspot_sync.erasure_requests
SET status = 'failed', attempts = attempts + 1, error = %(error)s, processed_at = now()
WHERE request_id = %(request_id)s
