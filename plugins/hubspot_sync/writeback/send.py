"""Batch updates of 100 that isolate what HubSpot refuses, using the reverse ETL's reading of refusals.

HubSpot writes a batch update all or nothing: a 400 naming its inputs has those failed and the rest sent
again; one naming only properties is halved until each bad input is alone (see reverse_etl/send.py for
the cost); one naming neither fails every input. A 207 (records gone) fails the inputs it names.

An updater talks to HubSpot only and keeps its outcome to itself, so the write-back can run one per
chunk on worker threads while the connection's thread settles what they answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hubspot_sync.hooks.hubspot import ApiResponse, HubSpotRequestError
from hubspot_sync.reverse_etl.responses import InputError, input_errors, read_refusal, whole_batch_error
from hubspot_sync.reverse_etl.send import BATCH_SIZE, ISOLATABLE_STATUSES

Inputs = dict[str, dict[str, str]]  # record id -> properties to write


@dataclass
class IsolatingUpdater:
    """Sends `{id: properties}` as batch updates; collects which ids failed and why."""

    call: Callable[[list[dict]], ApiResponse]
    calls: int = 0
    failed: dict[str, InputError] = field(default_factory=dict)

    def send(self, inputs: Inputs) -> dict[str, InputError]:
        ids = list(inputs)
        for start in range(0, len(ids), BATCH_SIZE):
            self._push({i: inputs[i] for i in ids[start : start + BATCH_SIZE]})
        return self.failed

    def _push(self, inputs: Inputs) -> None:
        refusal = self._call(inputs)
        if refusal is not None:
            self._isolate(inputs, refusal)

    def _call(self, inputs: Inputs):
        self.calls += 1
        keys = list(inputs)
        try:
            response = self.call([{"id": key, "properties": inputs[key]} for key in keys])
        except HubSpotRequestError as refused:
            if refused.status in ISOLATABLE_STATUSES:
                return read_refusal(keys, refused.status, refused.body, refused.correlation_id, str(refused))
            self.failed.update(whole_batch_error(keys, "BATCH_REFUSED", str(refused), refused.correlation_id))
            return None
        self.failed.update(input_errors(keys, response.status, response.body, response.headers))
        return None

    def _isolate(self, inputs: Inputs, refusal) -> None:
        named = {key: refusal.named[key] for key in inputs if key in refusal.named}
        if named:
            self.failed.update(named)
            rest = {key: value for key, value in inputs.items() if key not in named}
            if rest:
                self._push(rest)
            return
        if len(inputs) == 1 or not refusal.splittable:
            self.failed.update(dict.fromkeys(inputs, refusal.problem))
            return
        keys = list(inputs)
        half = len(keys) // 2
        left = {key: inputs[key] for key in keys[:half]}
        right = {key: inputs[key] for key in keys[half:]}
        left_refusal = self._call(left)
        if left_refusal is None:
            self._isolate(right, refusal)  # the bad inputs are all on the right
        else:
            self._isolate(left, left_refusal)
            self._push(right)
