-- Where the sweep stands after a batch (committed with that batch's association rows).
UPDATE hubspot_sync.association_sweeps SET
    after_id = %(after_id)s,
    owed = %(owed)s,
    swept_at = to_timestamp(%(swept_at_ms)s / 1000.0),
    passes = %(passes)s,
    pass_started_at = CASE WHEN %(wrapped)s THEN now() ELSE pass_started_at END,
    updated_at = now()
WHERE association_table = %(table)s
