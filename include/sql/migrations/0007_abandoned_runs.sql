-- A task try that died without recording its end (killed, or its database connection lost) is
-- marked 'abandoned' by a later task; see plugins/hubspot_sync/run_metrics.py for the rule.
ALTER TABLE hubspot_sync.run_metrics DROP CONSTRAINT run_metrics_status_check;
ALTER TABLE hubspot_sync.run_metrics ADD CONSTRAINT run_metrics_status_check
    CHECK (status IN ('running', 'success', 'failed', 'abandoned'));
CREATE INDEX run_metrics_running_idx ON hubspot_sync.run_metrics (started_at) WHERE status = 'running';
