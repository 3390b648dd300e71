from pathlib import Path

import pytest

from hubspot_sync.config import DEFAULT_CONFIG_PATH, ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sync.yaml"
    path.write_text(text)
    return path


def test_shipped_config_is_valid_and_ordered():
    config = load_config(DEFAULT_CONFIG_PATH)
    assert config.enabled_objects() == ["companies", "contacts", "deals"]
    assert config.objects["contacts"].properties["email"] == "string"
    assert config.connections.postgres == "postgres_default"


def test_env_var_selects_another_file(tmp_path, monkeypatch):
    path = write(tmp_path, "objects:\n  deals:\n    properties: {amount: number}\n")
    monkeypatch.setenv("HUBSPOT_SYNC_CONFIG", str(path))
    assert load_config().enabled_objects() == ["deals"]


@pytest.mark.parametrize(
    ("text", "key", "valid"),
    [
        (
            "objects:\n  contacts:\n    propertys: {}\n",
            "objects.contacts.propertys",
            "enabled, properties, required",
        ),
        (
            "objects: {}\nschedule: {}\n",
            "schedule",
            "connections, schedules, dag_defaults, thresholds, objects",
        ),
        ("objects:\n  contact: {}\n", "objects.contact", "'contacts'"),
        (
            "objects:\n  deals:\n    properties: {amount: money}\n",
            "objects.deals.properties.amount",
            "'number'",
        ),
        (
            "objects:\n  deals:\n    properties: {Amount: number}\n",
            "objects.deals.properties.Amount",
            "lower case",
        ),
        ("objects:\n  deals:\n    properties: {id: string}\n", "objects.deals.properties", "reserved names"),
        ("objects: {}\nschedules: {extract: hourly}\n", "schedules.extract", "five fields"),
        # Valid cron syntax that matches no date: Airflow would accept the DAG and never run it.
        ("objects: {}\nschedules: {reconcile: '0 0 30 2 *'}\n", "schedules.reconcile", "never fires"),
        ("objects: {}\nschedules: {extract: '0 0 31 4,6 *'}\n", "schedules.extract", "pick a day of month"),
        (
            "objects: {}\nthresholds: {max_reject_share: 2}\n",
            "thresholds.max_reject_share",
            "less than or equal",
        ),
        ("connections: {}\n", "objects", "required key is missing"),
    ],
)
def test_invalid_config_names_file_key_and_what_is_valid(tmp_path, text, key, valid):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert str(path) in message
    problem = next(line for line in message.splitlines() if line.strip().startswith(f"- {key}:"))
    assert valid in problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "not found"),
        ("objects: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
    ],
)
def test_unreadable_config_says_how_to_fix(tmp_path, text, expected):
    path = tmp_path / "sync.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=expected) as raised:
        load_config(path)
    assert str(path) in str(raised.value)


def test_a_cron_that_fires_only_in_leap_years_is_accepted(tmp_path):
    path = write(tmp_path, "objects: {}\nschedules: {reconcile: '0 0 29 2 *'}\n")
    assert load_config(path).schedules.reconcile == "0 0 29 2 *"
