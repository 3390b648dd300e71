"""Run the sandbox inside a test process: ``with run_sandbox() as hubspot: ...``.

The server runs uvicorn on a free port in a background thread and stops cleanly when the block ends.
The handle offers the URL and token for the code under test, an official SDK client, and small helpers
for the control API (reset, seed, faults, limits, config, bulk last-modified, stats).

    from hubspot_sandbox.testing import run_sandbox

    with run_sandbox(seed={"contacts": 500, "companies": 50}, search_lag_ms=0) as hubspot:  # no index lag
        client = hubspot.sdk_client()
        page = client.crm.contacts.basic_api.get_page(limit=100)
        hubspot.set_faults({"script": [{"endpoint": "POST /crm/v3/objects/{objectType}/search", "call": 3,
                                        "fault": 502}]})
        assert hubspot.stats()["byStatus"]["200"] == 1
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import uvicorn

from hubspot_sandbox.app import build_app, quiet_deliberate_drops
from hubspot_sandbox.limits import DEFAULT_ACCOUNT_TIMEZONE
from hubspot_sandbox.search_index import DEFAULT_JITTER_MS, DEFAULT_LAG_MS
from hubspot_sandbox.state import Sandbox

DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 - the token a local test double accepts, not a secret


@dataclass
class SandboxHandle:
    """A running sandbox. ``sandbox`` is the live in-process state (for white-box assertions)."""

    url: str
    token: str
    sandbox: Sandbox

    def sdk_client(self, **kwargs: Any) -> Any:
        """An official ``hubspot.HubSpot`` client pointed at this sandbox (kwargs go to its constructor)."""
        from hubspot import HubSpot

        return HubSpot(access_token=self.token, host=self.url, **kwargs)

    def http(self, **kwargs: Any) -> httpx.Client:
        """An httpx client with the base URL and bearer token set; close it (or use ``with``)."""
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.url, headers=headers, timeout=kwargs.pop("timeout", 30), **kwargs)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=600)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.control("POST", "reset")

    def seed(
        self, seed_number: int = 0, dirty_share: float = 0.0, associations: bool = True, **counts: int
    ) -> Any:
        body = {**counts, "seed": seed_number, "dirtyShare": dirty_share, "associations": associations}
        return self.control("POST", "seed", body)

    def set_faults(self, plan: dict[str, Any]) -> Any:
        return self.control("PUT", "faults", plan)

    def clear_faults(self) -> Any:
        return self.control("DELETE", "faults")

    def set_limits(self, **body: Any) -> Any:
        """``tier="starter"``, ``tiers={"starter": {"burst_max": 5}}``, ``dailyUsed=249_999``."""
        return self.control("PUT", "limits", body)

    def set_config(self, **body: Any) -> Any:
        """``searchLagMs``, ``searchLagJitterMs``, ``maxUrlBytes``, ``listPageOrder``, search filter caps."""
        return self.control("PUT", "config", body)

    def bulk_touch(self, object_type: str, count: int | None = None, **body: Any) -> Any:
        payload = {"objectType": object_type, **body}
        if count is not None:
            payload["count"] = count
        return self.control("POST", "bulk-touch", payload)

    def stats(self) -> Any:
        return self.control("GET", "stats")

    def reset_stats(self) -> Any:
        return self.control("DELETE", "stats")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextmanager
def run_sandbox(
    token: str = DEFAULT_TOKEN,
    seed: dict[str, int] | None = None,
    seed_number: int = 0,
    rate_limit: str = "off",
    search_lag_ms: int = DEFAULT_LAG_MS,
    search_lag_jitter_ms: int = DEFAULT_JITTER_MS,
    host: str = "127.0.0.1",
    startup_timeout_s: float = 10.0,
    account_timezone: str = DEFAULT_ACCOUNT_TIMEZONE,
    scoped_tokens: dict[str, Iterable[str]] | None = None,
) -> Iterator[SandboxHandle]:
    """Serve a fresh sandbox on a free port for the duration of the block. Search lags writes by 2-5 s,
    as HubSpot's does; ``search_lag_ms=0`` makes every write searchable at once. ``token`` has every scope;
    ``scoped_tokens`` adds tokens that hold only the scopes listed for them."""
    from hubspot_sandbox.seed import seed as seed_records

    sandbox = Sandbox(token, rate_limit=rate_limit, search_lag_ms=search_lag_ms)
    sandbox.set_search_lag(search_lag_ms, search_lag_jitter_ms)
    sandbox.limiter.set_account_timezone(account_timezone)
    if seed:
        seed_records(sandbox, seed, seed_number=seed_number)
    grants = {token: None, **{t: frozenset(scopes) for t, scopes in (scoped_tokens or {}).items()}}
    port = free_port(host)
    app = build_app(sandbox, grants)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    quiet_deliberate_drops()
    thread = threading.Thread(target=server.run, name=f"hubspot-sandbox-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the HubSpot sandbox did not start on {host}:{port}")
        time.sleep(0.01)
    try:
        yield SandboxHandle(url=f"http://{host}:{port}", token=token, sandbox=sandbox)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class SandboxStartError(RuntimeError):
    """The sandbox process did not come up."""


@dataclass
class SandboxProcess:
    """``python -m hubspot_sandbox`` running as a child process."""

    url: str
    token: str
    process: subprocess.Popen
    health: dict[str, Any]


@contextmanager
def sandbox_process(
    *flags: str,
    token: str = DEFAULT_TOKEN,
    host: str = "127.0.0.1",
    output: IO[Any] | int | None = None,
    startup_timeout_s: float = 120.0,
) -> Iterator[SandboxProcess]:
    """Serve the sandbox from its own process on a free port (its CPU and memory are then its own),
    wait until it answers `/_sandbox/health`, and stop it when the block ends. `flags` are extra
    command-line flags such as ``"--seed", "contacts=500"``; `output` receives its stdout and stderr."""
    port = free_port(host)
    command = [sys.executable, "-m", "hubspot_sandbox", "--host", host, "--port", str(port), "--token", token]
    process = subprocess.Popen(  # noqa: S603 - this interpreter, this package, the caller's flags
        [*command, *flags],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
    )
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            try:
                health = httpx.get(f"{url}/_sandbox/health", timeout=2).json()
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"the HubSpot sandbox exited at start-up (code {process.returncode})"
                    ) from None
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the HubSpot sandbox did not answer within {startup_timeout_s:.0f} s"
                    ) from None
                time.sleep(0.1)
        yield SandboxProcess(url, token, process, health)
    finally:
        process.terminate()
        process.wait(timeout=30)
