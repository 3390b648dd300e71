"""v4 associations through the SDK, the v3 ``associations`` parameter and HubSpot's type ids."""

from __future__ import annotations

import pytest
from hubspot.crm.associations.v4 import AssociationSpec

from tests.sandbox.conftest import assert_hubspot_error


def _make(http, object_type, **properties) -> str:
    response = http.post(f"/crm/v3/objects/{object_type}", json={"properties": properties})
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def records(http) -> dict[str, str]:
    return {
        "contact": _make(http, "contacts", email="a@example.com"),
        "company": _make(http, "companies", name="Acme"),
        "company2": _make(http, "companies", name="Globex"),
        "deal": _make(http, "deals", dealname="D"),
    }


def test_create_read_and_delete_with_hubspot_type_ids(sdk, http, records):
    basic = sdk.crm.associations.v4.basic_api
    before = http.get(f"/crm/v3/objects/contacts/{records['contact']}").json()["updatedAt"]
    created = basic.create(
        "contacts",
        records["contact"],
        "companies",
        records["company"],
        [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=1)],
    )
    assert created.labels == ["Primary"]
    assert created.from_object_type_id == "0-1"
    assert created.to_object_type_id == "0-2"

    page = basic.get_page("contacts", records["contact"], "companies")
    assert [r.to_object_id for r in page.results] == [records["company"]]
    assert sorted(t.type_id for t in page.results[0].association_types) == [1, 279]
    reverse = basic.get_page("companies", records["company"], "contacts")
    assert sorted(t.type_id for t in reverse.results[0].association_types) == [2, 280]

    after = http.get(f"/crm/v3/objects/contacts/{records['contact']}").json()["updatedAt"]
    assert after == before  # association writes do not bump last-modified, as in HubSpot

    basic.archive("contacts", records["contact"], "companies", records["company"])
    assert basic.get_page("contacts", records["contact"], "companies").results == []


def test_one_primary_company_per_contact(sdk, records):
    basic = sdk.crm.associations.v4.basic_api
    primary = [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=1)]
    basic.create("contacts", records["contact"], "companies", records["company"], primary)
    basic.create("contacts", records["contact"], "companies", records["company2"], primary)
    types = {
        r.to_object_id: sorted(t.type_id for t in r.association_types)
        for r in basic.get_page("contacts", records["contact"], "companies").results
    }
    assert types == {records["company"]: [279], records["company2"]: [1, 279]}


def test_default_and_batch_endpoints(sdk, records):
    basic, batch = sdk.crm.associations.v4.basic_api, sdk.crm.associations.v4.batch_api
    default = basic.create_default("deals", records["deal"], "contacts", records["contact"])
    assert {r.association_spec.association_type_id for r in default.results} == {3, 4}
    created = batch.create(
        "deals",
        "companies",
        {
            "inputs": [
                {
                    "from": {"id": records["deal"]},
                    "to": {"id": records["company"]},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}],
                }
            ]
        },
    )
    assert created.results[0].to_object_id == records["company"]
    batch.create_default(
        "deals",
        "companies",
        {"inputs": [{"from": {"id": records["deal"]}, "to": {"id": records["company2"]}}]},
    )
    read = batch.get_page("deals", "companies", {"inputs": [{"id": records["deal"]}, {"id": "31337"}]})
    assert type(read).__name__.endswith("WithErrors")
    assert read.num_errors == 1
    assert sorted(t.to_object_id for t in read.results[0].to) == sorted(
        [records["company"], records["company2"]]
    )
    batch.archive(
        "deals",
        "companies",
        {"inputs": [{"from": {"id": records["deal"]}, "to": [{"id": records["company"]}]}]},
    )
    read = batch.get_page("deals", "companies", {"inputs": [{"id": records["deal"]}]})
    assert [t.to_object_id for t in read.results[0].to] == [records["company2"]]


def test_v3_associations_parameter_and_create_with_associations(sdk, http, records):
    response = http.post(
        "/crm/v3/objects/deals",
        json={
            "properties": {"dealname": "With links"},
            "associations": [
                {
                    "to": {"id": records["company"]},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}],
                }
            ],
        },
    )
    deal_id = response.json()["id"]
    fetched = sdk.crm.deals.basic_api.get_by_id(deal_id, associations=["companies", "contacts"])
    links = fetched.associations["companies"].results
    assert {(a.id, a.type) for a in links} == {
        (records["company"], "deal_to_company"),
        (records["company"], "deal_to_company_unlabeled"),
    }
    assert "contacts" not in fetched.associations


