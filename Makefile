# Quick start: `make demo` runs the pipelines end to end on embedded defaults; `make test` runs the checks.
# PostgreSQL: set HUBSPOT_SYNC_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres) to use a server
# of your own; when it is unset, a private throwaway server is started from the pgserver wheel.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: venv lint format test demo demo-stop airflow airflow-stop preflight create-properties bench lock clean \
	compose-env

venv: $(INSTALLED)

UV_PIN = $(shell grep -oE '^uv==[^ ]+' requirements-dev.txt)

# Reinstalls only when a requirements file changed since the last install. uv (pinned in
# requirements-dev.txt) installs the ~170 packages in parallel, several times faster than pip; when uv
# cannot be installed (an index without it), pip does the work. Both show what they do.
$(INSTALLED): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing $(UV_PIN) into $(VENV), then the pinned requirements with it (pip if that fails)"
	if $(PY) -m pip install --disable-pip-version-check --progress-bar on "$(UV_PIN)" && \
		$(PY) -m uv pip install --python $(PY) -r requirements.txt -r requirements-dev.txt; then :; \
	else \
		$(PY) -m pip install --disable-pip-version-check --progress-bar on \
			-r requirements.txt -r requirements-dev.txt; \
	fi
	touch $@

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	$(PY) scripts/with_postgres.py -- $(PY) -m pytest $(PYTEST_ARGS)

demo: venv
	$(PY) -u scripts/demo.py

demo-stop: venv
	$(PY) scripts/demo.py --stop

# The real Airflow services in the background (no Docker), PostgreSQL metadata, the sandbox as HubSpot;
# prints the UI's URL and login. State, logs and the generated login: .airflow-local/.
AIRFLOW_PORT ?= 8080
airflow: venv
	$(PY) -u scripts/airflow_local.py --port $(AIRFLOW_PORT)

airflow-stop: venv
	$(PY) scripts/airflow_local.py --stop

# What a first deployment still lacks: connections, scopes, the models' properties and source tables
# (against the connections of `make airflow` when it has run). `make create-properties` shows the
# missing properties; APPLY=1 creates them.
LOCAL_ENV = if [ -f .airflow-local/env.sh ]; then . ./.airflow-local/env.sh; fi; PYTHONPATH=plugins
preflight: venv
	@$(LOCAL_ENV) $(PY) -m hubspot_sync preflight

create-properties: venv
	@$(LOCAL_ENV) $(PY) -m hubspot_sync create-properties $(if $(APPLY),--apply)

bench: venv
	$(PY) scripts/with_postgres.py -- sh -c 'for b in bench/bench_*.py; do $(PY) $$b || exit 1; done'

lock:
	$(PYTHON) scripts/lock.py

# First run of docker-compose.yaml: its secrets into .env and the UI login (kept if .env exists).
compose-env:
	$(PYTHON) scripts/compose_env.py

clean:
	rm -rf $(VENV) .demo .pytest_cache .ruff_cache
