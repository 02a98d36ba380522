"""The Africa's Talking stub of `gateway/devtools/at_stub.py`, with what the fault suite needs on top.

It shares the stub's response shape, handler and server; its own is the fault table below.

Same API and the same faults (`fail_next("500" | "429" | "timeout" | "empty")`), plus two that only
an end-to-end run can use:

* `"late"`: the provider accepts the message but answers after the sender's timeout. The gateway
  sees a timeout and retries, so the phone gets the message twice: a duplicate caused by the
  provider, which the suite counts as such.
* `"hold"`: the request is held until `release()`; the suite kills the worker that sent it while it
  waits (SIGKILL mid-send), then releases it and the provider accepts it, as if the worker had died
  between the provider's accept and its own SQL update.

Every accepted message keeps when it was accepted, which fault (if any) it came through, and the
client port that sent it (to find the worker process holding the connection).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs

from gateway.devtools.at_stub import ReplyingHandler, messaging_body, recipient, serve


@dataclass
class Accepted:
    to: str
    message: str
    message_id: str
    at: float
    fault: str = ""  # "", "late" or "hold"


@dataclass
class Provider:
    late_after_s: float = 3.0  # longer than the gateway's CPGW_SMS_TIMEOUT
    sent: list[Accepted] = field(default_factory=list)
    failures: deque[str] = field(default_factory=deque)
    faults_served: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    held: list[tuple[int, float]] = field(default_factory=list)  # (client port, since) of held requests
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    _release: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    def fail_next(self, *kinds: str) -> None:
        with self.lock:
            self.failures.extend(kinds)

    def pending_faults(self) -> int:
        with self.lock:
            return len(self.failures)

    def release(self) -> None:
        self._release.set()

    def snapshot(self, start: int = 0) -> list[Accepted]:
        with self.lock:
            return self.sent[start:]

    def start(self) -> Provider:
        stub = self

        class Handler(ReplyingHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path != "/version1/messaging" or "to" not in form:
                    self._reply(404, "text/plain", b"not found")
                    return
                with stub.lock:
                    stub.requests += 1
                    failure = stub.failures.popleft() if stub.failures else None
                    if failure:
                        stub.faults_served[failure] = stub.faults_served.get(failure, 0) + 1
                if failure == "timeout":
                    time.sleep(12)
                    self.close_connection = True
                    return
                if failure in ("500", "429"):
                    self._reply(int(failure), "text/plain", b"Service unavailable")
                    return
                if failure == "late":
                    time.sleep(stub.late_after_s)
                elif failure == "hold":
                    with stub.lock:
                        stub.held.append((self.client_address[1], time.time()))
                    stub._release.wait(120)
                recipients = []
                for to in form["to"].split(","):
                    if failure == "empty":
                        continue
                    message_id = f"ATXid_{uuid.uuid4().hex}"
                    with stub.lock:
                        stub.sent.append(Accepted(to, form.get("message", ""), message_id, time.time(),
                                                  failure if failure in ("late", "hold") else ""))
                    recipients.append(recipient(to, 101, message_id))
                try:
                    self._reply(201, "application/json", messaging_body(recipients))
                except OSError:
                    pass  # the sender gave up (late) or was killed (hold): accepted all the same

        self._server, self.url = serve(Handler)
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
