-- Record the properties HubSpot reports now; returns the previous type of each (NULL when new).
INSERT INTO hubspot_sync.property_catalog AS catalog (
    object_type, name, type, field_type, label, calculated, read_only, hubspot_defined, options,
    last_seen_at, archived
)
SELECT %(object_type)s, p.name, p.type, p.field_type, p.label, p.calculated, p.read_only, p.hubspot_defined,
       p.options, now(), false
FROM jsonb_to_recordset(%(properties)s::jsonb) AS p(
    name text, type text, field_type text, label text, calculated boolean, read_only boolean,
    hubspot_defined boolean, options jsonb
)
ON CONFLICT (object_type, name) DO UPDATE SET
    type = EXCLUDED.type,
    field_type = EXCLUDED.field_type,
    label = EXCLUDED.label,
    calculated = EXCLUDED.calculated,
    read_only = EXCLUDED.read_only,
    hubspot_defined = EXCLUDED.hubspot_defined,
    options = EXCLUDED.options,
    last_seen_at = now(),
    archived = false
