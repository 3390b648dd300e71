-- Product usage score (0-100) and last login of every app user, upserted onto the contact with that email.
-- One row per email: app.product_usage keys on the lower-cased email.
SELECT
    u.email,
    least(100, round(u.active_days_30d * 2.5 + ln(1 + u.events_30d) * 5))::integer AS usage_score,
    u.last_seen_at AS last_login_at
FROM app.product_usage AS u
