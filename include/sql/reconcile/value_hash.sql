-- One hash per typed column (over its canonical text; NULL stays NULL), so that a difference can
-- name the columns it is in.
ARRAY[{canonical_hashes}]::bigint[]
