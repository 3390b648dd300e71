-- Every property name some stored row holds (one scan, once per change of the settings).
SELECT DISTINCT jsonb_object_keys(properties) FROM {table}
