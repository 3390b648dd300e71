"""--max-seed-total caps what one seed may create, through the flag and the control API alike.

A control-API guard of the emulator, not HubSpot behaviour: HubSpot has no seed endpoint. The compose
stack sets it so a shared sandbox cannot be asked for millions of records.
"""

from __future__ import annotations

import subprocess
import sys

import httpx

from hubspot_sandbox.testing import sandbox_process


def test_seed_requests_beyond_the_cap_are_refused_and_the_cap_survives_a_reset():
    with sandbox_process(
        "--max-seed-total", "50", "--seed", "contacts=20", output=subprocess.DEVNULL
    ) as sandbox:
        control = f"{sandbox.url}/_sandbox"
        refused = httpx.post(f"{control}/seed", json={"contacts": 40, "companies": 11})
        assert refused.status_code == 400
        assert "more than 50 records" in refused.json()["message"]
        assert httpx.post(f"{control}/reset", json={"seed": {"contacts": 51}}).status_code == 400
        assert httpx.post(f"{control}/seed", json={"contacts": 50}).status_code == 200
        listed = httpx.get(
            f"{sandbox.url}/crm/v3/objects/contacts",
            headers={"Authorization": f"Bearer {sandbox.token}"},
            params={"limit": 100},
        ).json()
        assert len(listed["results"]) == 50  # the reset emptied the portal; the 50 are the last seed's


def test_a_seed_flag_beyond_the_cap_stops_the_sandbox_at_start():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hubspot_sandbox",
            "--token",
            "t",
            "--max-seed-total",
            "10",
            "--seed",
            "contacts=11",
            "--port",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "more than --max-seed-total=10 records" in result.stderr
