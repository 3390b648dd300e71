COPY pg_temp.reverse_etl_rows (record_key, vals) FROM STDIN
