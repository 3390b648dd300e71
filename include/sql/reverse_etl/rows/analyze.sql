-- Fresh statistics on the just-filled temp table, so the planner hash-joins it with push state.
ANALYZE pg_temp.reverse_etl_rows
