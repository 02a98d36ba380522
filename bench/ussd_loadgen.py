"""Load generator for the USSD benchmark; run by `ussd_bench.py` as its own process.

It must not share a process (or a GIL) with the server it measures, and it must be cheaper per
request than the server, or on a 2-core machine it measures itself. So: plain asyncio streams,
one keep-alive HTTP/1.1 connection per simulated phone, and a hand-written request/response
codec (httpx costs several times more CPU per request than a uvicorn "hello" endpoint).

Every session walks the same scripted English report, one hop at a time, whatever the target,
so both targets receive byte-for-byte the same kind of requests. Against the gateway
(`--expect-flow`) each screen is also checked: `CON` on every hop but the last, and on the last
`END` with the case's reference ("Report sent. Your report number: …").

Two ways to load:

* closed loop (default): `--concurrency` callers, each on one connection of its own, first dials
  staggered over `--stagger` seconds, each walking report after report as fast as it is answered;
* open loop (`--rate R`): R new callers a second for `--seconds`, each on a connection of its own
  and walking one report, on schedule whether or not earlier callers are done (as callers are);
  the "Report sent" answers are listed with their case reference and wall-clock time, for the
  report → alert latency.

Prints one JSON object on stdout: hops, hops/s, p50/p99 latency (ms) and error counts for the
measured window only (the warm-up is driven but not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

from gateway.devtools.traffic import REF

USSD_PATH = "/webhooks/at/ussd"
NETWORK_CODE = "40410"
SERVICE_CODE = "*384*1098#"
VILLAGE_CODE = "9001111"  # a village of the demo directory
# English, Report, type the village code, <code>, first concern, urgent: yes, call-back: no, Send.
ANSWERS: tuple[str, ...] = ("1", "1", "1", VILLAGE_CODE, "1", "1", "2", "1")
REQUEST_TIMEOUT_S = 10.0
ERROR_PAUSE_S = 0.05
OPEN_LOOP_GRACE_S = len(ANSWERS) * REQUEST_TIMEOUT_S  # the last caller of an open-loop run may finish its walk


@dataclass
class Window:
    """The measured interval; hops that complete inside it are the ones counted."""

    start: float
    end: float

    def counts(self, finished_at: float) -> bool:
        return self.start <= finished_at <= self.end


@dataclass
class Tally:
    """What every session loop reports into: shared, but only ever touched from one event loop."""

    latencies_ns: list[int] = field(default_factory=list)
    final_ns: list[int] = field(default_factory=list)  # the last hop of a report: it stores the case
    by_hop_ns: dict[int, list[int]] = field(default_factory=dict)  # by position in the walk: where the tail is
    answered: int = 0  # every response, warm-up included: the server's CPU is read over all of them
    errors: Counter[str] = field(default_factory=Counter)
    sessions_done: int = 0
    sent: list[tuple[str, float]] | None = None  # open loop: (case reference, wall-clock time answered)


class HttpError(Exception):
    """The server answered something the minimal codec does not accept (kept as an error kind)."""


def history_texts() -> list[str]:
    """AT's `text` for each hop: the whole history so far, joined by `*` ("" on dialling)."""
    return ["*".join(ANSWERS[:i]) for i in range(len(ANSWERS) + 1)]


