"""A reverse-ETL model as declared under `models:` in include/config/sync.yaml.

Kept apart from `hubspot_sync.config` (which embeds it and imports from here, never the other way round)
so that the engine can be read and tested without the rest of the configuration. Validation here only
needs local files; whether the mapped properties exist and are writable in HubSpot is checked at run
time, against the account's live definitions.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from hubspot_sync import SQL_DIR

MODELS_SQL_DIR = SQL_DIR / "reverse_etl"
# The key property that means "the HubSpot record id" rather than a unique property.
RECORD_ID = "id"

ObjectTypeName = Literal["companies", "contacts", "deals", "tickets", "line_items"]
# HubSpot internal property names: lower case, digits and underscores.
PropertyName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
# A column of the model query's result (PostgreSQL folds unquoted names to lower case).
ColumnName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
# A model name becomes the task id push_<name>.
MODEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
SQL_FILE = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)*\.sql$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchKey(_Strict):
    """How a query row finds its HubSpot record: a query column and the property it holds."""

    column: ColumnName
    # `id` (the HubSpot record id) or a property with unique values, such as a contact's `email`.
    property: PropertyName = RECORD_ID


class PropertySpec(_Strict):
    """How `python -m hubspot_sync create-properties` creates a property the model writes, when HubSpot
    lacks it (without one, the type follows the query column's PostgreSQL type)."""

    type: Literal["string", "number", "date", "datetime", "enumeration", "bool"]
    label: str = ""  # default: the name, capitalised
    group: str = ""  # HubSpot property group; default: the object's information group
    # The values an enumeration accepts (each one's label: the value, capitalised).
    options: tuple[Annotated[str, StringConstraints(min_length=1, max_length=100)], ...] = ()

    @model_validator(mode="after")
    def _options_fit_type(self) -> PropertySpec:
        if self.type == "enumeration" and not self.options:
            raise ValueError("an enumeration property needs options: the values the model writes")
        if self.options and self.type != "enumeration":
            raise ValueError(f"options apply to enumeration properties only, not to {self.type}")
        return self


class ReverseEtlModel(_Strict):
    """One query whose rows become property values on HubSpot records."""

    enabled: bool = True
    description: str = ""
    # Path under include/sql/reverse_etl/, e.g. models/contact_usage_score.sql.
    sql: str
    object_type: ObjectTypeName
    key: MatchKey
    # `update` touches existing records only; `upsert` creates a record when the key matches none.
    mode: Literal["update", "upsert"] = "update"
    # Query column -> HubSpot property it is written to.
    properties: dict[ColumnName, PropertyName] = Field(min_length=1)
    # What happens to a record whose row leaves the query: `keep` its values, or `clear` them in HubSpot.
    on_leave: Literal["keep", "clear"] = "keep"
    # An upsert whose key belongs to a record archived in HubSpot would create a second record; such rows
    # are rejected unless this is true.
    recreate_archived: bool = False
    # A value HubSpot refused this many times in a row is held back until the model's value changes.
    max_attempts: int = Field(3, ge=1, le=100)
    # Type and options of mapped custom properties, for `create-properties` and the preflight's checks.
    property_definitions: dict[PropertyName, PropertySpec] = Field(default_factory=dict)
    # A pushed value since changed in HubSpot, when reconciliation repairs it: `repush` the model's
    # value on its next run, or `accept` HubSpot's value as the one pushed.
    on_overwrite: Literal["repush", "accept"] = "repush"

    @property
    def sql_path(self) -> Path:
        return MODELS_SQL_DIR / self.sql

    @field_validator("sql")
    @classmethod
    def _file_exists(cls, sql: str) -> str:
        if not SQL_FILE.match(sql):
            raise ValueError(
                "must be a path under include/sql/reverse_etl/ in lower case letters, digits and "
                "underscores, ending in .sql, e.g. models/contact_usage_score.sql"
            )
        if not (MODELS_SQL_DIR / sql).is_file():
            raise ValueError(f"no such file {MODELS_SQL_DIR / sql}; create it or fix the path")
        return sql

    @model_validator(mode="after")
    def _consistent(self) -> ReverseEtlModel:
        if self.mode == "upsert" and self.key.property == RECORD_ID:
            raise ValueError(
                "mode upsert needs key.property to be a unique property (such as email): "
                "a HubSpot id cannot create a record"
            )
        targets = list(self.properties.values())
        repeated = sorted({name for name in targets if targets.count(name) > 1})
        if repeated:
            raise ValueError(f"two columns map to the same property: {', '.join(repeated)}")
        if self.key.property in targets:
            raise ValueError(f"property {self.key.property} is the match key; do not map a column to it")
        if self.key.column in self.properties:
            raise ValueError(f"column {self.key.column} is the match key; do not map it to a property")
        unmapped = sorted(set(self.property_definitions) - set(targets))
        if unmapped:
            raise ValueError(f"property_definitions name properties no column maps to: {', '.join(unmapped)}")
        return self
