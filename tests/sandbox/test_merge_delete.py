"""Merges (a new record with a new id), permanent deletion (GDPR) and the recycle bin's 90-day purge."""

from __future__ import annotations

import httpx
import pytest
from hubspot.crm.contacts import PublicGdprDeleteInput

from tests.sandbox.conftest import assert_hubspot_error

# Contacts and companies: https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies
# Deals: https://developers.hubspot.com/changelog/announcement-deals-now-support-merging ("HubSpot creates a
# new deal from that merge"); tickets: https://developers.hubspot.com/docs/api-reference/crm-tickets-v3/basic/post-crm-v3-objects-tickets-merge
MERGEABLE = {
    "contacts": (
        {"email": "ann@example.com", "firstname": "Ann"},
        {"email": "bea@example.com", "lastname": "B"},
    ),
    "companies": ({"name": "Acme"}, {"name": "Acme Inc", "domain": "acme.example"}),
    "deals": ({"dealname": "Renewal"}, {"dealname": "Renewal 2", "amount": "100"}),
    "tickets": ({"subject": "Broken"}, {"subject": "Still broken", "content": "Details"}),
}
FILLED_FROM_SECONDARY = {
    "contacts": "lastname",
    "companies": "domain",
    "deals": "amount",
    "tickets": "content",
}
# https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/gdpr/gdpr-delete-contact
GDPR_DELETE = "/crm/v3/objects/contacts/gdpr-delete"


def _make(http, object_type: str, **properties: str) -> str:
    response = http.post(f"/crm/v3/objects/{object_type}", json={"properties": properties})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _merge(http, object_type: str, primary: str, secondary: str) -> dict:
    response = http.post(
        f"/crm/v3/objects/{object_type}/merge",
        json={"primaryObjectId": primary, "objectIdToMerge": secondary},
    )
    assert response.status_code == 200, response.text
    return response.json()


def _listed_ids(http, object_type: str, archived: bool = False) -> list[str]:
    params = {"limit": 100, "archived": str(archived).lower()}
    return [r["id"] for r in http.get(f"/crm/v3/objects/{object_type}", params=params).json()["results"]]


def _searched_ids(http, object_type: str) -> list[str]:
    found = http.post(f"/crm/v3/objects/{object_type}/search", json={"limit": 100}).json()
    return [r["id"] for r in found["results"]]


def _batch_read(http, object_type: str, ids: list[str], archived: bool = False) -> dict:
    return http.post(
        f"/crm/v3/objects/{object_type}/batch/read",
        params={"archived": str(archived).lower()},
        json={"inputs": [{"id": i} for i in ids], "properties": []},
    ).json()


@pytest.mark.parametrize("object_type", sorted(MERGEABLE))
def test_merge_makes_a_new_record_that_both_old_ids_resolve_to(sdk, http, object_type):
    # "a new record with a new ID will be created ... fetching any records using the original IDs will
    # return the new merged record with the new ID" (changelog links above MERGEABLE).
    primary_values, secondary_values = MERGEABLE[object_type]
    primary = _make(http, object_type, **primary_values)
    secondary = _make(http, object_type, **secondary_values)
    api = getattr(sdk.crm, object_type).basic_api  # the SDK must read the answer
    merged = api.merge({"primaryObjectId": primary, "objectIdToMerge": secondary})
    assert int(merged.id) > int(secondary) > int(primary)
    assert merged.properties["hs_merged_object_ids"] == f"{primary};{secondary}"
    names = [*primary_values, *secondary_values]
    for old_id in (primary, secondary):
        resolved = http.get(f"/crm/v3/objects/{object_type}/{old_id}", params={"properties": names})
        assert resolved.status_code == 200, resolved.text
        body = resolved.json()
        assert body["id"] == merged.id
        # The primary's values win; the secondary's fill what the primary lacks.
        for name, value in primary_values.items():
            assert body["properties"][name] == value
        filled = FILLED_FROM_SECONDARY[object_type]
        assert body["properties"][filled] == secondary_values[filled]
    read = _batch_read(http, object_type, [primary, secondary])
    assert [r["id"] for r in read["results"]] == [merged.id, merged.id]
    assert _listed_ids(http, object_type) == [merged.id]
    assert _searched_ids(http, object_type) == [merged.id]


def test_merges_chain_and_merged_ids_accumulate(http):
    a, b, d = (_make(http, "companies", name=name) for name in ("A", "B", "D"))
    c = _merge(http, "companies", a, b)["id"]
    e = _merge(http, "companies", c, d)
    assert e["properties"]["hs_merged_object_ids"] == ";".join([a, b, d, c])
    for old_id in (a, b, c, d):
        assert http.get(f"/crm/v3/objects/companies/{old_id}").json()["id"] == e["id"]
    # An old id that now resolves to the other record is that record: merging it into itself is refused.
    assert_hubspot_error(
        http.post("/crm/v3/objects/companies/merge", json={"primaryObjectId": e["id"], "objectIdToMerge": a}),
        400,
    )


