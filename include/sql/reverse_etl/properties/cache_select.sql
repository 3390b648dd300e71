-- The cached definitions of an object type, if younger than max_age (NULL: whatever the age).
SELECT definitions
FROM hubspot_sync.push_property_cache
WHERE object_type = %(object_type)s
  AND (%(max_age)s::interval IS NULL OR fetched_at > now() - %(max_age)s::interval)
