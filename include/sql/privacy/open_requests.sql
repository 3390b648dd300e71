-- Requests still to do (new, or failed before), oldest first. Two runs taking the same request is
-- harmless: HubSpot answers the second deletion 404, which counts as done.
SELECT request_id, lower(trim(email)) AS email, contact_id
FROM hubspot_sync.erasure_requests
WHERE status <> 'done'
ORDER BY request_id
LIMIT %(limit)s