def test_merge_moves_the_associations_of_both_and_keeps_the_primary_records_primary(http):
    # "associations from the primary record will be prioritized ... excess 'primary' associations from
    # secondary records will be dropped" (updated-merge-functionality changelog above).
    first, second = _make(http, "companies", name="First"), _make(http, "companies", name="Second")
    deal = _make(http, "deals", dealname="Deal")
    primary = _make(http, "contacts", email="p@example.com")
    secondary = _make(http, "contacts", email="s@example.com")
    http.put(f"/crm/v4/objects/contacts/{primary}/associations/default/companies/{first}")
    http.put(f"/crm/v4/objects/contacts/{secondary}/associations/default/companies/{second}")
    for contact, company in ((primary, first), (secondary, second)):
        labelled = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]
        http.put(f"/crm/v4/objects/contacts/{contact}/associations/companies/{company}", json=labelled)
    http.put(f"/crm/v4/objects/deals/{deal}/associations/default/contacts/{secondary}")
    survivor = _merge(http, "contacts", primary, secondary)["id"]

    companies = http.get(f"/crm/v4/objects/contacts/{survivor}/associations/companies").json()["results"]
    types = {r["toObjectId"]: sorted(t["typeId"] for t in r["associationTypes"]) for r in companies}
    assert types == {int(first): [1, 279], int(second): [279]}
    deal_contacts = http.get(f"/crm/v4/objects/deals/{deal}/associations/contacts").json()["results"]
    assert [r["toObjectId"] for r in deal_contacts] == [int(survivor)]
    company_contacts = http.get(f"/crm/v4/objects/companies/{second}/associations/contacts").json()["results"]
    assert [r["toObjectId"] for r in company_contacts] == [int(survivor)]


@pytest.mark.parametrize("object_type", ["deals", "contacts"])
def test_association_reads_by_an_old_id_come_back_empty(http, object_type):
    # "If you try to get associations using Deal A's dealId, you will receive an empty response"
    # (https://developers.hubspot.com/changelog/announcement-deals-now-support-merging).
    company = _make(http, "companies", name="Acme")
    primary_values, secondary_values = MERGEABLE[object_type]
    old_ids = [_make(http, object_type, **primary_values), _make(http, object_type, **secondary_values)]
    for old_id in old_ids:
        http.put(f"/crm/v4/objects/{object_type}/{old_id}/associations/default/companies/{company}")
    survivor = _merge(http, object_type, *old_ids)["id"]
    for old_id in old_ids:
        listed = http.get(f"/crm/v4/objects/{object_type}/{old_id}/associations/companies")
        assert listed.status_code == 200, listed.text
        assert listed.json()["results"] == []
    read = http.post(
        f"/crm/v4/associations/{object_type}/companies/batch/read",
        json={"inputs": [{"id": i} for i in [*old_ids, survivor]]},
    ).json()
    assert [r["from"]["id"] for r in read["results"]] == [survivor]
    assert sorted(e["context"]["fromObjectId"][0] for e in read["errors"]) == sorted(old_ids)


def test_merging_companies_keeps_each_contacts_primary_company(http):
    kept, merged_away = _make(http, "companies", name="Kept"), _make(http, "companies", name="Gone")
    contacts = [_make(http, "contacts", email=f"c{i}@example.com") for i in range(3)]
    labelled = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]
    for contact, company in zip(contacts, (kept, merged_away, merged_away), strict=True):
        http.put(f"/crm/v4/objects/contacts/{contact}/associations/companies/{company}", json=labelled)
    survivor = _merge(http, "companies", kept, merged_away)["id"]
    for contact in contacts:
        results = http.get(f"/crm/v4/objects/contacts/{contact}/associations/companies").json()["results"]
        assert [(r["toObjectId"], sorted(t["typeId"] for t in r["associationTypes"])) for r in results] == [
            (int(survivor), [1, 279])
        ]


def test_merged_contact_emails(http):
    primary = _make(http, "contacts", email="keep@example.com")
    secondary = _make(http, "contacts", email="other@example.com")
    survivor = _merge(http, "contacts", primary, secondary)
    found = http.get("/crm/v3/objects/contacts/keep@example.com", params={"idProperty": "email"})
    assert found.json()["id"] == survivor["id"]
    read = http.get(
        f"/crm/v3/objects/contacts/{primary}", params={"properties": "email,hs_additional_emails"}
    )
    assert read.json()["properties"] == {
        "email": "keep@example.com",
        "hs_additional_emails": "other@example.com",
    }
    duplicate = http.post("/crm/v3/objects/contacts", json={"properties": {"email": "keep@example.com"}})
    assert_hubspot_error(duplicate, 409, "CONFLICT")
    assert f"Existing ID: {survivor['id']}" in duplicate.json()["message"]
    # "For contacts and companies, you can create a new record with the merged email addresses":
    # https://knowledge.hubspot.com/records/merge-records
    assert (
        http.post("/crm/v3/objects/contacts", json={"properties": {"email": "other@example.com"}}).status_code
        == 201
    )


