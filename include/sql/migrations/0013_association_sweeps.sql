-- The rolling association sweep: per association table, where the sweep stands in id order, how many
-- records it owes (accrued at live records / sweep period, read 100 a call), and when it last ran.
-- inline_run_id names the run whose full load read the source records' associations inline: that
-- run's association step need not read them again. Replaces the cursor row associations:full_sweep.
CREATE TABLE hubspot_sync.association_sweeps (
    association_table  text PRIMARY KEY,
    after_id           bigint NOT NULL DEFAULT 0,
    owed               double precision NOT NULL DEFAULT 0,
    swept_at           timestamptz,
    passes             integer NOT NULL DEFAULT 0,
    pass_started_at    timestamptz,
    inline_run_id      text,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
DELETE FROM hubspot_sync.cursors WHERE object_type = 'associations:full_sweep';
