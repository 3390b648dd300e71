COPY reconcile_association_sources (association, from_id) FROM STDIN