def encode_request(host: str, session_id: str, phone: str, text: str) -> bytes:
    """One form POST, exactly the fields Africa's Talking sends."""
    body = urlencode(
        {"sessionId": session_id, "phoneNumber": phone, "networkCode": NETWORK_CODE,
         "serviceCode": SERVICE_CODE, "text": text}
    ).encode()
    head = (
        f"POST {USSD_PATH} HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server will close the connection (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HttpError("bad status line")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    closing = headers.get("connection", "").lower() == "close"
    if "content-length" in headers:
        return int(parts[1]), await reader.readexactly(int(headers["content-length"])), closing
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return int(parts[1]), await read_chunked(reader), closing
    raise HttpError("no content-length")


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    """Chunked bodies are not expected from these endpoints, but must not desynchronise the stream."""
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def screen_error(status: int, body: bytes, last_hop: bool, expect_flow: bool) -> str | None:
    """Why this answer is wrong, or None: not 200, not a USSD screen, or (gateway) the wrong kind."""
    if status != 200:
        return f"http_{status}"
    if not body.startswith((b"CON", b"END")):
        return "not_ussd"
    if expect_flow and body.startswith(b"END") != last_hop:
        return "early_end" if not last_hop else "no_end"
    if expect_flow and last_hop and not REF.search(body.decode("utf-8", "replace")):
        return "not_sent"
    return None


class PhoneNumbers:
    """Fresh numbers, so language memory never skips the first screen of a new session."""

    def __init__(self, base: int) -> None:
        self.next = base

    def take(self) -> str:
        self.next += 1
        return f"+9198{self.next % 100_000_000:08d}"


class Connection:
    """One keep-alive connection, reopened after any error (a broken stream cannot be trusted)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(request)
        status, body, closing = await read_response(self.reader)
        if closing:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def walk_once(conn: Connection, phones: PhoneNumbers, window: Window, tally: Tally,
                    expect_flow: bool) -> None:
    """Dial with a fresh number and session id and walk the report to its end (or first error)."""
    host = f"{conn.host}:{conn.port}"
    session_id, phone = "ATUid_" + secrets.token_hex(16), phones.take()
    texts = history_texts()
    for i, text in enumerate(texts):
        if time.perf_counter() > window.end:
            return
        request = encode_request(host, session_id, phone, text)
        started = time.perf_counter_ns()
        try:
            # asyncio.timeout, not wait_for: wait_for wraps every request in a new Task.
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                status, body = await conn.exchange(request)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                HttpError, ValueError) as exc:
            conn.close()
            tally.errors[type(exc).__name__] += 1
            await asyncio.sleep(ERROR_PAUSE_S)  # a dead server must not turn this loop into a spin
            return
        finished = time.perf_counter_ns()
        tally.answered += 1
        last_hop = i == len(texts) - 1
        problem = screen_error(status, body, last_hop, expect_flow)
        counted = window.counts(finished / 1e9)
        if counted:
            tally.latencies_ns.append(finished - started)
            tally.by_hop_ns.setdefault(i, []).append(finished - started)
            if last_hop:
                tally.final_ns.append(finished - started)
        if problem:
            if counted:
                tally.errors[problem] += 1
            return
        if counted and last_hop:
            tally.sessions_done += 1
            if tally.sent is not None and (ref := REF.search(body.decode("utf-8", "replace"))):
                tally.sent.append((ref.group(1), time.time()))


async def session_loop(host: str, port: int, phones: PhoneNumbers, window: Window, tally: Tally,
                       expect_flow: bool, delay: float = 0.0) -> None:
    """One simulated phone: one request at a time, a new session whenever the last one ended.

    `delay` staggers the phones' first dial. Real callers are independent; phones all dialling at
    the same instant walk the identical script in lockstep against a FIFO server, and stay in it:
    every report-storing hop of every phone then lands in the same round (a convoy).
    """
    await asyncio.sleep(delay)
    conn = Connection(host, port)
    try:
        while time.perf_counter() < window.end:
            await walk_once(conn, phones, window, tally, expect_flow)
    finally:
        conn.close()


def nearest_rank(ordered: list[int] | list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of sorted values: no interpolation that could report a latency nobody saw."""
    if not ordered:
        return None
    return ordered[max(1, min(len(ordered), math.ceil(fraction * len(ordered)))) - 1]


def percentile_ms(sorted_ns: list[int], fraction: float) -> float | None:
    value = nearest_rank(sorted_ns, fraction)
    return None if value is None else round(value / 1e6, 3)


def summarise(tally: Tally, window: Window) -> dict[str, object]:
    latencies = sorted(tally.latencies_ns)
    seconds = window.end - window.start
    return {
        "hops": len(latencies), "seconds": round(seconds, 3), "hops_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": percentile_ms(latencies, 0.50), "p99_ms": percentile_ms(latencies, 0.99),
        "p99_store_hop_ms": percentile_ms(sorted(tally.final_ns), 0.99),
        "store_hop_p50_p90_ms": [percentile_ms(sorted(tally.final_ns), f) for f in (0.50, 0.90)],
        "p99_by_hop_ms": [percentile_ms(sorted(tally.by_hop_ns.get(i, [])), 0.99) for i in range(len(ANSWERS) + 1)],
        "errors": sum(tally.errors.values()), "error_kinds": dict(tally.errors),
        "sessions_completed": tally.sessions_done, "answered_total": tally.answered,
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    start = time.perf_counter() + args.warmup
    window, tally = Window(start, start + args.seconds), Tally()
    phones = PhoneNumbers(args.phone_base)
    stagger = random.Random(1098)  # the same offsets for every target and every run
    loops = [session_loop(args.host, args.port, phones, window, tally, args.expect_flow,
                          stagger.uniform(0, args.stagger))
             for _ in range(args.concurrency)]
    # Every loop stops by itself at window.end (+ one request timeout); this bound is the backstop.
    bound = args.warmup + args.seconds + REQUEST_TIMEOUT_S + 5
    try:
        await asyncio.wait_for(asyncio.gather(*loops), bound)
    except asyncio.TimeoutError:
        tally.errors["loadgen_timeout"] += 1
    return summarise(tally, window)


async def one_caller(host: str, port: int, phones: PhoneNumbers, window: Window, tally: Tally,
                     expect_flow: bool) -> None:
    """A caller of an open-loop run: one connection, one report."""
    conn = Connection(host, port)
    try:
        await walk_once(conn, phones, window, tally, expect_flow)
    finally:
        conn.close()


async def run_open_loop(args: argparse.Namespace) -> dict[str, object]:
    """`--rate` callers a second for `--seconds`, each dialling on schedule; every hop is counted."""
    start = time.perf_counter()
    window, tally = Window(start, start + args.seconds + OPEN_LOOP_GRACE_S), Tally(sent=[])
    phones = PhoneNumbers(args.phone_base)
    callers: list[asyncio.Task[None]] = []
    late_s = 0.0  # how far behind schedule a caller dialled: the generator's own lag
    for k in range(round(args.seconds * args.rate)):
        wait = start + k / args.rate - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        late_s = max(late_s, -wait)
        callers.append(asyncio.create_task(one_caller(args.host, args.port, phones, window, tally, args.expect_flow)))
    try:
        await asyncio.wait_for(asyncio.gather(*callers), OPEN_LOOP_GRACE_S + 5)
    except asyncio.TimeoutError:
        tally.errors["loadgen_timeout"] += 1
    result = summarise(tally, Window(start, start + args.seconds))
    result.update(callers=len(callers), max_late_ms=round(late_s * 1000, 1), sent=tally.sent)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=2.0, help="driven but not counted")
    parser.add_argument("--concurrency", type=int, default=32, help="simultaneous sessions")
    parser.add_argument("--stagger", type=float, default=0.7, help="first dials spread over this many seconds")
    parser.add_argument("--rate", type=float, default=None,
                        help="open loop: this many new callers a second, one report each, for --seconds")
    parser.add_argument("--phone-base", type=int, default=0, help="first phone counter (keep runs apart)")
    parser.add_argument("--expect-flow", action="store_true", help="check CON…CON END like the gateway")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = asyncio.run(run_open_loop(args) if args.rate else run(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
