-- The list was seen out of id order: it reads to the end and the ranges not read yet are dropped.
DELETE FROM hubspot_sync.full_load_chunks WHERE object_type = %(object_type)s AND NOT done
