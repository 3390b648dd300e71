"""Erasure requested from PostgreSQL: a row in `hubspot_sync.erasure_requests` (an email or a contact
id) becomes a GDPR deletion in HubSpot, then the same local erasure as a contact HubSpot deleted for
good (store.erase), and the request's outcome.

HubSpot deletes by id, or by email (which also blocklists the address there). A 404 means HubSpot holds
no such contact (already deleted, or never synced): there is nothing left to delete there, so the local
erasure goes ahead. Any other refusal or outage marks the request `failed` with the HTTP status,
HubSpot's category and correlationId (never the email: HubSpot's message may repeat it) and leaves it
for the next run; an invalid token or the daily limit also stops the run.

Not responsible for: what the warehouse removes (store.py), Airflow concerns (the operator).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from airflow.sdk.exceptions import AirflowFailException

from hubspot_sync.hooks.hubspot import HubSpotError, HubSpotHook
from hubspot_sync.privacy import store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErasureRequest:
    """One run over the open erasure requests."""

    models: tuple[str, ...] = ()  # reverse-ETL models writing contacts: their previews are keyed by id
    max_requests: int = 1000
    run_id: str | None = None
    # How the mirror stores an email: its keyed hash when contacts' email is pseudonymised.
    stored_email: Callable[[str], str] | None = None


@dataclass
class ErasureReport:
    done: int = 0
    failed: int = 0
    records_erased: int = 0
    copies_erased: dict[str, int] = field(default_factory=dict)


class ErasureEngine:
    """Processes open erasure requests, one transaction per request after HubSpot has answered."""

    def __init__(self, hook: HubSpotHook, conn: psycopg.Connection) -> None:
        self.hook = hook
        self.conn = conn

    def run(self, request: ErasureRequest) -> ErasureReport:
        report = ErasureReport()
        with self.conn.transaction():
            pending = store.open_requests(self.conn, request.max_requests)
        for open_request in pending:
            error = self._delete_in_hubspot(open_request)
            with self.conn.transaction():
                if error is not None:
                    store.fail_request(self.conn, open_request.request_id, error)
                    log.warning("Erasure request %s failed: %s", open_request.request_id, error)
                    report.failed += 1
                    continue
                erased = self._erase_locally(open_request, request)
            report.done += 1
            report.records_erased += len(erased.ids)
            for table, rows in erased.copies.items():
                report.copies_erased[table] = report.copies_erased.get(table, 0) + rows
            log.info(
                "Erasure request %s done: %d warehouse rows erased", open_request.request_id, len(erased.ids)
            )
        return report

    def _delete_in_hubspot(self, open_request: store.OpenRequest) -> str | None:
        """None when HubSpot no longer holds the contact; else why not, without the email."""
        if open_request.contact_id is not None:
            object_id, id_property = str(open_request.contact_id), None
        else:
            object_id, id_property = open_request.email, "email"
        try:
            self.hook.gdpr_delete(object_id, id_property=id_property)
        except HubSpotError as error:
            if error.status == 404:
                return None
            category = (getattr(error, "body", None) or {}).get("category") or type(error).__name__
            reason = f"HubSpot GDPR delete failed: HTTP {error.status} {category}"
            if error.correlation_id:
                reason += f" (correlationId {error.correlation_id})"
            if isinstance(error, AirflowFailException):
                with self.conn.transaction():
                    store.fail_request(self.conn, open_request.request_id, reason)
                raise
            return reason
        return None

    def _erase_locally(self, open_request: store.OpenRequest, request: ErasureRequest) -> store.Erased:
        if open_request.contact_id is not None:
            ids = [open_request.contact_id]
        else:
            email = open_request.email
            ids = store.find_contacts(
                self.conn, request.stored_email(email) if request.stored_email else email
            )
        emails = [open_request.email] if open_request.email else []
        return store.erase(
            self.conn,
            "contacts",
            ids,
            reason="erasure_request",
            models=request.models,
            emails=emails,
            run_id=request.run_id,
            request_id=open_request.request_id,
        )
