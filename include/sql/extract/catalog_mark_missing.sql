-- Properties no longer reported by HubSpot (deleted or archived by an admin).
UPDATE hubspot_sync.property_catalog
SET archived = true
WHERE object_type = %(object_type)s AND NOT archived AND NOT (name = ANY(%(names)s::text[]))
