"""The demo's Airflow, inside the demo's own process: Airflow imported and its metadata database
migrated once, then each DAG run with `dag.test()` (what `airflow dags test` runs), its output in a
log file of its own. Not responsible for what the demo does between runs (scripts/demo.py)."""

from __future__ import annotations

import builtins
import contextlib
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

DAGS_DIR = Path(__file__).resolve().parent.parent / "dags"


def in_process_airflow(
    env: dict[str, str], log_dir: Path, warning_filters: Iterable[str]
) -> Callable[..., bool]:
    """Make this process the demo's Airflow (`env` in place of the environment before the first import
    of airflow, `warning_filters` in PYTHONWARNINGS form ahead of Airflow's own, the metadata migrated);
    returns `run_dag(dag_id, log_name, conf=None) -> bool`, True when the run succeeded."""
    if "airflow" in sys.modules:  # its configuration would be read already, without env
        raise RuntimeError("Airflow was imported before the demo's Airflow settings were in place")
    for name in [name for name in os.environ if name not in env]:
        del os.environ[name]  # e.g. the connections of your shell: the demo's own are in env
    os.environ.update(env)
    import airflow.configuration  # noqa: F401 - it installs its warning filters; ours go ahead of them

    for spec in warning_filters:
        action, message, category = spec.split(":")
        warnings.filterwarnings(action, message=re.escape(message), category=getattr(builtins, category))
    with _logged_to(log_dir / "airflow-db-migrate.log"):
        from airflow.utils import db

        db.upgradedb()

    def run_dag(dag_id: str, log_name: str, conf: dict | None = None) -> bool:
        log_path = log_dir / f"{log_name}.log"
        with _logged_to(log_path):
            try:
                from airflow.dag_processing.dagbag import DagBag

                bag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py"), safe_mode=False)
                if bag.import_errors:
                    print(bag.import_errors)
                    ok = False
                else:
                    ok = bag.dags[dag_id].test(run_conf=conf).state == "success"
            except Exception:
                traceback.print_exc()
                ok = False
        if not ok:
            print(f"  FAILED: {dag_id}; log: {log_path}")
            print("  " + "\n  ".join(log_path.read_text().splitlines()[-15:]))
        return ok

    return run_dag


@contextlib.contextmanager
def _logged_to(log_path: Path):
    """Everything written to this process's stdout and stderr (Airflow's logs included) goes to
    `log_path` meanwhile, at the file-descriptor level so that no handler holding a stream escapes."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with log_path.open("w") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        os.close(saved[0])
        os.close(saved[1])
