DROP TRIGGER IF EXISTS writeback_capture ON {table}
