"""``python -m hubspot_sandbox --host 127.0.0.1 --port 8900 --token TOKEN[:scope,...] [--token-file FILE]
[--seed ...] [--rate-limit ...] [--account-timezone ZONE] [--data-dir DIR]
[--search-lag-ms N] [--search-lag-jitter-ms N]``: serve the sandbox until interrupted."""

from __future__ import annotations

import argparse
import logging
import sys
import time

import uvicorn

from hubspot_sandbox.app import build_app, quiet_deliberate_drops
from hubspot_sandbox.limits import DEFAULT_ACCOUNT_TIMEZONE, TIER_NAMES
from hubspot_sandbox.persistence import PortalStore, SnapshotError
from hubspot_sandbox.scopes import parse_grants, read_token_file
from hubspot_sandbox.search_index import DEFAULT_JITTER_MS, DEFAULT_LAG_MS
from hubspot_sandbox.seed import parse_counts, seed
from hubspot_sandbox.state import Sandbox

logger = logging.getLogger("hubspot_sandbox")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m hubspot_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        help="a bearer token to accept, as TOKEN (every scope) or TOKEN:scope,scope; may be repeated",
    )
    parser.add_argument("--token-file", help="a file with one TOKEN or TOKEN:scope,scope a line")
    parser.add_argument(
        "--seed", default="", help="records to create at start, e.g. contacts=1000,companies=100"
    )
    parser.add_argument(
        "--seed-number", type=int, default=0, help="random seed for --seed (same number, same data)"
    )
    parser.add_argument(
        "--dirty-share", type=float, default=0.0, help="share of seeded records with dirty values"
    )
    parser.add_argument(
        "--max-seed-total",
        type=int,
        default=None,
        help="most records one seed (flag or control API) may create; a shared sandbox should set it",
    )
    parser.add_argument("--rate-limit", choices=TIER_NAMES, default="off")
    parser.add_argument(
        "--account-timezone",
        default=DEFAULT_ACCOUNT_TIMEZONE,
        help="IANA time zone of the account: the daily API limit resets at its midnight",
    )
    parser.add_argument(
        "--data-dir", help="keep the portal here across restarts (loaded at start, saved after writes)"
    )
    parser.add_argument(
        "--save-interval-seconds",
        type=float,
        default=5.0,
        help="with --data-dir: least time between two saves of a changing portal",
    )
    parser.add_argument(
        "--search-lag-ms",
        type=int,
        default=DEFAULT_LAG_MS,
        help="least delay before a write becomes searchable (0: at once, no jitter)",
    )
    parser.add_argument(
        "--search-lag-jitter-ms",
        type=int,
        default=DEFAULT_JITTER_MS,
        help="a random share of this is added to each write's search lag",
    )
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        counts = parse_counts(args.seed)
    except ValueError as problem:
        print(f"--seed: {problem}", file=sys.stderr)
        return 2
    if args.max_seed_total is not None and sum(counts.values()) > args.max_seed_total:
        print(f"--seed: asks for more than --max-seed-total={args.max_seed_total} records", file=sys.stderr)
        return 2
    try:
        specs = [*args.token, *(read_token_file(args.token_file) if args.token_file else [])]
        grants = parse_grants(specs)
    except (OSError, ValueError) as problem:
        print(f"--token/--token-file: {problem}", file=sys.stderr)
        return 2
    if not grants:
        print("give at least one --token or a --token-file", file=sys.stderr)
        return 2
    sandbox = Sandbox(next(iter(grants)), rate_limit=args.rate_limit, search_lag_ms=args.search_lag_ms)
    sandbox.max_seed_total = args.max_seed_total
    try:
        sandbox.limiter.set_account_timezone(args.account_timezone)
    except ValueError as problem:
        print(f"--account-timezone: {problem}", file=sys.stderr)
        return 2
    store = PortalStore(sandbox, args.data_dir, args.save_interval_seconds) if args.data_dir else None
    try:
        loaded = store is not None and store.load()
    except SnapshotError as problem:
        print(f"--data-dir: {problem}", file=sys.stderr)
        return 2
    sandbox.set_search_lag(args.search_lag_ms, args.search_lag_jitter_ms)
    if counts and loaded:
        logger.info("not seeding: the portal was loaded from %s", args.data_dir)
    elif counts:
        started = time.perf_counter()
        seed(sandbox, counts, seed_number=args.seed_number, dirty_share=args.dirty_share)
        logger.info("seeded %s in %.1f s", counts, time.perf_counter() - started)
        if store is not None:
            store.mark_changed()  # saved soon after start, so a kill keeps the seed too
    quiet_deliberate_drops()
    app = build_app(
        sandbox,
        grants,
        lifespan=store.lifespan if store else None,
        on_write=store.mark_changed if store else None,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
