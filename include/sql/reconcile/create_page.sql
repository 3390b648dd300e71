-- One list page's rows, typed exactly as the mirror (the same landing rules made them): hashed into
-- reconcile_hubspot, then emptied at commit.
CREATE TEMP TABLE IF NOT EXISTS {page} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS
