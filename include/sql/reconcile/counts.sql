SELECT (SELECT count(*) FROM reconcile_hubspot), (SELECT count(*) FROM {table})