def test_invalid_association_requests(http, records):
    wrong_type = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]
    path = f"/crm/v4/objects/contacts/{records['contact']}/associations/companies/{records['company']}"
    assert_hubspot_error(http.put(path, json=wrong_type), 400, "VALIDATION_ERROR")
    missing = f"/crm/v4/objects/contacts/{records['contact']}/associations/companies/999999"
    assert_hubspot_error(
        http.put(missing, json=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]), 404
    )
    assert_hubspot_error(
        http.post("/crm/v4/associations/contacts/widgets/batch/read", json={"inputs": []}), 400
    )


def test_per_record_paging(hubspot, http):
    company = _make(http, "companies", name="Big")
    contacts = [_make(http, "contacts", email=f"p{i}@example.com") for i in range(7)]
    for contact in contacts:
        http.put(f"/crm/v4/objects/companies/{company}/associations/default/contacts/{contact}")
    seen, after = [], None
    while True:
        params = {"limit": 3, **({"after": after} if after else {})}
        page = http.get(f"/crm/v4/objects/companies/{company}/associations/contacts", params=params).json()
        seen += [str(r["toObjectId"]) for r in page["results"]]
        if "paging" not in page:
            break
        after = page["paging"]["next"]["after"]
    assert seen == contacts


def test_association_labels_between_types(sdk):
    labels = sdk.crm.associations.v4.schema.definitions_api.get_all("contacts", "companies").results
    assert {(label.type_id, label.label) for label in labels} == {(1, "Primary"), (279, None)}


def test_batch_label_archive_keeps_the_unlabelled_association(sdk, records):
    basic, batch = sdk.crm.associations.v4.basic_api, sdk.crm.associations.v4.batch_api
    primary = [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=5)]
    basic.create("deals", records["deal"], "companies", records["company"], primary)
    batch.archive_labels(
        "deals",
        "companies",
        {
            "inputs": [
                {
                    "from": {"id": records["deal"]},
                    "to": {"id": records["company"]},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}],
                }
            ]
        },
    )
    remaining = basic.get_page("deals", records["deal"], "companies").results
    assert [sorted(t.type_id for t in r.association_types) for r in remaining] == [[341]]


def _contacts_of(http, company_or_deal: tuple[str, str], count: int) -> list[str]:
    """`count` new contacts associated (default type) with one company or deal, in id order."""
    from_type, from_id = company_or_deal
    ids: list[str] = []
    for start in range(0, count, 100):
        inputs = [
            {"properties": {"email": f"c{start + i}@{from_type}-{from_id}.example.com"}}
            for i in range(min(100, count - start))
        ]
        response = http.post("/crm/v3/objects/contacts/batch/create", json={"inputs": inputs})
        assert response.status_code == 201, response.text
        ids += [r["id"] for r in response.json()["results"]]
    links = [{"from": {"id": from_id}, "to": {"id": contact}} for contact in ids]
    response = http.post(
        f"/crm/v4/associations/{from_type}/contacts/batch/associate/default", json={"inputs": links}
    )
    assert response.status_code == 200, response.text
    return sorted(ids, key=int)


def _path(link: str) -> str:
    return link[link.index("/crm/") :]


@pytest.mark.parametrize("read", ["get_by_id", "get_page"])
def test_inline_associations_page_at_100_per_type(sdk, http, read):
    # v3 reads return at most 100 associations of each type per record, with `after` for the rest:
    # https://developers.hubspot.com/changelog/announcing-a-change-to-how-v3-crm-apis-return-association-data
    company = _make(http, "companies", name="Big")
    contacts = _contacts_of(http, ("companies", company), 105)
    api = sdk.crm.companies.basic_api
    if read == "get_by_id":
        record = api.get_by_id(company, associations=["contacts"])
    else:
        record = api.get_page(limit=10, associations=["contacts"]).results[0]
    block = record.associations["contacts"]
    assert [a.id for a in block.results] == contacts[:100]
    assert {a.type for a in block.results} == {"company_to_contact_unlabeled"}
    rest = http.get(_path(block.paging.next.link)).json()
    assert [a["id"] for a in rest["results"]] == contacts[100:]
    assert "paging" not in rest
    again = http.get(
        f"/crm/v3/objects/companies/{company}/associations/contacts",
        params={"after": block.paging.next.after},
    ).json()
    assert again == rest


