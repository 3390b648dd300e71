-- hubspot_sync.reverse_etl_runs gains the batch calls a run made to isolate inputs HubSpot refused
-- (a refused batch is split until its bad inputs are alone; see reverse_etl/send.py).
CREATE OR REPLACE VIEW hubspot_sync.reverse_etl_runs AS
WITH last_try AS (
    SELECT DISTINCT ON (run_id, task_id) *
    FROM hubspot_sync.run_metrics
    WHERE dag_id = 'hubspot_reverse_etl' AND task_id LIKE 'push\_%'
    ORDER BY run_id, task_id, try_number DESC
)
SELECT
    run_id,
    min(started_at) AS started_at,
    max(finished_at) AS finished_at,
    bool_or(coalesce((details ->> 'dry_run')::boolean, false)) AS dry_run,
    count(*) FILTER (WHERE status = 'success') AS models_succeeded,
    count(*) FILTER (WHERE status = 'failed') AS models_failed,
    count(*) FILTER (WHERE status = 'running') AS models_running,
    sum(records_read) AS records_read,
    sum(coalesce((details ->> 'changed')::bigint, 0)) AS records_changed,
    sum(records_written) AS records_accepted,
    sum(coalesce((details ->> 'failed')::bigint, 0)) AS records_refused_by_hubspot,
    sum(records_rejected) AS records_rejected,
    sum(api_calls) AS api_calls,
    sum(rate_limited_calls) AS rate_limited_calls,
    sum(coalesce((details ->> 'isolation_calls')::bigint, 0)) AS isolation_calls
FROM last_try
GROUP BY run_id;
