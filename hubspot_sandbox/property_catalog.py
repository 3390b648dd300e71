"""HubSpot's default properties per object type (a representative subset), plus a few custom ones.

Names, types, field types and option values follow HubSpot's own definitions, so a sync's type mapping meets
the shapes it will meet in a real portal: enumerations with internal option values, multi-select checkboxes,
dates, datetimes, numbers, booleans, a calculated property and a unique one.
"""

from __future__ import annotations

from hubspot_sandbox.properties import Option, PropertyDef

# A fixed creation time for built-in definitions keeps the Properties API output deterministic.
CATALOG_EPOCH_MS = 1_577_836_800_000  # 2020-01-01T00:00:00.000Z

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
LEAD_STATUSES = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
)
INDUSTRIES = (
    "COMPUTER_SOFTWARE",
    "FINANCIAL_SERVICES",
    "HOSPITAL_HEALTH_CARE",
    "RETAIL",
    "MARKETING_AND_ADVERTISING",
)
DEAL_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
)
DEAL_TYPES = ("newbusiness", "existingbusiness")
TICKET_STAGES = ("1", "2", "3", "4")
TICKET_PRIORITIES = ("LOW", "MEDIUM", "HIGH", "URGENT")
TICKET_CATEGORIES = ("PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY")
CUSTOMER_TIERS = ("bronze", "silver", "gold", "platinum")
INTERESTS = ("analytics", "automation", "integrations", "reporting", "security")


def _options(values: tuple[str, ...]) -> list[Option]:
    return [Option(label=v.replace("_", " ").title(), value=v, display_order=i) for i, v in enumerate(values)]


def _prop(name: str, label: str, type_name: str, field_type: str, group: str, **kwargs) -> PropertyDef:
    options = kwargs.pop("options", ())
    return PropertyDef(
        name=name,
        label=label,
        type=type_name,
        field_type=field_type,
        group_name=group,
        options=_options(options) if options else [],
        created_ms=CATALOG_EPOCH_MS,
        updated_ms=CATALOG_EPOCH_MS,
        **kwargs,
    )


def _bookkeeping(group: str, last_modified: str) -> list[PropertyDef]:
    read_only = {"read_only_value": True}
    return [
        _prop("hs_object_id", "Record ID", "number", "number", group, **read_only),
        _prop("createdate", "Create Date", "datetime", "date", group, **read_only),
        _prop(last_modified, "Last Modified Date", "datetime", "date", group, **read_only),
    ]


def _merge_bookkeeping(group: str) -> list[PropertyDef]:
    return [
        _prop(
            "hs_merged_object_ids",
            "Merged Record IDs",
            "enumeration",
            "checkbox",
            group,
            read_only_value=True,
        )
    ]


def contact_properties() -> list[PropertyDef]:
    group = "contactinformation"
    return [
        *_bookkeeping(group, "lastmodifieddate"),
        *_merge_bookkeeping(group),
        _prop("email", "Email", "string", "text", group, has_unique_value=True),
        _prop(
            "hs_additional_emails",
            "Additional email addresses",
            "enumeration",
            "checkbox",
            group,
            read_only_value=True,
        ),
        _prop("firstname", "First Name", "string", "text", group),
        _prop("lastname", "Last Name", "string", "text", group),
        _prop("phone", "Phone Number", "phone_number", "phonenumber", group),
        _prop("company", "Company Name", "string", "text", group),
        _prop("jobtitle", "Job Title", "string", "text", group),
        _prop("website", "Website URL", "string", "text", group),
        _prop("city", "City", "string", "text", group),
        _prop("country", "Country/Region", "string", "text", group),
        _prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", group, options=LIFECYCLE_STAGES),
        _prop(
            "hs_lead_status", "Lead Status", "enumeration", "radio", "sales_properties", options=LEAD_STATUSES
        ),
        _prop("date_of_birth", "Date of birth", "date", "date", group),
        _prop("hs_email_optout", "Unsubscribed from all email", "bool", "booleancheckbox", group),
        _prop(
            "customer_tier",
            "Customer tier",
            "enumeration",
            "select",
            group,
            options=CUSTOMER_TIERS,
            hubspot_defined=False,
        ),
        _prop(
            "interests",
            "Interests",
            "enumeration",
            "checkbox",
            group,
            options=INTERESTS,
            hubspot_defined=False,
        ),
        _prop("usage_score", "Usage score", "number", "number", group, hubspot_defined=False),
        _prop("is_vip", "VIP", "bool", "booleancheckbox", group, hubspot_defined=False),
        _prop("signup_date", "Signup date", "date", "date", group, hubspot_defined=False),
        _prop("last_login_at", "Last login", "datetime", "date", group, hubspot_defined=False),
    ]


