"""Light on a weak connection: console pages, CSS, JS and JSON go out gzipped; the USSD webhook,
the SMS webhooks and /metrics never go through the compression; a page whose request another site
started is not compressed (BREACH). The layout at a phone's width is tested in Chromium (test_browser.py)."""

from __future__ import annotations

import re

import pytest

from gateway.web import app as web_app
from gateway.web.console import static_url
from tests.console import history
from tests.console.conftest import RANCHI

OURS = {"Sec-Fetch-Site": "same-origin", "Accept-Encoding": "gzip"}


def _sent(response) -> int:  # type: ignore[no-untyped-def]
    """Bytes on the wire for the body: the compressed length when it was compressed."""
    return int(response.headers["content-length"])


@pytest.mark.parametrize("site", ["same-origin", "none"])
def test_pages_from_our_own_pages_or_the_address_bar_are_compressed(browser, cases, site):
    meera = browser("ranchi")
    for url in ("/console", f"/console/cases/{cases['ranchi']}", "/console/directory", "/console/dashboard"):
        response = meera.get(url, headers={"Sec-Fetch-Site": site, "Accept-Encoding": "gzip"})
        assert response.status_code == 200 and response.headers.get("content-encoding") == "gzip", url
        assert "accept-encoding" in response.headers["vary"].lower()
        assert response.headers["cache-control"] == "no-store"  # still never cached
        assert _sent(response) * 2 < len(response.content), url


@pytest.mark.parametrize("site", ["cross-site", "same-site", None])
def test_a_page_another_site_asked_for_is_not_compressed(browser, site):
    """A page holds the CSRF token and echoes a search: sizes of compressed pages fetched on another
    site's behalf would let it guess the token, a letter at a time (BREACH)."""
    headers = {"Accept-Encoding": "gzip", **({"Sec-Fetch-Site": site} if site else {})}
    response = browser("ranchi").get("/console/directory?q=csrf_token", headers=headers)
    assert response.status_code == 200 and "content-encoding" not in response.headers


def test_the_script_stylesheet_and_api_are_compressed_whoever_asks(client):
    for url in (static_url("console.css"), static_url("console.js"), "/console/fonts/fonts.css"):
        response = client.get(url, headers={"Accept-Encoding": "gzip", "Sec-Fetch-Site": "cross-site"})
        assert response.headers.get("content-encoding") == "gzip", url


def test_the_webhooks_and_metrics_are_never_compressed(client, monkeypatch):
    seen: list[str] = []
    real = web_app.Compression.compress

    def watching(self, scope):  # type: ignore[no-untyped-def]
        seen.append(scope["path"])
        return real(self, scope)

    monkeypatch.setattr(web_app.Compression, "compress", watching)
    metrics = client.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert metrics.status_code == 200 and len(metrics.content) > 500 and "content-encoding" not in metrics.headers
    hop = client.post("/webhooks/at/ussd", data={"sessionId": "gz-1", "serviceCode": "*384#",
                                                  "phoneNumber": "+919800000001", "text": ""},
                      headers={"Accept-Encoding": "gzip"})
    assert hop.status_code == 200 and hop.text.startswith("CON") and "content-encoding" not in hop.headers
    # The villager's hop is answered before the middleware stack: the compression never even looks at it.
    assert "/metrics" in seen and "/webhooks/at/ussd" not in seen


def test_the_queue_refresh_of_a_busy_district_costs_a_few_kilobytes(client, browser):
    """What the queue's script fetches every 20 s while the page is visible: the rows, gzipped
    (docs/architecture.md states the figures)."""
    refs = history.seed(client.app.state.services, RANCHI, weeks=10)
    meera = browser("ranchi")
    rows = meera.get("/console/queue/rows?status=all", headers=OURS)  # every case: the biggest refresh
    assert rows.status_code == 200 and rows.headers.get("content-encoding") == "gzip"
    shown = rows.text.count("data-ref=")
    assert shown > 20 and all(ref in refs for ref in re.findall(r'data-ref="(\d+)"', rows.text))
    # Measured: 64 cases, 36.6 kB of rows sent as 2.2 kB (the ten active ones of this district: 0.7 kB).
    assert _sent(rows) < 60 * shown and _sent(rows) * 10 < len(rows.content), (_sent(rows), len(rows.content), shown)
