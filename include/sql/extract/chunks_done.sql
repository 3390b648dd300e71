-- A range is done when its last batch lands, or when the list cursor has read past its end
-- (%(below)s: every id below it is in; NULL high ids never are, unless the list read to the end).
UPDATE hubspot_sync.full_load_chunks
SET done = true
WHERE object_type = %(object_type)s
  AND NOT done
  AND (low_id = %(low_id)s OR high_id <= %(below)s OR %(all)s)
