UPDATE {table} AS target SET {column} = staged.value
FROM {stage} AS staged
WHERE target.id = staged.id
