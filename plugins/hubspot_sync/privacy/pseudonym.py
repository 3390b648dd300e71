"""Pseudonymised properties: stored as HMAC-SHA256 of the value (hex), keyed by a secret kept in Airflow.

The same value always gives the same hash under one key, so joins and counts on the column still work;
without the key the clear value cannot be recovered or guessed by hashing candidates. Email addresses are
trimmed and lower-cased first, as HubSpot treats them, so that `Ann@X.com ` and `ann@x.com` join.

The key lives in the Airflow Variable `hubspot_sync_pseudonym_key` or, failing that, in the password of
the connection `hubspot_sync_pseudonym`; never in the repository or the sync configuration.
"""

from __future__ import annotations

import hashlib
import hmac

from airflow.sdk.exceptions import AirflowFailException

KEY_VARIABLE = "hubspot_sync_pseudonym_key"
KEY_CONNECTION = "hubspot_sync_pseudonym"


class PseudonymKeyMissing(AirflowFailException):
    """No key to pseudonymise with: final, since a retry finds no key either."""


def pseudonym_key(object_type: str, names: tuple[str, ...]) -> bytes:
    """The HMAC key, from the Variable or else the connection's password; fails naming both."""
    from airflow.sdk import Connection, Variable

    value = Variable.get(KEY_VARIABLE, default=None)
    if not value:
        try:
            value = Connection.get(KEY_CONNECTION).password
        except Exception:  # the connection is optional: any lookup failure means "not there"
            value = None
    if not value:
        raise PseudonymKeyMissing(
            f"{object_type}: pseudonymise lists {', '.join(names)} but no pseudonymisation key is set: "
            f"set the Airflow Variable {KEY_VARIABLE} (or the password of the Airflow connection "
            f"{KEY_CONNECTION}) to a long random secret, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`; keep it: another key gives "
            "other hashes, and joins with hashes made before break"
        )
    return value.encode()


def normalised(text: str, is_email: bool) -> str:
    """What is hashed: trimmed, and lower-cased for an email address."""
    text = text.strip()
    return text.lower() if is_email else text


def pseudonym(key: bytes, text: str, is_email: bool = False) -> str:
    """The stored form of `text`: HMAC-SHA256 hex of its normalised form."""
    return hmac.new(key, normalised(text, is_email).encode(), hashlib.sha256).hexdigest()
