-- Object types with edits waiting to be pushed (an edit committed while no trigger listened notified no one).
SELECT DISTINCT object_type FROM hubspot_sync.outbox WHERE status = 'pending' ORDER BY object_type
