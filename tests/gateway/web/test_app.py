"""What `cpgw serve` asks of the app at start-up."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from gateway.web.app import create_app


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


def test_the_embedded_redis_stops_with_the_app(settings, demo):
    """`make run` then Ctrl-C must leave no redis-server behind, even after villagers dialled
    (the hot path's own Redis connection must be gone before the embedded server is asked to stop)."""
    import os

    import psutil

    from gateway.devtools.simulate import Phone

    embedded = settings.model_copy(update={"redis_url": None})
    with TestClient(create_app(embedded)) as client:
        server = client.app.state.services.redis_handle._embedded
        pid = server.pid
        assert Phone(client, number="+919812345691").dial().screen.startswith("CON")
        assert psutil.pid_exists(pid)
    process = psutil.Process(pid) if psutil.pid_exists(pid) else None
    stopped = process is None or process.status() == psutil.STATUS_ZOMBIE
    if not stopped:
        os.kill(pid, 9)  # leave the machine clean, then fail
    assert stopped, "the embedded redis-server outlived the app"
