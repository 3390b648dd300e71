"""Model declarations in the sync configuration: valid ones load, wrong ones say file, key and fix."""

from pathlib import Path

import pytest

from hubspot_sync.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from hubspot_sync.reverse_etl.model_config import check_model_names

BASE = "objects: {}\nmodels:\n  m:\n"
GOOD = (
    "    sql: models/contact_usage_score.sql\n"
    "    object_type: contacts\n"
    "    key: {column: email, property: email}\n"
    "    mode: upsert\n"
    "    properties: {usage_score: usage_score}\n"
)


def test_shipped_models_load():
    models = load_config(DEFAULT_CONFIG_PATH).models
    assert list(models) == ["contact_usage_score", "company_churn_risk", "deal_billing_status"]
    assert {model.object_type for model in models.values()} == {"contacts", "companies", "deals"}
    assert all(model.sql_path.is_file() for model in models.values())
    assert check_model_names(models) == list(models)


@pytest.mark.parametrize(
    ("replace", "key", "expected"),
    [
        (("mode: upsert", "mode: merge"), "models.m.mode", "'update' or 'upsert'"),
        (("key: {", "kee: {"), "models.m.kee", "valid keys here: enabled, description, sql"),
        (("contact_usage_score.sql", "nope.sql"), "models.m.sql", "no such file"),
        (("sql: models/", "sql: ../"), "models.m.sql", "must be a path under include/sql/reverse_etl/"),
        (("property: email}", "property: id}"), "models.m", "mode upsert needs key.property"),
        (("{usage_score: usage_score}", "{a: x, b: x}"), "models.m", "two columns map to the same property"),
        (("{usage_score: usage_score}", "{}"), "models.m.properties", "at least 1 item"),
        (("key: {column: email", "key: {columm: email"), "models.m.key.columm", "column, property"),
    ],
)
def test_invalid_model_names_file_key_and_fix(tmp_path: Path, replace, key, expected):
    path = tmp_path / "sync.yaml"
    path.write_text(BASE + GOOD.replace(*replace))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert str(path) in message
    problem = next(line for line in message.splitlines() if line.strip().startswith(f"- {key}:"))
    assert expected in problem


def test_model_name_must_fit_a_task_id(tmp_path: Path, monkeypatch):
    path = tmp_path / "sync.yaml"
    path.write_text(BASE.replace("  m:", "  Bad Name:") + GOOD)
    monkeypatch.setenv("HUBSPOT_SYNC_CONFIG", str(path))
    with pytest.raises(ConfigError, match=r"models\.Bad Name: a model name must be lower case"):
        check_model_names(load_config().models)
