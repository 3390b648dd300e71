-- Per reverse-ETL model: the newest try of its push task and its last success.
SELECT m.model,
       success.finished_at AS last_success_at,
       last.status AS last_status,
       last.started_at AS last_started_at,
       last.run_id AS last_run_id
FROM unnest(%(models)s::text[]) AS m(model)
LEFT JOIN LATERAL (
    SELECT max(r.finished_at) AS finished_at
    FROM hubspot_sync.run_metrics r
    WHERE r.dag_id = 'hubspot_reverse_etl' AND r.task_id = 'push_' || m.model AND r.status = 'success'
) success ON true
LEFT JOIN LATERAL (
    SELECT r.status, r.started_at, r.run_id
    FROM hubspot_sync.run_metrics r
    WHERE r.dag_id = 'hubspot_reverse_etl' AND r.task_id = 'push_' || m.model
    ORDER BY r.started_at DESC
    LIMIT 1
) last ON true
