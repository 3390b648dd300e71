"""The declarative sync configuration (include/config/sync.yaml), validated when DAGs parse.

Reading it touches only the local file, so DAG files may call `load_config()` at import time.
A mistake fails with one message per problem naming the file, the key and what would be valid.

A broken reverse-ETL model is the exception: it is set aside instead of failing the whole file, so
extraction and reconciliation keep parsing, and only that model's task fails (`SyncConfig.model`).
"""

from __future__ import annotations

import os
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from croniter import CroniterBadDateError, croniter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hubspot_sync import INCLUDE_DIR
from hubspot_sync.objects import OBJECT_TYPES
from hubspot_sync.privacy.minimise import privacy_problems
from hubspot_sync.privacy.settings import RetentionPolicy
from hubspot_sync.reconcile.kinds import ReconcilePolicy
from hubspot_sync.reverse_etl import model_config as model_declarations
from hubspot_sync.reverse_etl.model_config import MODEL_NAME, ObjectTypeName, PropertyName, ReverseEtlModel
from hubspot_sync.writeback.settings import TwoWay

CONFIG_ENV_VAR = "HUBSPOT_SYNC_CONFIG"
DEFAULT_CONFIG_PATH = INCLUDE_DIR / "config" / "sync.yaml"

PropertyType = Literal[
    "string", "number", "bool", "date", "datetime", "enumeration", "multi_enumeration", "phone_number"
]
ConnectionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+$")]

# Columns every mirrored table has; a configured property may not shadow them.
BOOKKEEPING_COLUMNS = frozenset(
    {"id", "properties", "created_at", "updated_at", "archived", "archived_at", "merged_into_id", "synced_at"}
)


# A cron must fire within this many years: 29 February fires every 4 years, and 8 around 2100.
CRON_HORIZON_YEARS = 8


class ConfigError(ValueError):
    """The sync configuration is missing or invalid; the message says where and how to fix it."""


class ModelConfigError(ConfigError):
    """One reverse-ETL model's declaration is invalid; only that model's task fails with it."""


@dataclass(frozen=True)
class BrokenModel:
    """A `models:` entry that failed validation: what its task reports instead of running."""

    name: str
    enabled: bool
    message: str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Connections(_Strict):
    hubspot: ConnectionId = "hubspot_default"
    postgres: ConnectionId = "postgres_default"
    alerts: ConnectionId = "hubspot_sync_alerts"


class Schedules(_Strict):
    extract: str = "*/15 * * * *"
    reverse_etl: str = "0 * * * *"
    reconcile: str = "30 2 * * *"
    # Write-back runs on every outbox notification; this cron catches what a lost notification missed.
    writeback: str = "*/10 * * * *"

    @field_validator("extract", "reverse_etl", "reconcile", "writeback")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value) or len(value.split()) != 5:
            raise ValueError("not a cron expression; use five fields, e.g. '*/15 * * * *'")
        try:
            start = datetime.now(UTC)
            croniter(value, start, max_years_between_matches=CRON_HORIZON_YEARS).get_next(datetime)
        except CroniterBadDateError:
            raise ValueError(
                f"never fires: no date matches it within {CRON_HORIZON_YEARS} years (a day the chosen "
                "months do not have, such as 30 February?); pick a day of month that exists, "
                "e.g. '0 0 28 2 *'"
            ) from None
        return value


class DagDefaults(_Strict):
    owner: str = "data-platform"
    # Sized for a 15-minute schedule (README, "Retries"): a one-minute outage costs about a minute,
    # and every retry of a run is over before the next run is due.
    retries: int = Field(3, ge=0, le=10)
    retry_delay_seconds: int = Field(30, ge=1)
    # Airflow's multiplier: each retry waits between delay * m**(try - 1) and twice that; 0 or 1: constant.
    retry_exponential_backoff: float = Field(2.0, ge=0, le=10)
    max_retry_delay_seconds: int = Field(300, ge=1)


