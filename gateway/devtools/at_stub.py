"""A local stand-in for Africa's Talking's SMS API, for the real SDK to talk HTTP to.

It answers `POST /version1/messaging` as AT does (HTTP 201, `SMSMessageData.Recipients[…]`), keeps
every message it accepted and when, and can be told to misbehave: HTTP 500, 429, a slow answer
(timeout), an empty `Recipients` list, or a per-number `statusCode`.

`Stub` serves from a thread of the caller's process (tests); `StubProcess` runs one in a child
process, so that its HTTP server does not share a GIL with what is measured (benchmarks: the real
provider is another machine).
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from urllib.parse import parse_qs


def recipient(to: str, code: int, message_id: str) -> dict[str, object]:
    """One entry of AT's `Recipients` list."""
    return {"statusCode": code, "number": to, "status": "Success" if code < 200 else "Failed",
            "cost": "INR 0.2000", "messageId": message_id}


def messaging_body(recipients: list[dict[str, object]]) -> bytes:
    """AT's answer to `POST /version1/messaging`."""
    return json.dumps({"SMSMessageData": {"Message": f"Sent to {len(recipients)}/1", "Recipients": recipients}}).encode()


class ReplyingHandler(BaseHTTPRequestHandler):
    """Quiet, and with one way to answer."""

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(handler: type[BaseHTTPRequestHandler], name: str = "at-stub") -> tuple[ThreadingHTTPServer, str]:
    """A threaded HTTP server on a free loopback port, serving in a daemon thread; and its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name=name).start()
    return server, f"http://127.0.0.1:{port}"


@dataclass
class Sent:
    to: str
    message: str
    sender: str | None
    message_id: str
    at: float = field(default_factory=time.time)  # when it was accepted (wall clock: other processes compare)


@dataclass
class Stub:
    sent: list[Sent] = field(default_factory=list)
    failures: deque[str] = field(default_factory=deque)  # "500", "429", "timeout", "empty" per request
    number_status: dict[str, int] = field(default_factory=dict)  # to -> statusCode (e.g. 403)
    requests: int = 0
    connections: int = 0  # TCP connections the SDK opened (HTTP/1.1 keep-alive, as AT's API)
    close_after_next: bool = False  # end the connection after the next answer, as a server may
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def fail_next(self, *kinds: str) -> None:
        self.failures.extend(kinds)

    def messages_to(self, phone: str) -> list[str]:
        with self.lock:
            return [sent.message for sent in self.sent if sent.to == phone]

    def clear(self) -> None:
        """Forget what was received."""
        with self.lock:
            self.sent.clear()
            self.requests = 0

    def report(self, start: int = 0) -> tuple[list[Sent], int]:
        """The messages accepted so far (from the `start`-th on), and the requests received."""
        with self.lock:
            return self.sent[start:], self.requests

    def start(self) -> Stub:
        stub = self

        class Handler(ReplyingHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body leave in two writes: without this, on a kept-alive connection
                # the body waits for the client's delayed ACK of the headers (40 ms a message).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with stub.lock:
                    stub.connections += 1

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with stub.lock:
                    stub.requests += 1
                    failure = stub.failures.popleft() if stub.failures else None
                    self.close_connection, stub.close_after_next = stub.close_after_next, False
                if failure == "timeout":
                    time.sleep(12)
                    return
                if failure in ("500", "429"):
                    self._reply(int(failure), "text/plain", b"Service unavailable")
                    return
                if self.path != "/version1/messaging" or "to" not in form:
                    self._reply(404, "text/plain", b"not found")
                    return
                recipients = []
                for to in form["to"].split(","):
                    code = 101 if failure != "empty" else None
                    code = stub.number_status.get(to, code)
                    if code is None:
                        continue
                    message_id = f"ATXid_{uuid.uuid4().hex}" if code in (100, 101, 102) else "None"
                    if code in (100, 101, 102):
                        with stub.lock:
                            stub.sent.append(Sent(to, form.get("message", ""), form.get("from"), message_id))
                    recipients.append(recipient(to, code, message_id))
                self._reply(201, "application/json", messaging_body(recipients))

        self._server, self.url = serve(Handler)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# --- in a child process ------------------------------------------------------------------------------


def _serve_child(conn: Connection) -> None:
    """The child: start a stub, send its URL, then answer "clear", ("report", start) and "stop"."""
    # Ctrl-C reaches the whole foreground group: the parent decides when the stub stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stub = Stub().start()
    conn.send(stub.url)
    try:
        while True:
            try:
                command = conn.recv()
            except EOFError:  # the parent is gone
                return
            if command == "clear":
                stub.clear()
                conn.send(True)
            elif isinstance(command, tuple) and command[0] == "report":
                conn.send(stub.report(command[1]))
            else:
                conn.send(True)
                return
    finally:
        stub.stop()


class StubProcess:
    """A `Stub` in a child process, driven over a pipe with the same verbs (`url`, `clear`, `report`,
    `stop`); `stop()`, or the parent's exit, ends it."""

    def __init__(self, start_timeout_s: float = 30.0) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._proc = context.Process(target=_serve_child, args=(child,), daemon=True, name="at-stub")
        self._proc.start()
        child.close()
        if not self._conn.poll(start_timeout_s):
            self.stop()
            raise RuntimeError(f"the AT stub did not start within {start_timeout_s:.0f} s")
        self.url: str = self._conn.recv()

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def clear(self) -> None:
        self._conn.send("clear")
        self._conn.recv()

    def report(self, start: int = 0) -> tuple[list[Sent], int]:
        self._conn.send(("report", start))
        return self._conn.recv()  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Ask the child to stop; terminate, then kill it if it does not. Safe to call twice."""
        try:
            self._conn.send("stop")
            if self._conn.poll(5):
                self._conn.recv()
        except (OSError, EOFError):
            pass  # the child is gone already
        finally:
            self._conn.close()
            self._proc.join(5)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(5)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(5)
