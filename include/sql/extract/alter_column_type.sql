-- A typed column whose configured type changed: emptied and retyped (a cast could fail on any
-- row); the caller refills it from `properties` with the extraction's own parsing.
ALTER TABLE {table} ALTER COLUMN {column} TYPE {column_type} USING NULL::{column_type}
