"""Deterministic seeding of realistic CRM data, including associations and, on request, dirty values.

Determinism: the same seed number, counts and options on a freshly reset sandbox give identical ids, values
and timestamps. Timestamps are relative to a fixed epoch (SEED_EPOCH_MS, 2024-01-01T00:00:00Z), spread over
one year, never to the time the seed runs; writes made later through the API carry the real clock, so they
always sort after seeded data.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

from hubspot_sandbox.clock import DAY_MS, iso_date, iso_ms
from hubspot_sandbox.errors import validation_error
from hubspot_sandbox.object_types import OBJECT_TYPES
from hubspot_sandbox.property_catalog import (
    CUSTOMER_TIERS,
    DEAL_STAGES,
    DEAL_TYPES,
    INDUSTRIES,
    INTERESTS,
    LEAD_STATUSES,
    LIFECYCLE_STAGES,
    TICKET_CATEGORIES,
    TICKET_PRIORITIES,
    TICKET_STAGES,
)
from hubspot_sandbox.records import Record, recalculate
from hubspot_sandbox.seed_data import (
    CITIES,
    COMPANY_SUFFIXES,
    COMPANY_WORDS,
    DEAL_KINDS,
    FIRST_NAMES,
    JOB_TITLES,
    LAST_NAMES,
    PRODUCTS,
    TICKET_SUBJECTS,
)
from hubspot_sandbox.sources import IMPORT
from hubspot_sandbox.state import Sandbox

SEED_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00.000Z
SEED_SPAN_MS = 365 * DAY_MS
SEED_ORDER = ("companies", "contacts", "deals", "tickets", "line_items")
MAX_SEED_TOTAL = 5_000_000

_SMALL_NUMBERS = [str(n) for n in range(1001)]
_DATES = [iso_date(SEED_EPOCH_MS - DAY_MS * days) for days in range(3 * 365)]
_INTEREST_SETS = [";".join(c) for k in (1, 2, 3) for c in itertools.combinations(INTERESTS, k)]
_BOOLS = ("true", "false")


class SeedContext:
    """What the per-type generators share: the random source and the ids seeded so far per type."""

    def __init__(self, sandbox: Sandbox, seed: int, dirty_share: float) -> None:
        self.sandbox = sandbox
        self.seed = seed
        self.dirty_share = dirty_share
        # Records seeded earlier are fair game for associations too.
        companies = sandbox.tables["companies"].live
        self.company_ids: list[int] = list(companies)
        self.company_names: dict[int, tuple[str, str]] = {
            record_id: (record.props.get("name", ""), record.props.get("domain", "example.com"))
            for record_id, record in companies.items()
        }
        self.contact_ids: list[int] = list(sandbox.tables["contacts"].live)
        self.deal_ids: list[int] = list(sandbox.tables["deals"].live)


def parse_counts(raw: str) -> dict[str, int]:
    """``contacts=1000,companies=100`` (the --seed flag) as a dict of counts."""
    counts: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        name, _, number = part.partition("=")
        if name not in OBJECT_TYPES or not number.isdigit():
            raise ValueError(f"bad seed entry {part!r}: expected TYPE=N with TYPE in {list(OBJECT_TYPES)}")
        counts[name] = int(number)
    return counts


def seed(
    sandbox: Sandbox,
    counts: dict[str, int],
    seed_number: int = 0,
    dirty_share: float = 0.0,
    associate: bool = True,
) -> dict[str, Any]:
    unknown = set(counts) - set(OBJECT_TYPES)
    if unknown or any(not isinstance(n, int) or n < 0 for n in counts.values()):
        raise validation_error(f"Seed counts must be non-negative integers per object type, got {counts}")
    limit = min(MAX_SEED_TOTAL, sandbox.max_seed_total or MAX_SEED_TOTAL)
    if sum(counts.values()) > limit:
        raise validation_error(f"Seeding more than {limit} records at once is not supported.")
    if not 0.0 <= dirty_share <= 1.0:
        raise validation_error("dirtyShare must be between 0 and 1")
    context = SeedContext(sandbox, seed_number, dirty_share)
    created = {}
    for name in SEED_ORDER:
        count = counts.get(name, 0)
        if count:
            _seed_type(context, name, count, associate)
            created[name] = count
    return {"created": created, "seed": seed_number, "epoch": iso_ms(SEED_EPOCH_MS)}


def _seed_type(context: SeedContext, name: str, count: int, associate: bool) -> None:
    sandbox = context.sandbox
    table = sandbox.tables[name]
    rng = random.Random(f"{context.seed}:{name}")
    make_values, link = GENERATORS[name]
    step = max(1, SEED_SPAN_MS // count)
    records = []
    for index in range(count):
        record_id = sandbox.next_id()
        created = SEED_EPOCH_MS + index * step + rng.randrange(step)
        updated = created + rng.randrange(max(1, SEED_EPOCH_MS + SEED_SPAN_MS - created))
        props = make_values(context, rng, record_id)
        recalculate(name, props)
        records.append(Record(record_id, created, updated, props, IMPORT))
    table.load(records)
    if associate:
        for record in records:
            link(context, rng, record.id)


def _dirty(context: SeedContext, rng: random.Random) -> bool:
    return context.dirty_share > 0 and rng.random() < context.dirty_share


def _company_values(context: SeedContext, rng: random.Random, record_id: int) -> dict[str, str]:
    word = rng.choice(COMPANY_WORDS)
    name = f"{word} {rng.choice(COMPANY_SUFFIXES)}"
    domain = f"{word.lower().replace(' ', '')}{record_id}.com"
    city, country = rng.choice(CITIES)
    context.company_ids.append(record_id)
    context.company_names[record_id] = (name, domain)
    values = {
        "name": name,
        "domain": domain,
        "website": f"https://www.{domain}",
        "industry": rng.choice(INDUSTRIES),
        "city": city,
        "country": country,
        "numberofemployees": _SMALL_NUMBERS[rng.randrange(1, 1001)],
        "annualrevenue": str(rng.randrange(50, 50_000) * 1000),
        "is_public": rng.choice(_BOOLS),
        "lifecyclestage": rng.choice(LIFECYCLE_STAGES),
        "billing_status": rng.choice(("active", "active", "active", "past_due", "cancelled")),
    }
    if _dirty(context, rng):
        values["name"] = f"  {name} "
    return values


def _contact_values(context: SeedContext, rng: random.Random, record_id: int) -> dict[str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    company_id = rng.choice(context.company_ids) if context.company_ids else None
    company, domain = context.company_names[company_id] if company_id else ("", "example.com")
    city, country = rng.choice(CITIES)
    values = {
        "firstname": first,
        "lastname": last,
        "email": f"{first}.{last}.{record_id}@{domain}".lower().replace("'", ""),
        "phone": f"+1 {rng.randrange(200, 999)} 555 {rng.randrange(1000, 9999)}",
        "jobtitle": rng.choice(JOB_TITLES),
        "city": city,
        "country": country,
        "lifecyclestage": rng.choice(LIFECYCLE_STAGES),
        "hs_lead_status": rng.choice(LEAD_STATUSES),
        "customer_tier": rng.choice(CUSTOMER_TIERS),
        "interests": rng.choice(_INTEREST_SETS),
        "usage_score": _SMALL_NUMBERS[rng.randrange(101)],
        "is_vip": rng.choice(_BOOLS),
        "signup_date": rng.choice(_DATES),
    }
    if company:
        values["company"] = company
    if _dirty(context, rng):
        kind = rng.randrange(3)
        if kind == 0:
            values["email"] = values["email"].replace("@", "@@")  # malformed, as old imports leave them
        elif kind == 1:
            values["firstname"] = f" {first}  "
        else:
            values["email"] = values["email"].upper()
    return values


def _deal_values(context: SeedContext, rng: random.Random, record_id: int) -> dict[str, str]:
    company_id = rng.choice(context.company_ids) if context.company_ids else None
    company = context.company_names[company_id][0] if company_id else "Prospect"
    return {
        "dealname": f"{company} - {rng.choice(DEAL_KINDS)}",
        "amount": str(rng.randrange(5, 2_000) * 100),
        "dealstage": rng.choice(DEAL_STAGES),
        "pipeline": "default",
        "closedate": iso_ms(SEED_EPOCH_MS + rng.randrange(2 * SEED_SPAN_MS)),
        "dealtype": rng.choice(DEAL_TYPES),
    }


def _ticket_values(context: SeedContext, rng: random.Random, record_id: int) -> dict[str, str]:
    subject = rng.choice(TICKET_SUBJECTS)
    return {
        "subject": subject,
        "content": f"{subject}. Reported via the support form.",
        "hs_pipeline": "0",
        "hs_pipeline_stage": rng.choice(TICKET_STAGES),
        "hs_ticket_priority": rng.choice(TICKET_PRIORITIES),
        "hs_ticket_category": rng.choice(TICKET_CATEGORIES),
    }


def _line_item_values(context: SeedContext, rng: random.Random, record_id: int) -> dict[str, str]:
    name, sku, price = rng.choice(PRODUCTS)
    return {"name": name, "hs_sku": sku, "price": price, "quantity": _SMALL_NUMBERS[rng.randrange(1, 20)]}


def _link_nothing(context: SeedContext, rng: random.Random, record_id: int) -> None:
    return None


def _link_contact(context: SeedContext, rng: random.Random, record_id: int) -> None:
    context.contact_ids.append(record_id)
    if context.company_ids and rng.random() < 0.9:
        context.sandbox.associations.add(
            "contacts", record_id, "companies", rng.choice(context.company_ids), {1}
        )


def _link_deal(context: SeedContext, rng: random.Random, record_id: int) -> None:
    context.deal_ids.append(record_id)
    store = context.sandbox.associations
    if context.company_ids:
        store.add("deals", record_id, "companies", rng.choice(context.company_ids), {5})
    if context.contact_ids:
        store.add("deals", record_id, "contacts", rng.choice(context.contact_ids), {3})


def _link_ticket(context: SeedContext, rng: random.Random, record_id: int) -> None:
    store = context.sandbox.associations
    if context.contact_ids:
        store.add("tickets", record_id, "contacts", rng.choice(context.contact_ids), {16})
    if context.company_ids:
        store.add("tickets", record_id, "companies", rng.choice(context.company_ids), {26})


def _link_line_item(context: SeedContext, rng: random.Random, record_id: int) -> None:
    if context.deal_ids:
        context.sandbox.associations.add("line_items", record_id, "deals", rng.choice(context.deal_ids), {20})


Generator = Callable[[SeedContext, random.Random, int], Any]
GENERATORS: dict[str, tuple[Generator, Generator]] = {
    "companies": (_company_values, _link_nothing),
    "contacts": (_contact_values, _link_contact),
    "deals": (_deal_values, _link_deal),
    "tickets": (_ticket_values, _link_ticket),
    "line_items": (_line_item_values, _link_line_item),
}
