-- How many rows repeat a key (the count only: keys may be personal data).
SELECT count(*) - count(DISTINCT record_key) FROM pg_temp.reverse_etl_rows
