"""`python -m hubspot_sync.privacy.roles`: the SQL that creates the least-privilege roles.

Prints include/sql/privacy/roles.sql followed by the writer's column grants, one per two-way field
of the active configuration (`two_way.fields` per object type). Run its output once as a superuser,
and again after changing two-way fields:

    python -m hubspot_sync.privacy.roles | psql "$ADMIN_URL" -v ON_ERROR_STOP=1

Roles are not made by a migration: they belong to the whole server rather than one database,
creating them needs CREATEROLE, which the sync's own role should not have, and the writer's grants
follow the configuration, not the schema version. A column the mirror does not have yet (typed
columns are added by the first extraction) is skipped with a warning: run the script again then.
"""

from __future__ import annotations

from hubspot_sync.config import SyncConfig, load_config
from hubspot_sync.sql import load_sql


def two_way_columns(config: SyncConfig) -> list[tuple[str, str]]:
    """(table, column) the writer may update."""
    return [
        (name, column)
        for name in config.enabled_objects()
        for column in sorted(config.objects[name].two_way.fields)
    ]


def roles_sql(config: SyncConfig) -> str:
    pairs = ", ".join(
        f"ARRAY[{_literal(table)}, {_literal(column)}]" for table, column in two_way_columns(config)
    )
    grants = f"""
DO $$
DECLARE
    pair text[];
BEGIN
    FOREACH pair SLICE 1 IN ARRAY ARRAY[{pairs or "ARRAY[NULL, NULL]"}]::text[][] LOOP
        CONTINUE WHEN pair[1] IS NULL;
        IF EXISTS (SELECT FROM information_schema.columns
                   WHERE table_schema = 'hubspot' AND table_name = pair[1] AND column_name = pair[2]) THEN
            EXECUTE format('GRANT UPDATE (%I) ON hubspot.%I TO hubspot_writer', pair[2], pair[1]);
        ELSE
            RAISE WARNING 'hubspot.%.% does not exist yet: run this script again after the first extraction',
                pair[1], pair[2];
        END IF;
    END LOOP;
END $$;
"""
    return load_sql("privacy/roles") + grants


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


if __name__ == "__main__":
    print(roles_sql(load_config()))
