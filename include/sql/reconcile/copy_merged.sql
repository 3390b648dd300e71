COPY reconcile_merged (merged_id, survivor_id) FROM STDIN
