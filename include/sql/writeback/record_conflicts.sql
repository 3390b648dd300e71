INSERT INTO hubspot_sync.conflicts (object_type, record_id, field, postgres_value, postgres_changed_at,
                                    hubspot_value, hubspot_changed_at, hubspot_source, winner, rule, run_id)
SELECT %(object_type)s, c.record_id, c.field, c.postgres_value, c.postgres_changed_at, c.hubspot_value,
       c.hubspot_changed_at, c.hubspot_source, c.winner, c.rule, %(run_id)s
FROM unnest(%(record_ids)s::bigint[], %(fields)s::text[], %(postgres_values)s::jsonb[],
            %(postgres_changed_ats)s::timestamptz[], %(hubspot_values)s::text[],
            %(hubspot_changed_ats)s::timestamptz[], %(hubspot_sources)s::text[], %(winners)s::text[],
            %(rules)s::text[])
     AS c(record_id, field, postgres_value, postgres_changed_at, hubspot_value, hubspot_changed_at,
          hubspot_source, winner, rule)
ON CONFLICT (object_type, record_id, field, postgres_changed_at) DO NOTHING
