"""``python -m hubspot_sandbox --host 127.0.0.1 --port 8900 --token TOKEN [--seed ...] [--rate-limit ...]
[--search-lag-ms N] [--search-lag-jitter-ms N]``: serve the sandbox until interrupted."""

from __future__ import annotations

import argparse
import logging
import sys
import time

import uvicorn

from hubspot_sandbox.app import build_app, quiet_deliberate_drops
from hubspot_sandbox.limits import TIER_NAMES
from hubspot_sandbox.search_index import DEFAULT_JITTER_MS, DEFAULT_LAG_MS
from hubspot_sandbox.seed import parse_counts, seed
from hubspot_sandbox.state import Sandbox

logger = logging.getLogger("hubspot_sandbox")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m hubspot_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--token", required=True, help="the only bearer token accepted")
    parser.add_argument(
        "--seed", default="", help="records to create at start, e.g. contacts=1000,companies=100"
    )
    parser.add_argument(
        "--seed-number", type=int, default=0, help="random seed for --seed (same number, same data)"
    )
    parser.add_argument(
        "--dirty-share", type=float, default=0.0, help="share of seeded records with dirty values"
    )
    parser.add_argument("--rate-limit", choices=TIER_NAMES, default="off")
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
    sandbox = Sandbox(args.token, rate_limit=args.rate_limit, search_lag_ms=args.search_lag_ms)
    sandbox.set_search_lag(args.search_lag_ms, args.search_lag_jitter_ms)
    if counts:
        started = time.perf_counter()
        seed(sandbox, counts, seed_number=args.seed_number, dirty_share=args.dirty_share)
        logger.warning("seeded %s in %.1f s", counts, time.perf_counter() - started)
    quiet_deliberate_drops()
    uvicorn.run(
        build_app(sandbox), host=args.host, port=args.port, log_level=args.log_level, access_log=False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