def test_merge_refusals(http):
    contact = _make(http, "contacts", email="x@example.com")
    itself = {"primaryObjectId": contact, "objectIdToMerge": contact}
    assert_hubspot_error(http.post("/crm/v3/objects/contacts/merge", json=itself), 400)
    unknown = {"primaryObjectId": contact, "objectIdToMerge": "999999"}
    assert_hubspot_error(http.post("/crm/v3/objects/contacts/merge", json=unknown), 404)
    items = [_make(http, "line_items", name=n, price="1") for n in ("a", "b")]
    pair = {"primaryObjectId": items[0], "objectIdToMerge": items[1]}
    assert_hubspot_error(http.post("/crm/v3/objects/line_items/merge", json=pair), 404)


@pytest.mark.parametrize("by", ["id", "email", "old id", "archived", "archived email"])
def test_gdpr_delete_removes_a_contact_for_good(sdk, http, by):
    # "Permanently delete a contact and all associated content" (GDPR_DELETE page above); 204, no body.
    company = _make(http, "companies", name="Acme")
    contact = _make(http, "contacts", email="gone@example.com")
    keeper = _make(http, "contacts", email="stays@example.com")
    http.put(f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}")
    old_ids = [contact]
    if by == "old id":
        other = _make(http, "contacts", email="twin@example.com")
        contact = _merge(http, "contacts", contact, other)["id"]
        old_ids += [other]
    if by.startswith("archived"):
        assert http.delete(f"/crm/v3/objects/contacts/{contact}").status_code == 204
    by_email = {"objectId": "gone@example.com", "idProperty": "email"}
    body = by_email if by.endswith("email") else {"objectId": old_ids[0]}
    sdk.crm.contacts.basic_api.purge(
        PublicGdprDeleteInput(object_id=body["objectId"], id_property=body.get("idProperty"))
    )

    for record_id in [contact, *old_ids]:
        assert_hubspot_error(http.get(f"/crm/v3/objects/contacts/{record_id}"), 404)
        assert_hubspot_error(
            http.get(f"/crm/v3/objects/contacts/{record_id}", params={"archived": "true"}), 404
        )
    assert _listed_ids(http, "contacts") == [keeper]
    assert _listed_ids(http, "contacts", archived=True) == []
    assert _searched_ids(http, "contacts") == [keeper]
    for archived in (False, True):
        read = _batch_read(http, "contacts", [contact], archived=archived)
        assert read["results"] == []
        assert read["numErrors"] == 1
    assert_hubspot_error(
        http.get("/crm/v3/objects/contacts/gone@example.com", params={"idProperty": "email"}), 404
    )
    links = http.get(f"/crm/v4/objects/companies/{company}/associations/contacts").json()["results"]
    assert links == []
    # Its email is free again: a new contact with it is a new record.
    assert (
        http.post("/crm/v3/objects/contacts", json={"properties": {"email": "gone@example.com"}}).status_code
        == 201
    )


def test_gdpr_delete_of_what_does_not_exist(http):
    # An unknown email is accepted (HubSpot blocklists it); an unknown id is not found.
    unknown_email = http.post(GDPR_DELETE, json={"objectId": "nobody@example.com", "idProperty": "email"})
    assert unknown_email.status_code == 204
    assert_hubspot_error(http.post(GDPR_DELETE, json={"objectId": "424242"}), 404, "OBJECT_NOT_FOUND")
    assert_hubspot_error(http.post(GDPR_DELETE, json={}), 400, "VALIDATION_ERROR")
    company = _make(http, "companies", name="Acme")
    companies = http.post("/crm/v3/objects/companies/gdpr-delete", json={"objectId": company})
    assert_hubspot_error(companies, 404)
    assert http.get(f"/crm/v3/objects/companies/{company}").status_code == 200


def test_recycle_bin_is_purged_after_90_days(hubspot, http):
    # "Deleted contacts can be restored within 90 days of deletion":
    # https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/contacts/delete-contact
    deal, kept = _make(http, "deals", dealname="Old"), _make(http, "deals", dealname="Live")
    contact = _make(http, "contacts", email="c@example.com")
    http.put(f"/crm/v4/objects/deals/{deal}/associations/default/contacts/{contact}")
    assert http.delete(f"/crm/v3/objects/deals/{deal}").status_code == 204
    assert hubspot.control("POST", "purge-archived", {})["purged"]["deals"] == 0  # archived today
    assert _listed_ids(http, "deals", archived=True) == [deal]

    purged = hubspot.control("POST", "purge-archived", {"olderThanDays": 0})["purged"]
    assert purged == {"contacts": 0, "companies": 0, "deals": 1, "tickets": 0, "line_items": 0}
    assert _listed_ids(http, "deals", archived=True) == []
    assert _batch_read(http, "deals", [deal], archived=True)["results"] == []
    assert _listed_ids(http, "deals") == [kept]
    links = http.get(f"/crm/v4/objects/contacts/{contact}/associations/deals").json()["results"]
    assert links == []


def test_purge_archived_refuses_a_bad_age(hubspot):
    response = httpx.post(f"{hubspot.url}/_sandbox/purge-archived", json={"olderThanDays": -1})
    assert_hubspot_error(response, 400, "VALIDATION_ERROR")