def company_properties() -> list[PropertyDef]:
    group = "companyinformation"
    return [
        *_bookkeeping(group, "hs_lastmodifieddate"),
        *_merge_bookkeeping(group),
        _prop("name", "Company name", "string", "text", group),
        _prop("domain", "Company Domain Name", "string", "text", group),
        _prop("website", "Website URL", "string", "text", group),
        _prop("phone", "Phone Number", "phone_number", "phonenumber", group),
        _prop("industry", "Industry", "enumeration", "select", group, options=INDUSTRIES),
        _prop("city", "City", "string", "text", group),
        _prop("country", "Country/Region", "string", "text", group),
        _prop("numberofemployees", "Number of Employees", "number", "number", group),
        _prop("annualrevenue", "Annual Revenue", "number", "number", group),
        _prop("is_public", "Is Public", "bool", "booleancheckbox", group),
        _prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", group, options=LIFECYCLE_STAGES),
        _prop(
            "billing_status",
            "Billing status",
            "enumeration",
            "select",
            group,
            options=("active", "past_due", "cancelled"),
            hubspot_defined=False,
        ),
        _prop("churn_risk", "Churn risk", "number", "number", group, hubspot_defined=False),
    ]


def deal_properties() -> list[PropertyDef]:
    group = "dealinformation"
    return [
        *_bookkeeping(group, "hs_lastmodifieddate"),
        *_merge_bookkeeping(group),
        _prop("dealname", "Deal Name", "string", "text", group),
        _prop("amount", "Amount", "number", "number", group),
        _prop("dealstage", "Deal Stage", "enumeration", "radio", group, options=DEAL_STAGES),
        _prop("pipeline", "Pipeline", "enumeration", "select", group, options=("default",)),
        _prop("closedate", "Close Date", "datetime", "date", group),
        _prop("dealtype", "Deal Type", "enumeration", "radio", group, options=DEAL_TYPES),
        _prop("description", "Deal Description", "string", "textarea", group),
        _prop(
            "hs_is_closed",
            "Is Closed",
            "bool",
            "booleancheckbox",
            group,
            calculated=True,
            read_only_value=True,
        ),
    ]


def ticket_properties() -> list[PropertyDef]:
    group = "ticketinformation"
    return [
        *_bookkeeping(group, "hs_lastmodifieddate"),
        *_merge_bookkeeping(group),
        _prop("subject", "Ticket name", "string", "text", group),
        _prop("content", "Ticket description", "string", "textarea", group),
        _prop("hs_pipeline", "Pipeline", "enumeration", "select", group, options=("0",)),
        _prop("hs_pipeline_stage", "Ticket status", "enumeration", "select", group, options=TICKET_STAGES),
        _prop("hs_ticket_priority", "Priority", "enumeration", "select", group, options=TICKET_PRIORITIES),
        _prop("hs_ticket_category", "Category", "enumeration", "checkbox", group, options=TICKET_CATEGORIES),
    ]


def line_item_properties() -> list[PropertyDef]:
    group = "lineiteminformation"
    return [
        *_bookkeeping(group, "hs_lastmodifieddate"),
        _prop("name", "Name", "string", "text", group),
        _prop("hs_sku", "SKU", "string", "text", group),
        _prop("description", "Description", "string", "textarea", group),
        _prop("price", "Unit price", "number", "number", group),
        _prop("quantity", "Quantity", "number", "number", group),
        _prop("discount", "Unit discount", "number", "number", group),
        _prop(
            "amount",
            "Net price",
            "number",
            "calculation_equation",
            group,
            calculated=True,
            read_only_value=True,
        ),
    ]


CATALOG = {
    "contacts": contact_properties,
    "companies": company_properties,
    "deals": deal_properties,
    "tickets": ticket_properties,
    "line_items": line_item_properties,
}
