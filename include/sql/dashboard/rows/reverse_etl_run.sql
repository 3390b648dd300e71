-- Every try of every push task of one hubspot_reverse_etl run: the rows its totals add up.
SELECT task_id, try_number, status, started_at, finished_at, records_read, details ->> 'changed' AS changed,
       records_written AS accepted, details ->> 'failed' AS refused_by_hubspot, records_rejected,
       api_calls, rate_limited_calls
FROM hubspot_sync.run_metrics
WHERE dag_id = 'hubspot_reverse_etl' AND run_id = {run_id}
ORDER BY task_id, try_number
