"""docker-compose.yaml cannot be run here (no Docker engine), so its promises are checked statically."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
LONG_RUNNING = [*AIRFLOW_SERVICES, "postgres", "redis", "hubspot-sandbox"]


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
    assert hubspot["host"] == "http://hubspot-sandbox:8900"
    assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_have_healthchecks(name):
    healthcheck = SERVICES[name]["healthcheck"]
    assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}
    assert healthcheck.get("interval")


def test_init_migrates_metadata_database():
    assert SERVICES["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"


def test_warehouse_database_is_created_beside_metadata():
    postgres = SERVICES["postgres"]
    init_mounts = [volume for volume in postgres["volumes"] if "docker-entrypoint-initdb.d" in volume]
    assert init_mounts
    host_path = init_mounts[0].split(":")[0]
    assert "CREATE DATABASE warehouse" in (ROOT / host_path).read_text()


def test_sandbox_service_runs_the_module_with_fixed_flags():
    sandbox = SERVICES["hubspot-sandbox"]
    assert sandbox["entrypoint"] == ["python", "-m", "hubspot_sandbox"]
    flags = {argument.split("=", 1)[0] for argument in sandbox["command"]}
    assert {"--host", "--port", "--token", "--seed", "--rate-limit"} <= flags
    assert "--port=8900" in sandbox["command"]
    assert "8900:8900" in sandbox["ports"]


@pytest.mark.parametrize("name", list(SERVICES))
def test_mounted_host_paths_exist(name):
    for volume in SERVICES[name].get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).exists(), f"{name} mounts missing {source}"
