-- What HubSpot listed for one object type in this session: ids, state, last-modified, value hash;
-- and the ids its live records name as merged into them. Emptied before each comparison.
CREATE TEMP TABLE IF NOT EXISTS reconcile_hubspot (
    id            bigint PRIMARY KEY,
    archived      boolean NOT NULL,
    updated_at    timestamptz NOT NULL,
    value_hashes  bigint[]
);
CREATE TEMP TABLE IF NOT EXISTS reconcile_merged (merged_id bigint NOT NULL, survivor_id bigint NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS reconcile_facts (
    id                    bigint PRIMARY KEY,
    hubspot_archived      boolean,
    hubspot_updated_at    timestamptz,
    hubspot_merged_into   bigint,
    warehouse_archived    boolean,
    warehouse_updated_at  timestamptz,
    warehouse_merged_into bigint,
    values_differ         boolean,
    fields                text[]
);
TRUNCATE reconcile_hubspot, reconcile_merged, reconcile_facts;