class Thresholds(_Strict):
    # A run fails when more than this share of the records it read was rejected.
    max_reject_share: float = Field(0.05, ge=0, le=1)
    # A reverse-ETL model with `on_leave: clear` refuses to clear more than this share of the records it
    # pushed in one run (a truncated source looks like that); the DAG param force_clear overrides it.
    max_clear_share: float = Field(0.2, ge=0, le=1)
    # CRM search lags writes by seconds: each incremental window starts this far before the cursor.
    search_lookback_minutes: int = Field(3, ge=0, le=24 * 60)
    # Every live record's associations are read once per this many hours by a rolling sweep (a slice
    # each run; about ceil(records / 1000) * 24 / hours calls a day per association type); 0 reads all
    # of them every run. Replaces association_sweep_minutes (see README, "Associations").
    association_sweep_hours: float = Field(24.0, ge=0, le=7 * 24)
    # Archived records are found by reading the whole archive (ceil(archived / 100) calls); 0 reads
    # it every run. Merges are seen every run whatever this says (through the survivor).
    archive_sweep_minutes: int = Field(0, ge=0, le=7 * 24 * 60)
    # Nightly reconciliation alerts when drift exceeds this share of records.
    reconcile_drift_alert_share: float = Field(0.01, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _retired_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and "association_sweep_minutes" in data:
            raise ValueError(
                "association_sweep_minutes is retired: associations are now swept a slice per run; set "
                "association_sweep_hours (how often every record is read, default 24; 0 = every run)"
            )
        return data


class Parallel(_Strict):
    # HubSpot calls one task keeps in flight at once (threads drawing on the shared rate budget in
    # PostgreSQL, which alone keeps every task and worker under HubSpot's limits). A call takes 100-300 ms
    # on a real portal, so one at a time uses a fraction of the budget; 1 makes every task sequential.
    requests_in_flight: int = Field(4, ge=1, le=32)
    # A full load of an object type with at least this many records is read by CRM search over id
    # ranges (from the highest ids down) next to the list cursor (from the lowest up); smaller ones by
    # the list cursor alone.
    split_min_records: int = Field(10_000, ge=1)
    # How many object-type tasks of one DAG run at once (Airflow's max_active_tasks): 0 = all of them.
    max_active_tasks: int = Field(0, ge=0, le=64)


class ObjectConfig(_Strict):
    enabled: bool = True
    # Properties that get a typed column; every other property still lands in `properties` JSONB.
    properties: dict[PropertyName, PropertyType] = Field(default_factory=dict)
    # Properties a record must carry; a record without one is rejected.
    required: tuple[PropertyName, ...] = ()
    # Typed columns edited on both sides, and who wins a conflict (hubspot_sync.writeback.settings).
    two_way: TwoWay = TwoWay()
    # Minimisation (hubspot_sync.privacy.minimise): `all` keeps every property in `properties` JSONB;
    # `listed` keeps the typed and required properties and those under `keep` only.
    properties_kept: Literal["all", "listed"] = "all"
    keep: tuple[PropertyName, ...] = ()
    # Properties never asked for nor stored anywhere (not typed, not in JSONB, not in rejects).
    never_store: tuple[PropertyName, ...] = ()
    # Properties stored as their keyed hash (hubspot_sync.privacy.pseudonym), typed column and JSONB alike.
    pseudonymise: tuple[PropertyName, ...] = ()

    @field_validator("properties")
    @classmethod
    def _no_shadowing(cls, properties: dict[str, str]) -> dict[str, str]:
        shadowed = sorted(BOOKKEEPING_COLUMNS.intersection(properties))
        if shadowed:
            raise ValueError(
                f"{', '.join(shadowed)} would shadow a bookkeeping column; "
                f"reserved names are {', '.join(sorted(BOOKKEEPING_COLUMNS))}"
            )
        return properties

    @model_validator(mode="after")
    def _two_way_columns_exist(self) -> ObjectConfig:
        problems = self.two_way.problems(self.properties)
        if problems:
            raise ValueError(f"two_way.fields: {'; '.join(problems)}")
        return self

    @model_validator(mode="after")
    def _privacy_consistent(self) -> ObjectConfig:
        problems = privacy_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class SyncConfig(_Strict):
    connections: Connections = Connections()
    schedules: Schedules = Schedules()
    dag_defaults: DagDefaults = DagDefaults()
    thresholds: Thresholds = Thresholds()
    parallel: Parallel = Parallel()
    objects: dict[ObjectTypeName, ObjectConfig]
    # The valid models; broken ones are kept apart (see _set_aside_broken_models).
    models: dict[str, ReverseEtlModel] = Field(default_factory=dict)
    # Nightly reconciliation: per kind of difference, `report` or `repair` (hubspot_sync.reconcile.kinds).
    reconcile: ReconcilePolicy = ReconcilePolicy()
    # How long bookkeeping rows are kept, in days (hubspot_sync.privacy.settings).
    retention: RetentionPolicy = RetentionPolicy()
    _broken_models: dict[str, BrokenModel] = PrivateAttr(default_factory=dict)
    _model_order: tuple[str, ...] = PrivateAttr(default=())
    _source: str = PrivateAttr(default="sync configuration")

    def enabled_objects(self) -> list[str]:
        """Enabled object types in registry order (companies before the objects that reference them)."""
        return [name for name in OBJECT_TYPES if name in self.objects and self.objects[name].enabled]

    @model_validator(mode="wrap")
    @classmethod
    def _set_aside_broken_models(cls, data: Any, handler: Any, info: ValidationInfo) -> SyncConfig:
        source = str((info.context or {}).get("source") or "sync configuration")
        raw_models = data.get("models") if isinstance(data, dict) else None
        if not isinstance(raw_models, dict):
            config = handler(data)  # no models, or not a mapping: reported like any other key
            config._source = source
            config._model_order = tuple(config.models)
            return config
        valid: dict[str, ReverseEtlModel] = {}
        broken: dict[str, BrokenModel] = {}
        for name, raw in raw_models.items():
            try:
                valid[name] = ReverseEtlModel.model_validate(raw)
            except ValidationError as error:
                broken[name] = _broken_model(source, str(name), raw, error)
                continue
            hashed_key = _pseudonymised_key(data.get("objects"), valid[name])
            if hashed_key:
                broken[name] = BrokenModel(
                    name, valid.pop(name).enabled, f"{source}: model {name}: {hashed_key}"
                )
        config = handler({**data, "models": valid})
        config._source = source
        config._broken_models = broken
        config._model_order = tuple(str(name) for name in raw_models)
        return config

    @property
    def broken_models(self) -> dict[str, BrokenModel]:
        return dict(self._broken_models)

    def model_names(self) -> list[str]:
        """Enabled models, broken ones included (their task fails), in configuration order.

        A name unfit for a task id cannot become a task: it fails the reverse-ETL DAG alone.
        """
        bad = [name for name in self._model_order if not MODEL_NAME.match(name)]
        if bad:
            raise ConfigError(
                f"{self._source}: models.{bad[0]}: a model name must be lower case letters, digits and "
                "underscores, starting with a letter (it becomes the task id push_<name>)"
            )
        return [
            name
            for name in self._model_order
            if (self.models[name].enabled if name in self.models else self._broken_models[name].enabled)
        ]

    def model(self, name: str) -> ReverseEtlModel:
        """The model `name`; ModelConfigError names the file, the model and what is wrong with it."""
        if name in self._broken_models:
            raise ModelConfigError(self._broken_models[name].message)
        if name not in self.models:
            raise ModelConfigError(
                f"{self._source}: no model {name} under models:; "
                f"configured: {', '.join(self._model_order) or 'none'}"
            )
        return self.models[name]


def _pseudonymised_key(raw_objects: Any, model: ReverseEtlModel) -> str | None:
    """Why a model cannot match on its key, when the key property is stored as its hash."""
    raw_object = raw_objects.get(model.object_type) if isinstance(raw_objects, dict) else None
    hashed = raw_object.get("pseudonymise") if isinstance(raw_object, dict) else None
    if not isinstance(hashed, list):
        return None
    if model.key.property in hashed:
        return (
            f"key.property {model.key.property} is pseudonymised (objects.{model.object_type}.pseudonymise): "
            "the warehouse holds its hash, which no HubSpot record has; key the model on id or on a property "
            "stored in clear"
        )
    pushed = sorted(set(model.properties.values()) & set(hashed))
    if pushed:
        # Reconciliation would compare the pushed clear value with the stored hash and never find them equal.
        return (
            f"properties: {', '.join(pushed)} pseudonymised (objects.{model.object_type}.pseudonymise): "
            "the mirror holds its hash, so what the model pushes could never be checked; push another "
            "property or store this one in clear"
        )
    return None


def _broken_model(source: str, name: str, raw: Any, error: ValidationError) -> BrokenModel:
    sql = raw.get("sql") if isinstance(raw, dict) else None
    sql_file = f" ({model_declarations.MODELS_SQL_DIR / sql})" if isinstance(sql, str) else ""
    problems = "\n".join(
        f"  - {_describe({**problem, 'loc': ('models', name, *problem['loc'])})}"
        for problem in error.errors()
    )
    enabled = not (isinstance(raw, dict) and raw.get("enabled") is False)
    return BrokenModel(name, enabled, f"{source}: model {name}{sql_file} is invalid:\n{problems}")


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)


