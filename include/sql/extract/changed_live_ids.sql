-- Records not archived that this run inserted or changed, and those associated with a record this run
-- archived or merged away (HubSpot dropped or moved those associations), in id order, a page at a time.
SELECT due.id
FROM (
    SELECT id FROM {table} WHERE sync_run_id = %(run_id)s AND id > %(after_id)s
    UNION
    SELECT association.{from_column}
    FROM {association_table} AS association
    JOIN {to_table} AS target ON target.id = association.{to_column}
    WHERE target.archived AND target.sync_run_id = %(run_id)s AND association.{from_column} > %(after_id)s
) AS due
JOIN {table} AS source ON source.id = due.id AND NOT source.archived
ORDER BY due.id
LIMIT %(limit)s
