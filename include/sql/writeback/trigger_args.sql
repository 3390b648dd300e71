-- The arguments (two-way columns) of a mirror table's capture trigger; no row when it has none.
SELECT t.tgargs
FROM pg_trigger AS t
WHERE t.tgrelid = to_regclass(%(table)s) AND t.tgname = 'writeback_capture' AND NOT t.tgisinternal
