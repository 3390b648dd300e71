-- Per-session staging table shaped like the mirror; emptied at every commit.
CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS
