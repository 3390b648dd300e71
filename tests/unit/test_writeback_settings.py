"""The two_way block of the sync configuration: rules per field, checked when the configuration loads."""

from pathlib import Path

import pytest

from hubspot_sync.config import DEFAULT_CONFIG_PATH, ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sync.yaml"
    path.write_text(text)
    return path


def test_shipped_example_declares_rules_with_an_object_default():
    config = load_config(DEFAULT_CONFIG_PATH)
    assert config.objects["contacts"].two_way.rules() == {
        "jobtitle": "last_write_wins",
        "lifecyclestage": "hubspot_wins",
    }
    assert config.objects["deals"].two_way.rules() == {"dealstage": "postgres_wins"}
    assert config.objects["companies"].two_way.rules() == {}


@pytest.mark.parametrize(
    ("two_way", "message"),
    [
        ("{fields: {amount: default}}", "amount is not a typed column"),
        ("{fields: {hs_lastmodifieddate: default}}", "set by HubSpot itself"),
        (
            "{fields: {dealname: newest_wins}}",
            "'hubspot_wins', 'postgres_wins', 'last_write_wins' or 'default'",
        ),
        ("{rule: pg_wins, fields: {dealname: default}}", "objects.deals.two_way.rule"),
        ("{field: {dealname: default}}", "valid keys here: rule, fields"),
    ],
)
def test_bad_two_way_declarations_fail_naming_the_key(tmp_path, two_way, message):
    text = (
        "objects:\n  deals:\n    properties: {dealname: string, hs_lastmodifieddate: datetime}\n"
        f"    two_way: {two_way}\n"
    )
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    assert message in str(error.value)
    assert "objects.deals" in str(error.value)
