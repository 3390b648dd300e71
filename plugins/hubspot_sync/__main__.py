"""`python -m hubspot_sync preflight | create-properties [--apply]` (with plugins/ on PYTHONPATH).

preflight: is this deployment ready for its first run? Connections, scopes, the custom properties the
reverse-ETL models write and their source tables; prints exactly what to create. Exit status 1 while
anything is missing. create-properties: the missing custom properties, as a dry run; --apply creates them.

Both read the sync configuration and its Airflow connections (AIRFLOW_CONN_* variables or the metadata
database), so run them where Airflow runs: after `source .airflow-local/env.sh` for `make airflow`, in a
scheduler container (`docker compose exec airflow-scheduler ...`), or `astro dev run` on Astro.
"""

from __future__ import annotations

import argparse
import sys

from hubspot_sync.config import ConfigError, load_config
from hubspot_sync.hooks.hubspot import HubSpotError, HubSpotHook
from hubspot_sync.hooks.warehouse import WarehouseHook
from hubspot_sync.preflight import CREATE_HINT, Report, create_properties, describe, preflight


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hubspot_sync", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("preflight", help="check connections, scopes, properties and source tables")
    create = commands.add_parser("create-properties", help="create the custom properties the models write")
    create.add_argument("--apply", action="store_true", help="create them (default: only show what)")
    args = parser.parse_args(argv)
    try:
        config = load_config()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    hubspot = HubSpotHook(config.connections.hubspot)
    try:
        report = preflight(config, hubspot, WarehouseHook(postgres_conn_id=config.connections.postgres))
        if args.command == "preflight":
            return show(report)
        return create_missing(hubspot, report, apply=args.apply)
    finally:
        hubspot.close()


def show(report: Report) -> int:
    for line in report.passed:
        print(f"  ok    {line}")
    for line in report.problems:
        print(f"  FIX   {line}")
    if report.problems:
        print(f"\n{len(report.problems)} thing(s) to fix before the first run.")
        if report.create:
            print(f"`{CREATE_HINT}` shows the properties it would create; add --apply to create them.")
        return 1
    print("\nReady: every check passed.")
    return 0


def create_missing(hubspot: HubSpotHook, report: Report, *, apply: bool) -> int:
    for missing in report.undetermined:
        print(f"  not created: {missing}, of unknown type; declare it under the model's property_definitions")
    if not report.create:
        print("No property to create." if not report.undetermined else "")
        return 1 if report.undetermined else 0
    if not apply:
        print("Would create (dry run; add --apply to create them):")
        for object_type, body in report.create:
            print(f"  {object_type}.{body['name']}: {describe(body)}")
        return 0
    try:
        for line in create_properties(hubspot, report):
            print(f"  {line}")
    except HubSpotError as error:
        print(f"HubSpot refused: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
