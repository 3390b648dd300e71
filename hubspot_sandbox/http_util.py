"""Request parsing and response helpers shared by the route modules."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from hubspot_sandbox.clock import iso_ms, now_ms
from hubspot_sandbox.errors import validation_error
from hubspot_sandbox.state import Sandbox

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
MAX_BATCH_INPUTS = 100
_DECODE_POSITION = re.compile(r"^(?P<reason>.*?)\s*\(byte (?P<byte>\d+)\)$")


def sandbox_of(request: Request) -> Sandbox:
    return request.app.state.sandbox


def json_response(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_encoder.encode(body), status_code, headers=headers, media_type="application/json")


def no_content() -> Response:
    return Response(status_code=204)


async def json_body(request: Request) -> Any:
    """The decoded body, or HubSpot's 400 for malformed JSON or text that is not UTF-8."""
    raw = await request.body()
    if not raw.strip():
        raise validation_error("Invalid input JSON: the request body is empty")
    try:
        return _decoder.decode(raw)
    except UnicodeDecodeError:
        raise validation_error(_invalid_utf8(raw)) from None
    except msgspec.DecodeError as problem:
        found = _DECODE_POSITION.match(str(problem))
        if found is None:
            raise validation_error(f"Invalid input JSON: {problem}") from None
        position = int(found["byte"])
        reason = found["reason"].removeprefix("JSON is malformed: ")
        if reason == "invalid character" and position < len(raw):
            if raw[position] >= 0x80:  # outside a string msgspec does not say it is bad UTF-8
                raise validation_error(_invalid_utf8(raw)) from None
            reason = f"Unexpected character ('{chr(raw[position])}' (code {raw[position]}))"
        raise validation_error(_invalid_json(raw, position, reason)) from None


def _invalid_json(raw: bytes, position: int, reason: str) -> str:
    """HubSpot's wording: ``Invalid input JSON on line 1, column 15: <what is wrong>``."""
    line = raw.count(b"\n", 0, position) + 1
    column = position - (raw.rfind(b"\n", 0, position) + 1) + 1
    return f"Invalid input JSON on line {line}, column {column}: {reason}"


def _invalid_utf8(raw: bytes) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as problem:
        byte = raw[problem.start]
        # A byte that cannot begin a character, or a character cut short (as HubSpot's parser names them).
        kind = "start" if not 0xC2 <= byte <= 0xF4 else "middle"
        shown = byte if kind == "start" or problem.start + 1 >= len(raw) else raw[problem.start + 1]
        return _invalid_json(raw, problem.start, f"Invalid UTF-8 {kind} byte 0x{shown:02x}")
    return "Invalid input JSON: the request body is not UTF-8 text"


async def json_object(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise validation_error("Invalid input JSON: expected an object")
    return body


def batch_inputs(body: dict[str, Any], limit: int = MAX_BATCH_INPUTS) -> list[Any]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise validation_error("Invalid input JSON: `inputs` must be an array")
    if len(inputs) > limit:
        raise validation_error(
            f"Batch input size {len(inputs)} exceeds the limit of {limit} inputs.",
            context={"inputs": [str(len(inputs))]},
        )
    return inputs


def string_list(body: dict[str, Any], key: str) -> list[str] | None:
    """An optional array-of-strings field of a JSON body."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise validation_error(f"Invalid input JSON: `{key}` must be an array of strings")
    return value


def query_list(request: Request, name: str) -> list[str] | None:
    """A repeated or comma-separated array parameter (HubSpot accepts both)."""
    raw = request.query_params.getlist(name)
    if not raw:
        return None
    return [part.strip() for item in raw for part in item.split(",") if part.strip()]


def query_bool(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise validation_error(f"Query parameter {name} must be true or false, got {raw!r}.")
    return lowered == "true"


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.lstrip("-").isdigit() or not low <= int(raw) <= high:
        raise validation_error(
            f"Query parameter {name} must be an integer between {low} and {high}, got {raw!r}."
        )
    return int(raw)


def encode_cursor(record_id: int) -> str:
    """Opaque like HubSpot's (base64 text), but cheap to decode: the id the next page starts at."""
    return base64.urlsafe_b64encode(str(record_id).encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> int:
    if not raw:
        return 0
    if raw.isdigit():
        return int(raw)
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if not decoded.isdigit():
        raise validation_error(
            f"Invalid paging cursor after={raw!r}: pass back the `after` of the previous page."
        )
    return int(decoded)


def batch_envelope(
    results: list[Any], errors: list[dict[str, Any]], started_ms: int
) -> tuple[dict[str, Any], bool]:
    """A batch response body, and whether it is a partial failure (HTTP 207)."""
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso_ms(started_ms),
        "completedAt": iso_ms(now_ms()),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return body, bool(errors)
