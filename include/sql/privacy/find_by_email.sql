-- Contacts holding an email address, as their primary or an additional one.
SELECT id FROM {table}
WHERE lower(trim(properties ->> 'email')) = %(email)s
   OR lower(trim({email_column}::text)) = %(email)s
   OR %(email)s = ANY(string_to_array(lower(properties ->> 'hs_additional_emails'), ';'))
