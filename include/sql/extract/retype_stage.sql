-- Per-transaction holding table for the refilled values of a retyped column.
CREATE TEMP TABLE {stage} (id bigint PRIMARY KEY, value {column_type}) ON COMMIT DROP
