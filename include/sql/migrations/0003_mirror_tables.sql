-- Mirrored CRM objects. Typed columns for configured properties are added at run time from the
-- sync configuration (ALTER TABLE ... ADD COLUMN IF NOT EXISTS); every property value received
-- is kept in `properties` whatever the configuration says.
DO $$
DECLARE
    object_type text;
BEGIN
    FOREACH object_type IN ARRAY ARRAY['companies', 'contacts', 'deals', 'tickets', 'line_items'] LOOP
        EXECUTE format(
            'CREATE TABLE hubspot.%I (
                id              bigint PRIMARY KEY,
                properties      jsonb NOT NULL DEFAULT ''{}''::jsonb,
                created_at      timestamptz,
                updated_at      timestamptz NOT NULL,
                archived        boolean NOT NULL DEFAULT false,
                archived_at     timestamptz,
                merged_into_id  bigint,
                synced_at       timestamptz NOT NULL DEFAULT now(),
                sync_run_id     text
            )', object_type);
        EXECUTE format('CREATE INDEX %I ON hubspot.%I (updated_at)', object_type || '_updated_at_idx', object_type);
    END LOOP;
END $$;

-- Associations: one row per pair and association type (HubSpot-defined or user-defined label).
CREATE TABLE hubspot.contact_company_associations (
    contact_id  bigint NOT NULL,
    company_id  bigint NOT NULL,
    type_id     integer NOT NULL,
    category    text NOT NULL,
    label       text,
    synced_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contact_id, company_id, type_id)
);
CREATE INDEX contact_company_associations_company_idx ON hubspot.contact_company_associations (company_id);

CREATE TABLE hubspot.deal_contact_associations (
    deal_id     bigint NOT NULL,
    contact_id  bigint NOT NULL,
    type_id     integer NOT NULL,
    category    text NOT NULL,
    label       text,
    synced_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (deal_id, contact_id, type_id)
);
CREATE INDEX deal_contact_associations_contact_idx ON hubspot.deal_contact_associations (contact_id);

CREATE TABLE hubspot.deal_company_associations (
    deal_id     bigint NOT NULL,
    company_id  bigint NOT NULL,
    type_id     integer NOT NULL,
    category    text NOT NULL,
    label       text,
    synced_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (deal_id, company_id, type_id)
);
CREATE INDEX deal_company_associations_company_idx ON hubspot.deal_company_associations (company_id);
