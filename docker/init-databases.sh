#!/bin/bash
# Runs once, when the PostgreSQL volume is first initialised: Airflow's metadata database and the
# warehouse the sync writes to, kept apart and each owned by its own login role. Neither role is a
# superuser; the passwords come from .env (scripts/compose_env.py), passed as psql variables so that
# no value is ever spliced into SQL text.
set -euo pipefail

psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v airflow_password="$AIRFLOW_DB_PASSWORD" \
    -v warehouse_password="$WAREHOUSE_DB_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;

CREATE ROLE warehouse LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'warehouse_password';
CREATE DATABASE warehouse OWNER warehouse;
REVOKE ALL ON DATABASE warehouse FROM PUBLIC;
SQL
