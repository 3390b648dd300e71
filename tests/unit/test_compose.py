"""docker-compose.yaml cannot be run here (no Docker engine), so its promises are checked statically,
and its authentication settings against Airflow's own API app."""

from __future__ import annotations

import base64
import json
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from scripts import compose_env

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
LONG_RUNNING = [*AIRFLOW_SERVICES, "postgres", "redis", "hubspot-sandbox"]
GENERATED_FILES = {compose_env.ENV_FILE, compose_env.PASSWORDS_FILE}
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $${...} is a literal.
VARIABLE = re.compile(r"(?<!\$)\$\{(?P<name>[A-Z0-9_]+)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")
SANDBOX_PORT = 8900


def published_ports() -> list[tuple[str, str]]:
    return [(name, str(port)) for name, service in SERVICES.items() for port in service.get("ports", [])]


def test_all_services_present():
    assert set(SERVICES) == {*AIRFLOW_SERVICES, "airflow-init", "postgres", "redis", "hubspot-sandbox"}


def test_image_extends_pinned_airflow_with_requirements():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.2$", dockerfile, re.MULTILINE)
    assert "pip install --no-cache-dir -r /requirements.txt" in dockerfile


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_image_is_pinned(name):
    image = SERVICES[name]["image"]
    repository, _, tag = image.rpartition(":")
    assert repository, image
    assert re.fullmatch(r"[\w.-]*\d[\w.-]*", tag), f"{image} is not pinned to a version"


@pytest.mark.parametrize(("name", "command"), list(AIRFLOW_SERVICES.items()))
def test_airflow_services_share_celery_setup_mounts_and_connections(name, command):
    service = SERVICES[name]
    environment = service["environment"]
    assert service["command"] == command
    assert service["build"] == "."
    assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert environment["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379")
    for folder in ("dags", "plugins", "include"):
        assert f"./{folder}:/opt/airflow/{folder}" in service["volumes"]
    warehouse = environment["AIRFLOW_CONN_POSTGRES_DEFAULT"]
    metadata = environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert warehouse.rsplit("/", 1)[1] == "warehouse" != metadata.rsplit("/", 1)[1]
    hubspot = yaml.safe_load(environment["AIRFLOW_CONN_HUBSPOT_DEFAULT"])
    assert hubspot["conn_type"] == "http"
    assert hubspot["host"] == f"http://hubspot-sandbox:{SANDBOX_PORT}"
    assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_have_healthchecks(name):
    healthcheck = SERVICES[name]["healthcheck"]
    assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}
    assert healthcheck.get("interval")


