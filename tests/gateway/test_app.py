"""What `cpgw serve` asks of the app at start-up."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from gateway.app import create_app


def test_serve_freezes_start_up_objects_out_of_full_collections(settings, demo):
    app = create_app(settings)
    app.state.freeze_gc = True  # as `cpgw serve` sets it
    gc.unfreeze()
    try:
        with TestClient(app) as client:
            assert gc.get_freeze_count() > 10_000  # modules, catalog, compiled statements…
            assert client.get("/healthz").status_code == 200
    finally:
        gc.unfreeze()  # the test process starts many apps: give the collector everything back


def test_apps_started_by_tests_freeze_nothing(settings, demo):
    gc.unfreeze()
    with TestClient(create_app(settings)):
        assert gc.get_freeze_count() == 0
