-- The current run's model rows, canonicalised in Python, so that the diff against push state runs in
-- PostgreSQL and a worker holds only the rows that changed. Session-local; dropped when the run ends.
DROP TABLE IF EXISTS pg_temp.reverse_etl_rows;
CREATE TEMP TABLE reverse_etl_rows (
    record_key  text NOT NULL,
    vals        jsonb NOT NULL
)
