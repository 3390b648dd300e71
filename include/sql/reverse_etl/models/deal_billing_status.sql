-- Billing status per deal from its invoices: past_due when an invoice is unpaid after its due date,
-- otherwise active. Deals without invoices are not in the model (left alone).
SELECT
    i.deal_id,
    CASE
        WHEN bool_or(i.paid_at IS NULL AND i.due_date < current_date) THEN 'past_due'
        ELSE 'active'
    END AS billing_status
FROM app.invoices AS i
GROUP BY i.deal_id
