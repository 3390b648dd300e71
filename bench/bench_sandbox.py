"""Scale benchmark of the HubSpot sandbox: memory and latency with a million contacts.

Starts ``python -m hubspot_sandbox`` in a subprocess (so the client does not share its interpreter), seeds it
through the control API, then times list pages (100 records) and search pages (200 records, by last-modified,
through the ordered index) over keep-alive HTTP, and reads the server's peak RSS from /proc.

    python bench/bench_sandbox.py                      # 1,000,000 contacts (the figures in the README)
    python bench/bench_sandbox.py --contacts 100000    # a quicker run
    python bench/bench_sandbox.py --strict             # exit 1 when a target is missed

Targets: peak RSS < 4 GiB; list page p95 < 10 ms; 200-record search page p95 < 20 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hubspot_sandbox.testing import free_port  # noqa: E402

TOKEN = "bench-token"  # noqa: S105 - the sandbox's local test token
SEED_EPOCH_MS = 1_704_067_200_000
YEAR_MS = 365 * 86_400_000
TARGETS = {"rss_gib": 4.0, "list_p95_ms": 10.0, "search_p95_ms": 20.0}


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(client: httpx.Client, method: str, path: str, **kwargs) -> tuple[float, dict]:
    started = time.perf_counter()
    response = client.request(method, path, **kwargs)
    elapsed_ms = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed_ms, response.json()


def peak_rss_gib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def summarize(name: str, samples: list[float]) -> dict[str, float]:
    return {
        f"{name}_p50_ms": round(statistics.median(samples), 2),
        f"{name}_p95_ms": round(percentile(samples, 0.95), 2),
        f"{name}_max_ms": round(max(samples), 2),
    }


def run(contacts: int, companies: int, requests: int) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hubspot_sandbox",
            "--port",
            str(port),
            "--token",
            TOKEN,
            "--log-level",
            "error",
            "--search-lag-ms",  # timings of the server itself: every seeded record searchable at once
            "0",
        ],
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    results: dict[str, float] = {"contacts": contacts, "companies": companies}
    try:
        _wait_until_up(base, server)
        started = time.perf_counter()
        seeded = httpx.post(
            f"{base}/_sandbox/seed",
            json={"companies": companies, "contacts": contacts, "seed": 1},
            timeout=3600,
        ).json()
        results["seed_seconds"] = round(time.perf_counter() - started, 1)
        results["seed_seconds_server"] = seeded["seconds"]
        results["rss_after_seed_gib"] = round(peak_rss_gib(server.pid), 2)
        rng = random.Random(7)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            first_id = int(
                client.get("/crm/v3/objects/contacts", params={"limit": 1}).json()["results"][0]["id"]
            )
            timed(client, "GET", "/crm/v3/objects/contacts")  # warm the connection
            list_ms = []
            for _ in range(requests):
                after = str(first_id + rng.randrange(contacts - 100))
                properties = "email,firstname,lastname,lifecyclestage,lastmodifieddate,customer_tier"
                elapsed, body = timed(
                    client,
                    "GET",
                    "/crm/v3/objects/contacts",
                    params={"limit": 100, "after": after, "properties": properties},
                )
                assert len(body["results"]) == 100
                list_ms.append(elapsed)
            results.update(summarize("list_page_100", list_ms))

            search_ms = []
            for _ in range(requests):
                since = SEED_EPOCH_MS + rng.randrange(YEAR_MS // 2)
                elapsed, body = timed(
                    client, "POST", "/crm/v3/objects/contacts/search", json=_window_search(since)
                )
                assert len(body["results"]) == 200
                search_ms.append(elapsed)
            results.update(summarize("search_page_200", search_ms))

            filtered_ms = []
            for _ in range(requests // 4):
                since = SEED_EPOCH_MS + rng.randrange(YEAR_MS // 2)
                body = _window_search(since, until=since + 86_400_000)
                body["filterGroups"][0]["filters"].append(
                    {"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"}
                )
                elapsed, _ = timed(client, "POST", "/crm/v3/objects/contacts/search", json=body)
                filtered_ms.append(elapsed)
            results.update(summarize("search_one_day_plus_filter", filtered_ms))

            update_ms = []
            for _ in range(20):
                start = first_id + rng.randrange(contacts - 100)
                inputs = [{"id": str(start + i), "properties": {"usage_score": str(i)}} for i in range(100)]
                elapsed, body = timed(
                    client, "POST", "/crm/v3/objects/contacts/batch/update", json={"inputs": inputs}
                )
                update_ms.append(elapsed)
            results.update(summarize("batch_update_100", update_ms))

            httpx.post(
                f"{base}/_sandbox/bulk-touch",
                timeout=600,
                json={"objectType": "contacts", "count": 20_000, "timestampMs": SEED_EPOCH_MS + YEAR_MS * 2},
            )
            tie_ms = []
            last_id = "0"
            for _ in range(20):
                elapsed, body = timed(
                    client,
                    "POST",
                    "/crm/v3/objects/contacts/search",
                    json=_tie_break_search(SEED_EPOCH_MS + YEAR_MS * 2, last_id),
                )
                last_id = body["results"][-1]["id"]
                tie_ms.append(elapsed)
            results.update(summarize("search_tie_break_20k_same_ms", tie_ms))
        results["peak_rss_gib"] = round(peak_rss_gib(server.pid), 2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


def _window_search(since: int, until: int | None = None) -> dict:
    filters = [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(since)}]
    if until is not None:
        filters.append({"propertyName": "lastmodifieddate", "operator": "LT", "value": str(until)})
    return {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["email", "firstname", "lastname", "lifecyclestage", "lastmodifieddate"],
        "limit": 200,
    }


def _tie_break_search(stamp: int, last_id: str) -> dict:
    body = _window_search(stamp)
    body["filterGroups"] = [
        {
            "filters": [
                {"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(stamp)},
                {"propertyName": "hs_object_id", "operator": "GT", "value": last_id},
            ]
        },
        {"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": str(stamp)}]},
    ]
    return body


def _wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the sandbox exited during start-up")
        try:
            httpx.get(f"{base}/_sandbox/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the sandbox did not start within 30 s")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=400, help="timed requests per kind")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    results = run(args.contacts, args.companies, args.requests)
    checks = {
        "peak RSS < 4 GiB": results["peak_rss_gib"] < TARGETS["rss_gib"],
        "list page (100) p95 < 10 ms": results["list_page_100_p95_ms"] < TARGETS["list_p95_ms"],
        "search page (200) p95 < 20 ms": results["search_page_200_p95_ms"] < TARGETS["search_p95_ms"],
    }
    print(json.dumps(results, indent=2))
    for name, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
    return 1 if args.strict and not all(checks.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
