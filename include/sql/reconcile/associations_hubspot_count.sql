SELECT count(*) FROM (SELECT DISTINCT from_id, to_id FROM reconcile_association_pairs WHERE association = %(association)s) AS pairs