def test_init_migrates_metadata_database():
    assert SERVICES["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"


@pytest.mark.parametrize("name", list(SERVICES))
def test_mounted_host_paths_exist_or_are_generated_on_first_run(name):
    for volume in SERVICES[name].get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith("./") and source[2:] not in GENERATED_FILES:
            assert (ROOT / source).exists(), f"{name} mounts missing {source}"


# -- safe by default ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "port"), published_ports())
def test_every_published_port_is_bound_to_loopback(name, port):
    assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
    assert port.count(":") == 2


def test_the_sandbox_and_its_control_api_are_reachable_only_inside_the_stack():
    sandbox = SERVICES["hubspot-sandbox"]
    assert "ports" not in sandbox
    assert sandbox["expose"] == [SANDBOX_PORT]
    assert f"--port={SANDBOX_PORT}" in sandbox["command"]
    assert "--host=0.0.0.0" in sandbox["command"]  # the other containers reach it by service name


def test_sandbox_seeds_are_capped():
    sandbox = SERVICES["hubspot-sandbox"]
    assert sandbox["entrypoint"] == ["python", "-m", "hubspot_sandbox"]
    flags = dict(argument.split("=", 1) for argument in sandbox["command"])
    assert {"--host", "--port", "--token", "--seed", "--rate-limit", "--max-seed-total"} <= set(flags)
    cap = int(flags["--max-seed-total"])
    assert 0 < cap <= 100_000
    startup = sum(int(part.split("=")[1]) for part in flags["--seed"].split(","))
    assert startup <= cap
    assert sandbox["mem_limit"]


@pytest.mark.parametrize("variable", VARIABLE.finditer(COMPOSE_TEXT), ids=lambda match: match["name"])
def test_every_secret_comes_from_env_without_a_fallback(variable):
    if variable["name"] == "AIRFLOW_UID":
        assert variable["op"] == ":-"  # not a secret: the image's default user
        return
    assert variable["op"] == ":?", f"${{{variable['name']}}} must fail when .env is missing"
    assert "make compose-env" in variable["arg"]


def test_no_well_known_credential_is_left():
    for well_known in ("airflow:airflow", "warehouse:warehouse", "change-me", "sandbox-token"):
        assert well_known not in COMPOSE_TEXT
    environment = SERVICES["airflow-scheduler"]["environment"]
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY"):
        assert VARIABLE.fullmatch(environment[key]), key


def test_postgres_superuser_is_not_airflows_and_roles_are_created_with_generated_passwords():
    postgres = SERVICES["postgres"]
    environment = postgres["environment"]
    assert environment["POSTGRES_USER"] != "airflow"
    assert VARIABLE.fullmatch(environment["POSTGRES_PASSWORD"])
    metadata = SERVICES["airflow-scheduler"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "://airflow:${AIRFLOW_DB_PASSWORD:?" in metadata
    init_mounts = [volume for volume in postgres["volumes"] if "docker-entrypoint-initdb.d" in volume]
    assert len(init_mounts) == 1
    script = (ROOT / init_mounts[0].split(":")[0]).read_text()
    for role, variable in (("airflow", "AIRFLOW_DB_PASSWORD"), ("warehouse", "WAREHOUSE_DB_PASSWORD")):
        assert VARIABLE.fullmatch(environment[variable])
        assert f"CREATE DATABASE {role} OWNER {role};" in script
        created = re.search(rf"CREATE ROLE {role} (.*);", script)
        assert created
        assert "NOSUPERUSER" in created[1]
        assert f"PASSWORD :'{role}_password'" in created[1]  # a psql variable, never spliced in
        assert f'{role}_password="${variable}"' in script
    assert (
        subprocess.run(["bash", "-n", str(ROOT / init_mounts[0].split(":")[0])], check=False).returncode == 0
    )


def test_ui_login_is_required_and_its_password_file_is_mounted():
    environment = SERVICES["airflow-apiserver"]["environment"]
    assert environment["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "false"
    assert environment["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == f"{compose_env.ADMIN_USER}:admin"
    target = environment["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert f"./{compose_env.PASSWORDS_FILE}:{target}" in SERVICES["airflow-apiserver"]["volumes"]


def test_first_run_generates_every_required_secret_once_and_owner_only(tmp_path):
    written = compose_env.generate(tmp_path, uid=1234)
    assert written is not None
    env_path, passwords_path, admin_password = written
    values = dict(
        line.split("=", 1) for line in env_path.read_text().splitlines() if line and not line.startswith("#")
    )
    required = {match["name"] for match in VARIABLE.finditer(COMPOSE_TEXT) if match["op"] == ":?"}
    assert required <= set(values)
    assert values["AIRFLOW_UID"] == "1234"
    assert len(base64.urlsafe_b64decode(values["AIRFLOW_FERNET_KEY"])) == 32
    for name in required - {"AIRFLOW_FERNET_KEY"}:
        assert len(values[name]) >= 32, name
        assert re.fullmatch(r"[A-Za-z0-9_-]+", values[name]), name  # safe inside connection URIs
    assert json.loads(passwords_path.read_text()) == {compose_env.ADMIN_USER: admin_password}
    for path in (env_path, passwords_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    before = env_path.read_text()
    assert compose_env.generate(tmp_path, uid=1234) is None  # kept: new keys would lock out the data
    assert env_path.read_text() == before
    other = tmp_path / "other"
    other.mkdir()
    assert compose_env.generate(other, uid=1234)[0].read_text() != before


@pytest.mark.parametrize("generated", sorted(GENERATED_FILES))
def test_generated_secrets_are_never_committed(generated):
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", generated], cwd=ROOT, check=False
    ).returncode
    assert ignored == 0, f"{generated} is not git-ignored"


def test_airflow_api_with_the_compose_auth_settings_wants_a_login(airflow_db, tmp_path, monkeypatch):
    env_path, passwords_path, admin_password = compose_env.generate(tmp_path, uid=1234)
    secrets = dict(line.split("=", 1) for line in env_path.read_text().splitlines() if "=" in line)
    environment = SERVICES["airflow-apiserver"]["environment"]
    for key, value in environment.items():
        if key.startswith(("AIRFLOW__CORE__AUTH_MANAGER", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_")):
            monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords_path))
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets["AIRFLOW_JWT_SECRET"])
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    client = TestClient(create_app())
    assert client.get("/auth/token").status_code == 403  # no admin token for anonymous users
    assert client.get("/api/v2/dags").status_code == 401
    wrong = {"username": compose_env.ADMIN_USER, "password": "admin"}
    assert client.post("/auth/token", json=wrong).status_code == 401
    right = {"username": compose_env.ADMIN_USER, "password": admin_password}
    token = client.post("/auth/token", json=right).json()["access_token"]
    assert client.get("/api/v2/dags", headers={"Authorization": f"Bearer {token}"}).status_code == 200