def test_v4_batch_read_pages_each_input_and_the_cursor_resumes_anywhere(sdk, http):
    # Each input gets its own `paging.next.after`, passed back alongside its `id` for the next page; the
    # `paging` field is present only when there are more pages:
    # https://developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/batch/get-associations
    big, small = _make(http, "deals", dealname="Big"), _make(http, "deals", dealname="Small")
    contacts = _contacts_of(http, ("deals", big), 620)
    few = _contacts_of(http, ("deals", small), 3)
    batch = sdk.crm.associations.v4.batch_api
    first = batch.get_page("deals", "contacts", {"inputs": [{"id": big}, {"id": small}]})
    by_deal = {r._from.id: r for r in first.results}
    assert [t.to_object_id for t in by_deal[big].to] == contacts[:500]
    assert [t.to_object_id for t in by_deal[small].to] == few
    assert by_deal[small].paging is None
    cursor = by_deal[big].paging.next.after
    second = batch.get_page("deals", "contacts", {"inputs": [{"id": big, "after": cursor}]})
    assert [t.to_object_id for t in second.results[0].to] == contacts[500:]
    assert second.results[0].paging is None
    per_record = sdk.crm.associations.v4.basic_api.get_page("deals", big, "contacts", after=cursor, limit=500)
    assert [t.to_object_id for t in per_record.results] == contacts[500:]
    bad = {"inputs": [{"id": big, "after": "not-a-cursor"}]}
    assert_hubspot_error(http.post("/crm/v4/associations/deals/contacts/batch/read", json=bad), 400)


def test_no_associations_is_a_207_error_with_hubspot_sub_category(sdk, records):
    # Batch read errors carry `subCategory` and `context`:
    # https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associate-records/batch/get-associations
    read = sdk.crm.associations.v4.batch_api.get_page(
        "contacts", "companies", {"inputs": [{"id": records["contact"]}, {"id": "31337"}]}
    )
    assert read.results == []
    assert [(e.category, e.sub_category) for e in read.errors] == [
        ("OBJECT_NOT_FOUND", "crm.associations.NO_ASSOCIATIONS_FOUND")
    ] * 2
    assert read.errors[0].message == f"No company is associated with contact {records['contact']}."
    assert read.errors[0].context == {
        "fromObjectId": [records["contact"]],
        "fromObjectType": ["contact"],
        "toObjectType": ["company"],
    }


@pytest.mark.parametrize("names", ["products,quotes", "companies,product,0-14", "line_items,tasks,calls"])
def test_associations_to_types_without_records_read_as_none(http, records, names):
    # Products (0-7), quotes (0-14), tasks, calls and others are standard HubSpot objects; a portal without
    # such records answers with no associations to them:
    # https://developers.hubspot.com/docs/guides/crm/using-object-apis
    http.put(
        f"/crm/v4/objects/contacts/{records['contact']}/associations/default/companies/{records['company']}"
    )
    expected = {"companies"} if "companies" in names else set()
    for path in ("/crm/v3/objects/contacts", f"/crm/v3/objects/contacts/{records['contact']}"):
        response = http.get(path, params={"associations": names})
        assert response.status_code == 200, response.text
        body = response.json()
        record = body["results"][0] if "results" in body else body
        assert set(record.get("associations", {})) == expected
    none = http.post(
        "/crm/v4/associations/contacts/products/batch/read", json={"inputs": [{"id": records["contact"]}]}
    )
    assert none.status_code == 207
    assert none.json()["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"


def test_unknown_association_names_fail_as_on_hubspot(http, records):
    # An object type name HubSpot does not know is refused, as for a custom object named by its name
    # instead of its objectTypeId: https://developers.hubspot.com/docs/guides/crm/using-object-apis
    for path in ("/crm/v3/objects/contacts", f"/crm/v3/objects/contacts/{records['contact']}"):
        body = assert_hubspot_error(http.get(path, params={"associations": "companies,widgets"}), 400)
        assert body["message"] == "Unable to infer object type from: widgets"
