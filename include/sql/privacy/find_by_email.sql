-- Contacts whose email this is: HubSpot's deletion by email deletes the contact holding it as its primary
-- address, so only those are erased here (the address is scrubbed from the copies keyed by email anyway).
SELECT id FROM {table}
WHERE lower(trim(properties ->> 'email')) = %(email)s
   OR lower(trim({email_column}::text)) = %(email)s