def load_config(path: Path | str | None = None) -> SyncConfig:
    """The validated configuration from `path`, $HUBSPOT_SYNC_CONFIG or include/config/sync.yaml."""
    return _load_config(Path(path) if path else config_path())


@lru_cache(maxsize=8)
def _load_config(path: Path) -> SyncConfig:
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: sync configuration not found; create it or point {CONFIG_ENV_VAR} at one"
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping with at least the key 'objects'")
    try:
        return SyncConfig.model_validate(raw, context={"source": str(path)})
    except ValidationError as error:
        problems = "\n".join(f"  - {_describe(problem)}" for problem in error.errors())
        raise ConfigError(f"{path}: invalid sync configuration:\n{problems}") from None


def _describe(problem: dict) -> str:
    location = problem["loc"]
    key = ".".join(str(part) for part in location if part != "[key]") or "(top level)"
    if problem["type"] == "extra_forbidden":
        valid = _fields_at(location[:-1])
        return f"{key}: unknown key; valid keys here: {', '.join(valid)}"
    if problem["type"] == "missing":
        return f"{key}: required key is missing"
    message = problem["msg"].removeprefix("Value error, ")
    if problem["type"] == "string_pattern_mismatch":
        message = "must be lower case letters, digits and underscores, starting with a letter"
    return f"{key}: {message} (got {problem.get('input')!r})"


def _fields_at(location: tuple) -> list[str]:
    """Names of the keys the model at `location` accepts, for 'unknown key' messages."""
    annotation: object = SyncConfig
    for part in location:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = annotation.model_fields[part].annotation
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []
