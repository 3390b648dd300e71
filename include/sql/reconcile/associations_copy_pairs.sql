COPY reconcile_association_pairs (association, from_id, to_id) FROM STDIN
