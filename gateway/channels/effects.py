"""Where a USSD hop's SQL work runs under `cpgw serve`: a process of its own, beside the web's.

Storing a report is ~2.5 ms of Python (the ladder, the rows, SQLAlchemy) split by a dozen waits on
Redis and SQLite. On a thread of the web process, every one of those waits gave the GIL to the busy
event loop, and getting it back took up to the 5 ms switch interval: the storing hop's p99 was
100–160 ms under 32 callers, five times the bare endpoint's, and the loop lost the core to it
(docs/benchmarks.md, the ninth session). In a process of its own, whose event loop only relays,
the same code runs at its own pace, and the web process's loop sends a line and awaits a line.

The work is the same `UssdService.carry_out_many`: here on the hops that arrived while the last
batch was carried out, together, on one thread; in the web process on one hop per thread. Should
the effects process be down, hung or still starting, the web process carries the work out
itself, as tests and `create_app` without `cpgw serve` always do: a report is never lost for want
of it. Storing is idempotent (one case per source key), so a report whose answer was lost and
which is stored again gets the same case.

The protocol, one JSON object per line over a Unix socket in a private temporary directory:
`{"id": n, "work": {…}}` in, `{"id": n, "result": {…}}` out, requests multiplexed on one
connection and answered in any order.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import shutil
import signal
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import Any

from gateway.channels.ussd import Result, UssdService, Work
from gateway.infra.children import ChildProcess, on_parent_gone
from menus import engine as menu

log = logging.getLogger("cpgw.effects")
SOCKET = "effects.sock"
ANSWER_WITHIN_S = 3.0  # then the web process does the work itself: the villager is waiting
MAX_BATCH = 64  # hops carried out together at most (the group commit writes 32 reports a transaction)


class Unreachable:
    """The effects process did not answer: the caller carries the work out itself."""


UNREACHABLE = Unreachable()


def result_to_dict(result: Result) -> dict[str, Any]:
    if isinstance(result, menu.Stored):
        return {"stored": result.ref, "opens": result.opens}
    if isinstance(result, menu.Limited):
        return {"limited": True}
    if isinstance(result, str):
        return {"status": result}
    return {"failed": True}


def result_from_dict(data: dict[str, Any]) -> Result:
    if "stored" in data:
        return menu.Stored(str(data["stored"]), data.get("opens"))
    if data.get("limited"):
        return menu.LIMITED
    if "status" in data:
        return str(data["status"])
    return None


class EffectsClient:
    """The web process's side: one connection, opened on first use and again after it breaks."""

    def __init__(self, path: Path, answer_within_s: float = ANSWER_WITHIN_S) -> None:
        self.path = path
        self._answer_within_s = answer_within_s
        self._answers: _Answers | None = None
        self._ids = itertools.count(1)
        self._connecting = asyncio.Lock()
        self.answered = 0  # requests the effects process answered (tests; a log line would be noise)

    async def carry_out(self, work: Work) -> Result | Unreachable:
        try:
            answers = await self._connected()
        except OSError:
            return UNREACHABLE  # not started yet, or restarting
        request_id = next(self._ids)
        try:
            async with asyncio.timeout(self._answer_within_s):
                result = result_from_dict(await answers.ask(request_id, work))
            self.answered += 1
            return result
        except (TimeoutError, ConnectionError) as exc:
            log.error("effects process did not answer; carried out here", extra={"error": type(exc).__name__})
            return UNREACHABLE
        finally:
            answers.forget(request_id)

    async def aclose(self) -> None:
        if self._answers is not None:
            self._answers.close()
            self._answers = None

    async def _connected(self) -> _Answers:
        answers = self._answers
        if answers is not None and answers.open:
            return answers
        async with self._connecting:
            if self._answers is None or not self._answers.open:
                loop = asyncio.get_running_loop()
                _, self._answers = await loop.create_unix_connection(_Answers, str(self.path))
            return self._answers


