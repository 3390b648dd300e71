"""Run a command with HUBSPOT_SYNC_PG_URL pointing at a PostgreSQL server.

Usage: with_postgres.py -- COMMAND [ARGS...]
If HUBSPOT_SYNC_PG_URL is set, that server is checked and used. Otherwise a throwaway server is
started in a temporary directory and removed when the command ends, whatever its outcome.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.pg import PG_URL_ENV, check_reachable, start_embedded


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        sys.exit("usage: with_postgres.py -- COMMAND [ARGS...]")
    command = argv[argv.index("--") + 1 :]
    signal.signal(signal.SIGTERM, _terminate)
    if os.environ.get(PG_URL_ENV):
        check_reachable(os.environ[PG_URL_ENV])
        return subprocess.call(command)
    with tempfile.TemporaryDirectory(prefix="hspg") as data_dir:
        server = start_embedded(Path(data_dir) / "pg", cleanup_mode="delete")
        try:
            print(f"Started a throwaway PostgreSQL in {data_dir} (set {PG_URL_ENV} to use your own)")
            return subprocess.call(command, env={**os.environ, PG_URL_ENV: server.get_uri()})
        finally:
            server.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
