-- Churn-risk flag per company (1 = at risk): two or more high-severity tickets opened in the last
-- 30 days, or five or more still open. Companies without tickets are not in the model (left alone).
SELECT
    t.company_id,
    CASE
        WHEN count(*) FILTER (WHERE t.severity = 'high' AND t.opened_at >= now() - interval '30 days') >= 2
            OR count(*) FILTER (WHERE t.status = 'open') >= 5
        THEN 1 ELSE 0
    END AS churn_risk
FROM app.support_tickets AS t
GROUP BY t.company_id
