CREATE OR REPLACE TRIGGER writeback_capture
AFTER INSERT OR UPDATE ON {table}
FOR EACH ROW EXECUTE FUNCTION hubspot_sync.capture_edit({columns})
