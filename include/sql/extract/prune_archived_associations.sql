-- Archived and merged-away records have no live associations: HubSpot moves a merged record's
-- associations to the survivor, and the sweep reads live records only.
DELETE FROM {table} AS association
USING {from_table} AS source
WHERE association.{from_column} = source.id AND source.archived
