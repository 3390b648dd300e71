-- Records holding at least one non-empty value this model pushed: what `on_leave: clear` could clear.
SELECT count(*)
FROM hubspot_sync.push_state
WHERE model = %(model)s
  AND EXISTS (SELECT 1 FROM jsonb_each_text(pushed) AS p WHERE p.value <> '')
