DROP TABLE IF EXISTS pg_temp.reverse_etl_rows
