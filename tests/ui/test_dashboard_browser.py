"""A real browser (headless Chromium, the Debian package) opens the "HubSpot sync" page served by
Airflow's API server app over HTTP, and the test reads what it rendered. Screenshots are kept in
the directory the test prints. Skipped, saying so, where no Chromium is installed."""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.ui.test_dashboard import seed

pytestmark = pytest.mark.integration
CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)
ARTIFACTS = (
    Path(os.environ.get("HUBSPOT_SYNC_ARTIFACTS") or tempfile.gettempdir()) / "hubspot-sync-screenshots"
)


@pytest.fixture
def served(airflow_db, warehouse, monkeypatch):
    """The API server app on a free port. Airflow's simple auth manager in its no-login mode (every
    visitor an admin): a browser started from the command line has no way to log in."""
    if CHROMIUM is None:
        pytest.skip("no Chromium found (install the Debian package `chromium`): browser checks skipped")
    import uvicorn
    from airflow.api_fastapi.app import create_app

    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def chromium(*args: str) -> str:
    result = subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def figure(dom: str, css_class: str, container: str) -> str:
    """The number shown in the element of class `css_class` inside the card `container`."""
    block = dom[dom.index(container) :]
    match = re.search(rf'<dd class="{css_class}"><a class="n"[^>]*>([^<]*)</a>', block)
    assert match, f"no {css_class} in {container}"
    return html.unescape(match.group(1))


def test_browser_shows_the_dashboard_with_numbers_equal_to_the_tables(served, warehouse, capsys):
    seed(warehouse)
    url = f"{served}/hubspot-sync/"
    dom = chromium("--virtual-time-budget=5000", "--dump-dom", url)

    assert "<title>HubSpot sync</title>" in dom
    assert dom.count('<svg class="chart"') == 2  # contacts and companies; deals never ran
    assert "No runs yet." in dom[dom.index('id="object-deals"') :]
    assert 'data-series="rejected"' in dom
    contacts = 'id="object-contacts"'
    assert figure(dom, "live", contacts) == "5"
    assert figure(dom, "archived", contacts) == "2"
    assert figure(dom, "rejects", contacts) == "3"
    assert figure(dom, "calls", contacts) == "18"
    assert figure(dom, "limited", contacts) == "3"
    assert figure(dom, "live", 'id="object-companies"') == "3"
    assert re.search(r'class="badge stale">stale<', dom)
    assert "log and error in Airflow" in dom

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "dashboard.png"
    chromium(f"--screenshot={screenshot}", "--window-size=1280,1500", "--virtual-time-budget=5000", url)
    assert screenshot.stat().st_size > 10_000
    with capsys.disabled():  # shown in the test output whatever the capture mode
        print(f"\nscreenshot: {screenshot}")


def test_the_airflow_ui_shows_the_page_in_its_menu(served, warehouse, capsys):
    seed(warehouse)
    url = f"{served}/plugin/hubspot-sync"  # the route the menu entry opens
    dom = chromium("--virtual-time-budget=15000", "--window-size=1280,900", "--dump-dom", url)
    (frame,) = re.findall(r"<iframe[^>]*>", dom)
    assert 'src="/hubspot-sync/"' in frame
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "airflow-ui-hubspot-sync.png"
    chromium(f"--screenshot={screenshot}", "--window-size=1280,900", "--virtual-time-budget=15000", url)
    assert screenshot.stat().st_size > 10_000
    with capsys.disabled():  # shown in the test output whatever the capture mode
        print(f"\nscreenshot: {screenshot}")
