-- The minimisation settings last applied to an object type's stored rows.
SELECT settings FROM hubspot_sync.minimisation WHERE object_type = %(object_type)s
