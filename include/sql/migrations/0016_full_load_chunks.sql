-- A full load split by id: the ranges CRM search reads (from the highest ids down) next to the list
-- cursor (from the lowest up). [low_id, high_id), high_id NULL for the top range; `done` once every
-- record of the range has landed, by a search reader or by the list passing it. Rows live while the
-- full load does: a crashed one resumes from those not done.
CREATE TABLE hubspot_sync.full_load_chunks (
    object_type  text NOT NULL,
    low_id       bigint NOT NULL,
    high_id      bigint,
    done         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (object_type, low_id)
);
