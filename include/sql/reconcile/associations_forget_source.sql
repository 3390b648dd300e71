-- A record whose associations could not all be read is not judged this run.
UPDATE reconcile_association_sources SET judged = false
WHERE association = %(association)s AND from_id = ANY(%(ids)s)
