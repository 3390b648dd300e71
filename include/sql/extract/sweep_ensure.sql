-- The sweep's state for one association table (created on first use).
INSERT INTO hubspot_sync.association_sweeps (association_table) VALUES (%(table)s)
ON CONFLICT (association_table) DO NOTHING;