class _Answers(asyncio.Protocol):
    """One connection to the effects process. An answer is handed to its hop as its bytes arrive,
    with no reading task in between: on the web process's busy event loop each task woken is one
    more pass of the loop before the villager is answered."""

    MAX_PENDING_BYTES = 1 << 20  # an answer is a few dozen bytes; a stream without newlines is broken

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.open = False

    def ask(self, request_id: int, work: Work) -> asyncio.Future[dict[str, Any]]:
        if self._transport is None or not self.open:
            raise ConnectionError("effects connection closed")
        answer = self._waiting[request_id] = asyncio.get_running_loop().create_future()
        self._transport.write(json.dumps({"id": request_id, "work": work.to_dict()}).encode() + b"\n")
        return answer

    def forget(self, request_id: int) -> None:
        self._waiting.pop(request_id, None)

    def close(self) -> None:
        self.open = False  # no new requests: those in flight fail once it is closed (`connection_lost`)
        if self._transport is not None:
            self._transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport, self.open = transport, True

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        *lines, rest = self._buffer.split(b"\n")
        self._buffer = bytearray(rest)
        try:
            if len(self._buffer) > self.MAX_PENDING_BYTES:
                raise ValueError("answer too long")
            for line in lines:
                message = json.loads(line)
                answer = self._waiting.get(message["id"])
                if answer is not None and not answer.done():
                    answer.set_result(message["result"])
        except (ValueError, KeyError, TypeError) as exc:
            log.error("effects connection broke", extra={"error": type(exc).__name__})
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        """A broken connection fails every hop in flight on it: they are carried out here."""
        self.open = False
        if exc is not None:
            log.error("effects connection broke", extra={"error": type(exc).__name__})
        for answer in self._waiting.values():
            if not answer.done():
                answer.set_exception(ConnectionError("effects process gone"))


class EffectsProcess:
    """`cpgw serve`'s effects process (`cpgw effects`), restarted if it dies, and its socket's path."""

    def __init__(self, environ: dict[str, str]) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="cpgw-effects-"))  # 0700: only we can connect
        self.path = self._directory / SOCKET
        self._child = ChildProcess("effects", ["effects", "--socket", str(self.path), "--parent", str(os.getpid())],
                                   environ)

    def start(self) -> EffectsProcess:
        self._child.start()
        return self

    def stop(self) -> None:
        self._child.stop()
        shutil.rmtree(self._directory, ignore_errors=True)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (the effects process's; call on its loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def serve(ussd: UssdService, path: Path, stop: asyncio.Event, *, parent: int | None = None) -> None:
    """Answer the web process's requests on `path` until `stop` is set or the process `parent` is
    gone (the effects process's main)."""
    if parent is not None:
        loop = asyncio.get_running_loop()
        on_parent_gone(parent, lambda: loop.call_soon_threadsafe(stop.set))
    with suppress(FileNotFoundError):
        path.unlink()  # a predecessor's, killed
    server = await asyncio.start_unix_server(lambda r, w: _connection(ussd, r, w), path=str(path))
    os.chmod(path, 0o600)
    log.info("effects process ready", extra={"socket": str(path)})
    async with server:
        await stop.wait()


async def _connection(ussd: UssdService, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read requests as they come; carry them out in batches, one batch at a time (`_batches`)."""
    waiting: asyncio.Queue[tuple[object, Work | None]] = asyncio.Queue()
    batches = asyncio.create_task(_batches(ussd, waiting, writer))
    try:
        while line := await reader.readline():
            waiting.put_nowait(_request(line))
    except OSError as exc:
        log.error("the web process's connection broke", extra={"error": type(exc).__name__})
    finally:
        await waiting.join()  # answer what was asked before the connection went
        batches.cancel()
        writer.close()


def _request(line: bytes) -> tuple[object, Work | None]:
    """A request's id and work; no work if the line is not one (its answer says it failed)."""
    try:
        request = json.loads(line)
        return request.get("id"), Work.from_dict(request["work"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.error("bad request from the web process", extra={"error": type(exc).__name__})
        return None, None


async def _batches(ussd: UssdService, waiting: asyncio.Queue[tuple[object, Work | None]],
                   writer: asyncio.StreamWriter) -> None:
    """Everything that arrived while the last batch was carried out is the next batch: their
    allowances in one Redis round trip, their reports in one write transaction and one Redis round
    trip (`UssdService.carry_out_many`), on this process's one thread. No thread per report: each
    thread more is GIL hand-offs, each waiting for a core on a busy machine; and this loop has
    nothing else to do meanwhile (the requests that arrive wait in the socket for the next batch)."""
    while True:
        batch = [await waiting.get()]
        while not waiting.empty() and len(batch) < MAX_BATCH:
            batch.append(waiting.get_nowait())
        works = [work for _, work in batch if work is not None]
        try:
            results = iter(ussd.carry_out_many(works) if works else [])  # blocks this loop: nothing else waits on it
        except Exception:  # noqa: BLE001 — a bug: the villagers are told to call the helplines, never "sent"
            log.exception("effects crashed")
            results = iter([None] * len(works))
        for request_id, work in batch:
            result = next(results) if work is not None else None
            if not writer.is_closing():
                writer.write(json.dumps({"id": request_id, "result": result_to_dict(result)}).encode() + b"\n")
            waiting.task_done()
