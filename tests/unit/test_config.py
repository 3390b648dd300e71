from pathlib import Path

import pytest

from hubspot_sync.config import DEFAULT_CONFIG_PATH, ConfigError, ModelConfigError, load_config


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
            "connections, schedules, dag_defaults, thresholds, parallel, objects",
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


CONTACTS = "objects:\n  contacts:\n    properties: {email: string, phone: phone_number, score: number}\n"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("never_store: [phone]", "never_store: phone cannot also be under properties (typed)"),
        ("never_store: [email]\n    required: [email]", "cannot also be under required"),
        ("never_store: [lastmodifieddate]", "always stored"),
        ("properties_kept: listed\n    keep: [city]\n    never_store: [city]", "cannot also be under keep"),
        ("keep: [city]", "applies with properties_kept: listed only"),
        ("properties_kept: some", "'all' or 'listed'"),
        ("pseudonymise: [score]", "score is typed number; its hash is text"),
        ("pseudonymise: [city]\n    never_store: [city]", "cannot also be under pseudonymise"),
        ("pseudonymise: [email]\n    two_way: {fields: {email: default}}", "email is a two_way field"),
    ],
)
def test_contradictory_privacy_settings_are_refused(tmp_path, settings, expected):
    path = write(tmp_path, f"{CONTACTS}    {settings}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    problem = next(line for line in str(raised.value).splitlines() if "objects.contacts" in line)
    assert expected in problem


@pytest.mark.parametrize(
    ("hashed", "expected"),
    [
        ("email", r"key\.property email is pseudonymised"),
        ("usage_score", r"properties: usage_score pseudonymised"),
    ],
)
def test_a_model_keyed_on_or_pushing_a_pseudonymised_property_is_refused_alone(tmp_path, hashed, expected):
    models = (
        "models:\n  by_email:\n    sql: models/contact_usage_score.sql\n    object_type: contacts\n"
        "    key: {column: email, property: email}\n    mode: upsert\n"
        "    properties: {usage_score: usage_score}\n"
    )
    config = load_config(write(tmp_path, f"{CONTACTS}    pseudonymise: [{hashed}]\n{models}"))
    assert config.objects["contacts"].pseudonymise == (hashed,)
    assert config.model_names() == ["by_email"]  # its task fails; extraction still parses
    with pytest.raises(ModelConfigError, match=expected):
        config.model("by_email")


def test_listed_properties_with_a_deny_list_are_accepted(tmp_path):
    settings = "properties_kept: listed\n    keep: [city]\n    never_store: [hs_ip_timezone]\n"
    contacts = load_config(write(tmp_path, f"{CONTACTS}    {settings}")).objects["contacts"]
    assert contacts.properties_kept == "listed"
    assert (contacts.keep, contacts.never_store) == (("city",), ("hs_ip_timezone",))
