"""scripts/airflow_local.py: the metadata URL the Airflow services get, for TCP and Unix-socket servers."""

import pytest
from sqlalchemy.engine import make_url

from scripts.airflow_local import sqlalchemy_url


@pytest.mark.parametrize(
    ("libpq", "host", "port", "query"),
    [
        ("postgresql://u:p%40ss@db.example:5433/meta", "db.example", 5433, {}),
        # The embedded server listens only on a socket in its data directory (pgserver's URL form).
        (
            "postgresql://postgres:@/meta?host=/run/hubspot-sync-demo-me/pg",
            None,
            None,
            {"host": "/run/hubspot-sync-demo-me/pg"},
        ),
    ],
    ids=["tcp", "unix_socket"],
)
def test_metadata_url_keeps_server_database_and_login(libpq, host, port, query):
    url = make_url(sqlalchemy_url(libpq))
    assert (url.drivername, url.database, url.host, url.port, dict(url.query)) == (
        "postgresql+psycopg2",
        "meta",
        host,
        port,
        query,
    )
    assert url.password == ("p@ss" if host else None)
