"""Debian's Kannel (`bearerbox`, `smsbox`) as processes, run from the shipped deploy/kannel/kannel.conf.

The config is the one a district deploys, with its `${NAME}` placeholders filled as the
container's entrypoint fills them: here the SMSC is a `LoopbackSmsc` on loopback and the gateway a
test server. Both boxes run in their own process group and are stopped (TERM, then KILL) when the
block ends, however it ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import string
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from gateway.devtools.processes import free_port

SHIPPED_CONF = Path(__file__).resolve().parents[2] / "deploy" / "kannel" / "kannel.conf"
SENDSMS_USER, SENDSMS_PASSWORD = "cpgw", "test-sendsms-password"


def binaries() -> tuple[str, str] | None:
    """bearerbox and smsbox, from PATH or Debian's /usr/sbin; None when Kannel is not installed."""
    found = [shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
             for name in ("bearerbox", "smsbox")]
    return (found[0], found[1]) if found[0] and found[1] else None


@dataclass
class Kannel:
    sendsms_url: str
    admin_url: str
    logs: Path

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for name in ("bearerbox.log", "smsbox.log"):
            path = self.logs / name
            if path.exists():
                parts.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(parts)


def render(values: dict[str, str]) -> str:
    """The shipped config with its placeholders filled (every one must be: `substitute` refuses a gap)."""
    return string.Template(SHIPPED_CONF.read_text()).substitute(values)


@contextmanager
def running_kannel(workdir: Path, *, smsc_port: int, gateway_url: str, webhook_token: str = "",
                   start_timeout: float = 60.0) -> Iterator[Kannel]:
    found = binaries()
    assert found, "Kannel is not installed"
    bearerbox, smsbox = found
    workdir.mkdir(parents=True, exist_ok=True)
    ports = {"admin": free_port(), "smsbox": free_port(), "sendsms": free_port()}
    conf = workdir / "kannel.conf"
    conf.write_text(render({
        "KANNEL_ADMIN_PORT": str(ports["admin"]), "KANNEL_ADMIN_PASSWORD": "test-admin",
        "KANNEL_SMSBOX_PORT": str(ports["smsbox"]), "KANNEL_SENDSMS_PORT": str(ports["sendsms"]),
        "KANNEL_SENDSMS_INTERFACE": "127.0.0.1", "KANNEL_SENDSMS_ALLOW_IP": "127.0.0.1",
        "KANNEL_SENDSMS_USER": SENDSMS_USER, "KANNEL_SENDSMS_PASSWORD": SENDSMS_PASSWORD,
        "KANNEL_LOG_LEVEL": "0", "SMSC_HOST": "127.0.0.1", "SMSC_PORT": str(smsc_port),
        "SMSC_SYSTEM_ID": "cpgwtest", "SMSC_PASSWORD": "secret12", "DLT_ENTITY_TLV": "0x1400",
        "DLT_TEMPLATE_TLV": "0x1401", "GATEWAY_URL": gateway_url, "WEBHOOK_TOKEN": webhook_token,
    }))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for binary, name, port in ((bearerbox, "bearerbox", ports["smsbox"]), (smsbox, "smsbox", ports["sendsms"])):
            log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115  (closed by the child's exit)
            processes.append(subprocess.Popen([binary, str(conf)], stdout=log, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, cwd=workdir, start_new_session=True))
            log.close()
            _wait_listening(port, processes[-1], name, start_timeout, workdir)
        yield Kannel(f"http://127.0.0.1:{ports['sendsms']}/cgi-bin/sendsms",
                     f"http://127.0.0.1:{ports['admin']}", workdir)
    finally:
        _stop(list(reversed(processes)))


def _wait_listening(port: int, process: subprocess.Popen[bytes], name: str, timeout: float, workdir: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode}):\n"
                               + (workdir / f"{name}.log").read_text(errors="replace")[-3000:])
        with socket.socket() as probe:
            probe.settimeout(1)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on {port} within {timeout} s")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """TERM every box's process group at once; KILL what has not gone within 20 s."""
    for process in processes:
        if process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
