-- The slot's call was answered: the slot frees a window from now. A slot re-granted since (its call
-- outlived the timeout) is left alone.
UPDATE hubspot_sync.rate_budget_slots
SET answered_at = clock_timestamp()
WHERE bucket = %(bucket)s AND slot = %(slot)s AND granted_at = %(granted_at)s AND answered_at IS NULL
