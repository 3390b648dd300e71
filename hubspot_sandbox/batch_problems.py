"""What a batch write found wrong with its inputs, and the one answer HubSpot gives for it.

A batch write with any invalid input fails whole: one 400 VALIDATION_ERROR whose ``message`` holds every
property problem (HubSpot's ``Property values were not valid: [...]`` list), whose ``errors[]`` has one
entry per problem (``message``, ``code``, ``in``, ``context``) and whose ``context`` sums up the offending
inputs and properties. Which input an entry is about is in its ``context`` (``ids`` as sent for update
and upsert, ``inputIndex`` for create) unless the sandbox is told to answer like the portals whose
400s name only properties (``batchErrorsNameInputs: false``): clients must then find the inputs themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hubspot_sandbox.errors import ApiError, batch_error, validation_error

_PROPERTY_PREFIX = "Property values were not valid: "


@dataclass
class Problem:
    reference: dict[str, list[str]]  # which input: {"ids": [...]} or {"inputIndex": [...]}
    error: ApiError


@dataclass
class BatchProblems:
    name_inputs: bool = True
    problems: list[Problem] = field(default_factory=list)

    def add(self, reference: dict[str, list[str]], error: ApiError) -> None:
        self.problems.append(Problem(reference, error))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def as_400(self) -> ApiError:
        """The single answer to a batch with these problems; nothing of the batch is written."""
        details: list[dict[str, Any]] = []
        property_problems: list[dict[str, Any]] = []
        summary: dict[str, list[str]] = {}
        for problem in self.problems:
            reference = problem.reference if self.name_inputs else {}
            for key, values in reference.items():
                summary.setdefault(key, []).extend(v for v in values if v not in summary.get(key, []))
            listed = _property_problems(problem.error)
            if listed is None:
                context = {**(problem.error.context or {}), **reference}
                error = problem.error
                details.append({"message": error.message, "code": error.category, "context": context})
                continue
            property_problems.extend(listed)
            for item in listed:
                name = str(item.get("name"))
                names = summary.setdefault("propertyName", [])
                if name not in names:
                    names.append(name)
                details.append(
                    {
                        "message": item.get("message"),
                        "code": item.get("error"),
                        "in": name,
                        "context": {"propertyName": [name], **reference},
                    }
                )
        if property_problems:
            message = _PROPERTY_PREFIX + json.dumps(property_problems)
        else:
            message = self.problems[0].error.message
        return validation_error(message, context=summary, extra={"errors": details})

    def as_207_errors(self) -> list[dict[str, Any]]:
        """Per-input errors of a partial answer (inputs that carry an objectWriteTraceId)."""
        return [
            batch_error(
                problem.error.category,
                problem.error.message,
                {**(problem.error.context or {}), **problem.reference},
            )
            for problem in self.problems
        ]


def _property_problems(error: ApiError) -> list[dict[str, Any]] | None:
    if not error.message.startswith(_PROPERTY_PREFIX):
        return None
    try:
        listed = json.loads(error.message[len(_PROPERTY_PREFIX) :])
    except ValueError:
        return None
    return listed if isinstance(listed, list) else None
