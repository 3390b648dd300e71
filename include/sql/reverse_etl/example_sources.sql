-- Example application tables the three shipped models read, derived deterministically from the mirrored
-- hubspot.* tables so that the demo has something to push. Rerunnable: it empties and refills them.
-- Emails come from the `properties` JSONB, which every mirrored record has whatever the configuration.
CREATE SCHEMA IF NOT EXISTS app;

CREATE TABLE IF NOT EXISTS app.product_usage (
    email            text PRIMARY KEY CHECK (email = lower(email)),
    events_30d       integer NOT NULL,
    active_days_30d  integer NOT NULL CHECK (active_days_30d BETWEEN 0 AND 30),
    last_seen_at     timestamptz
);

CREATE TABLE IF NOT EXISTS app.support_tickets (
    ticket_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id  bigint NOT NULL,            -- HubSpot company id
    opened_at   timestamptz NOT NULL,
    severity    text NOT NULL CHECK (severity IN ('low', 'normal', 'high')),
    status      text NOT NULL CHECK (status IN ('open', 'closed'))
);

CREATE TABLE IF NOT EXISTS app.invoices (
    invoice_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deal_id     bigint NOT NULL,            -- HubSpot deal id
    amount      numeric(12, 2) NOT NULL,
    due_date    date NOT NULL,
    paid_at     timestamptz
);

TRUNCATE app.product_usage, app.support_tickets, app.invoices;

INSERT INTO app.product_usage (email, events_30d, active_days_30d, last_seen_at)
SELECT DISTINCT ON (lower(c.properties ->> 'email'))
    lower(c.properties ->> 'email'),
    (c.id * 7919) % 500,
    (c.id * 31) % 31,
    date_trunc('hour', now()) - ((c.id % 720) * interval '1 hour')
FROM hubspot.contacts AS c
WHERE NOT c.archived AND c.properties ->> 'email' LIKE '_%@_%._%'
ORDER BY lower(c.properties ->> 'email'), c.id;

INSERT INTO app.support_tickets (company_id, opened_at, severity, status)
SELECT
    c.id,
    now() - ((c.id + n) % 60) * interval '1 day',
    (ARRAY['low', 'normal', 'high'])[1 + (c.id + n) % 3],
    CASE WHEN (c.id + n) % 2 = 0 THEN 'open' ELSE 'closed' END
FROM hubspot.companies AS c
CROSS JOIN LATERAL generate_series(1, (c.id % 7)::integer) AS n
WHERE NOT c.archived;

INSERT INTO app.invoices (deal_id, amount, due_date, paid_at)
SELECT
    d.id,
    round((coalesce((d.properties ->> 'amount')::numeric, 1000) / 2)::numeric, 2),
    current_date - ((d.id + n) % 90)::integer + 30,
    CASE WHEN (d.id + n) % 4 = 0 THEN NULL ELSE now() - interval '1 day' END
FROM hubspot.deals AS d
CROSS JOIN LATERAL generate_series(1, 2) AS n
WHERE NOT d.archived;
