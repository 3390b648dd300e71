-- One row's clear values replaced by their hashes: %(hashed)s in `properties`, {typed} in typed columns.
UPDATE {table} SET properties = properties || %(hashed)s{typed} WHERE id = %(id)s
