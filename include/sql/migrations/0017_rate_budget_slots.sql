-- CRM search's limit (5 a second per account) kept by the calls themselves: one row per call allowed
-- in a window. A slot is taken for a call and freed a whole window after HubSpot answered it, so no
-- window at HubSpot can hold more calls than there are slots, however late a request arrives. A slot
-- whose call never reported back (its worker died) counts as answered once the call's timeout is
-- over. See plugins/hubspot_sync/hooks/rate_budget.py.
CREATE TABLE hubspot_sync.rate_budget_slots (
    bucket       text NOT NULL,
    slot         integer NOT NULL,
    granted_at   timestamptz NOT NULL DEFAULT 'epoch',
    answered_at  timestamptz DEFAULT 'epoch',  -- NULL while the call is in flight
    PRIMARY KEY (bucket, slot)
);
