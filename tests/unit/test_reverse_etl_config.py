"""Model declarations in the sync configuration: valid ones load; a wrong one is set aside and its
task's error names the file, the model, its SQL file, the key and the fix, while the rest still loads."""

from pathlib import Path

import pytest

from hubspot_sync.config import DEFAULT_CONFIG_PATH, ConfigError, ModelConfigError, load_config
from hubspot_sync.reverse_etl.model_config import MODELS_SQL_DIR

BASE = "objects:\n  deals: {}\nmodels:\n  m:\n"
GOOD = (
    "    sql: models/contact_usage_score.sql\n"
    "    object_type: contacts\n"
    "    key: {column: email, property: email}\n"
    "    mode: upsert\n"
    "    properties: {usage_score: usage_score}\n"
)
OTHER = (
    "  other:\n"
    "    sql: models/company_churn_risk.sql\n"
    "    object_type: companies\n"
    "    key: {column: company_id}\n"
    "    properties: {churn_risk: churn_risk}\n"
)


def test_shipped_models_load():
    config = load_config(DEFAULT_CONFIG_PATH)
    models = config.models
    assert list(models) == ["contact_usage_score", "company_churn_risk", "deal_billing_status"]
    assert {model.object_type for model in models.values()} == {"contacts", "companies", "deals"}
    assert all(model.sql_path.is_file() for model in models.values())
    assert config.broken_models == {}
    assert config.model_names() == list(models)


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
def test_invalid_model_fails_only_itself_naming_file_model_key_and_fix(
    tmp_path: Path, replace, key, expected
):
    path = tmp_path / "sync.yaml"
    path.write_text(BASE + GOOD.replace(*replace) + OTHER)

    config = load_config(path)

    assert config.enabled_objects() == ["deals"]
    assert list(config.models) == ["other"]
    assert config.model_names() == ["m", "other"]  # the broken model keeps its task, which fails
    assert config.model("other").object_type == "companies"
    with pytest.raises(ModelConfigError) as raised:
        config.model("m")
    message = str(raised.value)
    assert message.startswith(f"{path}: model m (")
    sql = message.split("(", 1)[1].split(")", 1)[0]
    assert sql.startswith(str(MODELS_SQL_DIR))
    assert sql.endswith(".sql")
    problem = next(line for line in message.splitlines() if line.strip().startswith(f"- {key}:"))
    assert expected in problem


def test_disabled_broken_model_gets_no_task(tmp_path: Path):
    path = tmp_path / "sync.yaml"
    path.write_text(
        BASE + "    enabled: false\n" + GOOD.replace("contact_usage_score.sql", "nope.sql") + OTHER
    )
    config = load_config(path)
    assert set(config.broken_models) == {"m"}
    assert config.model_names() == ["other"]


def test_model_name_must_fit_a_task_id(tmp_path: Path):
    path = tmp_path / "sync.yaml"
    path.write_text(BASE.replace("  m:", "  Bad Name:") + GOOD)
    config = load_config(path)  # extraction and reconciliation still parse
    assert config.enabled_objects() == ["deals"]
    with pytest.raises(ConfigError, match=r"models\.Bad Name: a model name must be lower case") as raised:
        config.model_names()
    assert str(path) in str(raised.value)


def test_models_that_are_not_a_mapping_fail_the_whole_file(tmp_path: Path):
    path = tmp_path / "sync.yaml"
    path.write_text("objects: {}\nmodels: [m]\n")
    with pytest.raises(ConfigError, match=r"- models: Input should be a valid dictionary"):
        load_config(path)
