-- HubSpot's associations of the live records of one `from` type, as listed this session (pairs of
-- ids; the type ids are compared by the v4 read a repair makes), and the records they belong to.
CREATE TEMP TABLE IF NOT EXISTS reconcile_association_pairs (
    association  text NOT NULL,
    from_id      bigint NOT NULL,
    to_id        bigint NOT NULL
);
CREATE TEMP TABLE IF NOT EXISTS reconcile_association_sources (
    association  text NOT NULL,
    from_id      bigint NOT NULL,
    judged       boolean NOT NULL DEFAULT true,  -- false: its associations could not all be read
    PRIMARY KEY (association, from_id)
);
TRUNCATE reconcile_association_pairs, reconcile_association_sources;
