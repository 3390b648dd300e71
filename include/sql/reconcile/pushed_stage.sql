-- HubSpot's current text of every property reverse ETL pushes, per listed live record (this session).
CREATE TEMP TABLE IF NOT EXISTS reconcile_pushed_hubspot (record_id bigint NOT NULL, property text NOT NULL, value text);
CREATE TEMP TABLE IF NOT EXISTS reconcile_pushed_diffs (
    model          text NOT NULL,
    record_key     text NOT NULL,
    record_id      bigint NOT NULL,
    property       text NOT NULL,
    hubspot_value  text
);
TRUNCATE reconcile_pushed_hubspot, reconcile_pushed_diffs;
