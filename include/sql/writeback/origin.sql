-- Mark this transaction's writes as the write-back's: the capture triggers skip them.
SELECT set_config('hubspot_sync.origin', 'writeback', true)
