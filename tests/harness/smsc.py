"""A test SMSC: the aggregator's end of an SMPP 3.4 link, on loopback, for Kannel to bind to.

It speaks the part of SMPP 3.4 Kannel uses (bind_*, enquire_link, submit_sm, deliver_sm, unbind,
generic_nack), records every `submit_sm` whole (a long text's parts joined by their UDH), and
can push `deliver_sm`s to Kannel: a villager's SMS, or a delivery receipt for something it took.
`refuse` decides, per submitted part, to answer with an error status instead of an id, as an
aggregator does when a text does not match its DLT template.

Hand-written over sockets (about 250 lines) rather than a library: PyPI's SMPP packages are
clients (ESME side) or unmaintained, and the wire format needed here is small and fixed.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# command ids (SMPP 3.4, 5.1.2.1)
GENERIC_NACK = 0x80000000
BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER = 0x00000001, 0x00000002, 0x00000009
SUBMIT_SM, DELIVER_SM, UNBIND, ENQUIRE_LINK = 0x00000004, 0x00000005, 0x00000006, 0x00000015
RESP = 0x80000000
ESME_ROK, ESME_RINVCMDID = 0x00000000, 0x00000003
ESME_RSUBMITFAIL = 0x00000045  # what an aggregator answers for a DLT template mismatch (or its own code)
RECEIPTED_MESSAGE_ID, MESSAGE_STATE = 0x001E, 0x0427
MESSAGE_STATES = {"DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "ACCEPTD": 6, "UNKNOWN": 7, "REJECTD": 8}

# GSM 03.38's default alphabet, where it differs from ASCII (enough for our texts and tests).
_GSM_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
              "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM_EXT = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]",
            0x40: "|", 0x65: "€"}


def gsm_decode(data: bytes) -> str:
    out, escape = [], False
    for byte in data:
        if escape:
            out.append(_GSM_EXT.get(byte, "?"))
            escape = False
        elif byte == 0x1B:
            escape = True
        else:
            out.append(_GSM_BASIC[byte] if byte < len(_GSM_BASIC) else "?")
    return "".join(out)


def decode_text(data: bytes, coding: int) -> str:
    if coding == 0x08:
        return data.decode("utf-16-be", errors="replace")
    if coding in (0x01, 0x03):  # IA5/ASCII, Latin-1
        return data.decode("latin-1")
    return gsm_decode(data)


@dataclass
class Submitted:
    """One whole SMS as Kannel submitted it (its parts joined)."""

    message_id: str  # the SMSC's id of the last part (what a receipt refers to)
    part_ids: list[str]
    source: str
    destination: str
    data_coding: int
    text: str
    tlvs: dict[int, bytes]

    def tlv_text(self, tag: int) -> str | None:
        value = self.tlvs.get(tag)
        return None if value is None else value.rstrip(b"\0").decode()


@dataclass
class _Part:
    message_id: str
    source: str
    destination: str
    data_coding: int
    payload: bytes
    udh: bytes
    tlvs: dict[int, bytes]


def _cstring(body: bytes, at: int) -> tuple[str, int]:
    end = body.index(b"\0", at)
    return body[at:end].decode("latin-1"), end + 1


def _parse_submit(body: bytes) -> tuple[str, str, int, int, bytes, dict[int, bytes]]:
    at = 0
    _service, at = _cstring(body, at)
    at += 2  # source ton, npi
    source, at = _cstring(body, at)
    at += 2  # dest ton, npi
    destination, at = _cstring(body, at)
    esm_class = body[at]
    at += 3  # esm_class, protocol_id, priority_flag
    _schedule, at = _cstring(body, at)
    _validity, at = _cstring(body, at)
    _registered, _replace, data_coding, _default_id, length = body[at:at + 5]
    at += 5
    short_message = body[at:at + length]
    at += length
    tlvs: dict[int, bytes] = {}
    while at + 4 <= len(body):
        tag, size = struct.unpack(">HH", body[at:at + 4])
        tlvs[tag] = body[at + 4:at + 4 + size]
        at += 4 + size
    return source, destination, esm_class, data_coding, short_message, tlvs


class _Link:
    def __init__(self, smsc: LoopbackSmsc, sock: socket.socket) -> None:
        self.smsc, self.sock = smsc, sock
        self.write_lock = threading.Lock()
        self.bound: str | None = None
        self.waiting: dict[int, tuple[threading.Event, list[int]]] = {}
        self.thread = threading.Thread(target=self.run, name="test-smsc-link", daemon=True)

    def write(self, command: int, status: int, sequence: int, body: bytes = b"") -> None:
        with self.write_lock:
            self.sock.sendall(struct.pack(">IIII", 16 + len(body), command, status, sequence) + body)

    def read_exact(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def run(self) -> None:
        try:
            while True:
                length, command, status, sequence = struct.unpack(">IIII", self.read_exact(16))
                body = self.read_exact(length - 16) if length > 16 else b""
                self.handle(command, status, sequence, body)
        except (ConnectionError, OSError, struct.error):
            pass
        finally:
            self.bound = None
            self.smsc._links_changed()
            try:
                self.sock.close()
            except OSError:
                pass

    def handle(self, command: int, status: int, sequence: int, body: bytes) -> None:
        if command & RESP:
            waiter = self.waiting.pop(sequence, None)
            if waiter is not None:
                waiter[1].append(status)
                waiter[0].set()
            return
        if command in (BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER):
            self.bound = {BIND_RECEIVER: "rx", BIND_TRANSMITTER: "tx", BIND_TRANSCEIVER: "trx"}[command]
            self.smsc.binds.append((self.bound, _cstring(body, 0)[0]))
            self.write(command | RESP, ESME_ROK, sequence, b"testsmsc\0")
            self.smsc._links_changed()
        elif command == ENQUIRE_LINK:
            self.write(command | RESP, ESME_ROK, sequence)
        elif command == SUBMIT_SM:
            status, message_id = self.smsc._submit(body)
            self.write(command | RESP, status, sequence, (message_id + "\0").encode() if status == ESME_ROK else b"")
        elif command == UNBIND:
            self.write(command | RESP, ESME_ROK, sequence)
        else:
            self.write(GENERIC_NACK, ESME_RINVCMDID, sequence)

    def request(self, command: int, body: bytes, timeout: float) -> int:
        sequence = self.smsc._next_sequence()
        event, result = threading.Event(), []
        self.waiting[sequence] = (event, result)
        self.write(command, ESME_ROK, sequence, body)
        if not event.wait(timeout):
            raise TimeoutError(f"no answer to command {command:#x} within {timeout} s")
        return result[0]


@dataclass
class LoopbackSmsc:
    """`with LoopbackSmsc() as smsc:` — listening on `smsc.port` until the block ends."""

    refuse: Callable[[_Part], int | None] = lambda part: None  # an error status, or None to accept
    port: int = 0
    submitted: list[Submitted] = field(default_factory=list)
    binds: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        self.port = self._server.getsockname()[1]
        self._links: list[_Link] = []
        self._lock = threading.Condition()
        self._sequence = 0
        self._ids = 1000000
        self._parts: dict[tuple[str, int], dict[int, _Part]] = {}
        self._accepting = threading.Thread(target=self._accept, name="test-smsc", daemon=True)
        self._closed = False

    def __enter__(self) -> LoopbackSmsc:
        self._accepting.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        try:
            self._server.close()
        except OSError:
            pass
        for link in list(self._links):
            try:
                link.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            link.sock.close()
        for link in list(self._links):
            link.thread.join(timeout=5)
        self._accepting.join(timeout=5)

    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._server.accept()
            except OSError:
                return
            link = _Link(self, sock)
            with self._lock:
                self._links.append(link)
            link.thread.start()

    def _links_changed(self) -> None:
        with self._lock:
            self._links = [link for link in self._links if link.thread.is_alive() or link.bound]
            self._lock.notify_all()

    def _next_sequence(self) -> int:
        with self._lock:
            self._sequence += 1
            return self._sequence

    # --- what Kannel sends ---------------------------------------------------------------------------

    def _submit(self, body: bytes) -> tuple[int, str]:
        source, destination, esm_class, coding, short_message, tlvs = _parse_submit(body)
        udh = b""
        if esm_class & 0x40:
            udh, short_message = short_message[:short_message[0] + 1], short_message[short_message[0] + 1:]
        with self._lock:
            self._ids += 1
            message_id = str(self._ids)
        part = _Part(message_id, source, destination, coding, short_message, udh, tlvs)
        refused = self.refuse(part)
        if refused:
            return refused, ""
        whole = self._join(part)
        if whole is not None:
            with self._lock:
                self.submitted.append(whole)
                self._lock.notify_all()
        return ESME_ROK, message_id

    def _join(self, part: _Part) -> Submitted | None:
        concat = _concatenation(part.udh)
        if concat is None:
            parts = [part]
        else:
            reference, total, number = concat
            key = (part.destination, reference)
            with self._lock:
                pending = self._parts.setdefault(key, {})
                pending[number] = part
                if len(pending) < total:
                    return None
                del self._parts[key]
            parts = [pending[n] for n in sorted(pending)]
        payload = b"".join(p.payload for p in parts)
        tlvs = {tag: value for p in parts for tag, value in p.tlvs.items()}
        return Submitted(parts[-1].message_id, [p.message_id for p in parts], part.source, part.destination,
                         part.data_coding, decode_text(payload, part.data_coding), tlvs)

    def wait_for(self, condition: Callable[[list[Submitted]], Submitted | None], timeout: float = 60.0,
                 what: str = "a submit_sm") -> Submitted:
        """The first submitted SMS `condition` picks, waiting for it up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = condition(list(self.submitted))
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the SMSC got no {what} within {timeout} s; it got: "
                                         f"{[(s.destination, s.text) for s in self.submitted]}")
                self._lock.wait(min(left, 0.5))

    def wait_for_sms(self, to: str, containing: str = "", timeout: float = 60.0, after: int = 0) -> Submitted:
        """The first SMS to `to` (from the `after`-th on) whose text contains `containing`."""
        number = to.lstrip("+")

        def pick(items: list[Submitted]) -> Submitted | None:
            return next((s for s in items[after:] if s.destination.lstrip("+") == number and containing in s.text),
                        None)

        return self.wait_for(pick, timeout, f"SMS to {to} containing {containing!r}")

    def wait_bound(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not any(link.bound in ("rx", "trx") for link in self._links):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"Kannel did not bind to the test SMSC within {timeout} s")
                self._lock.wait(min(left, 0.5))

    # --- what the SMSC sends ---------------------------------------------------------------------------

    def _receiver(self, timeout: float) -> _Link:
        self.wait_bound(timeout)
        with self._lock:
            return next(link for link in self._links if link.bound in ("rx", "trx"))

    def deliver(self, source: str, destination: str, text: str, timeout: float = 30.0) -> int:
        """A villager's (or a committee member's) SMS, to Kannel; returns Kannel's deliver_sm_resp status."""
        try:
            payload, coding = text.encode("ascii"), 0x01
        except UnicodeEncodeError:
            payload, coding = text.encode("utf-16-be"), 0x08
        return self._receiver(timeout).request(DELIVER_SM, _deliver_body(source, destination, 0, coding, payload),
                                               timeout)

    def receipt(self, submitted: Submitted, stat: str = "DELIVRD", timeout: float = 30.0) -> int:
        """A delivery receipt for a submitted SMS (for each of its parts), as an SMSC sends it."""
        status = ESME_ROK
        for part_id in submitted.part_ids:
            now = time.strftime("%y%m%d%H%M")
            text = (f"id:{part_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} submit date:{now} "
                    f"done date:{now} stat:{stat} err:000 text:").encode()
            tlvs = (struct.pack(">HH", RECEIPTED_MESSAGE_ID, len(part_id) + 1) + part_id.encode() + b"\0"
                    + struct.pack(">HHB", MESSAGE_STATE, 1, MESSAGE_STATES[stat]))
            status = self._receiver(timeout).request(
                DELIVER_SM, _deliver_body(submitted.destination, submitted.source, 0x04, 0x00, text) + tlvs, timeout)
        return status


def _deliver_body(source: str, destination: str, esm_class: int, coding: int, payload: bytes) -> bytes:
    ton = 1 if source.startswith("+") or source.isdigit() else 5
    return (b"\0" + bytes([ton, 1]) + source.lstrip("+").encode() + b"\0"
            + bytes([1, 1]) + destination.lstrip("+").encode() + b"\0"
            + bytes([esm_class, 0, 0]) + b"\0" + b"\0" + bytes([0, 0, coding, 0, len(payload)]) + payload)


def _concatenation(udh: bytes) -> tuple[int, int, int] | None:
    at = 1
    while at + 2 <= len(udh):
        iei, size = udh[at], udh[at + 1]
        value = udh[at + 2:at + 2 + size]
        if iei == 0x00 and size == 3:
            return value[0], value[1], value[2]
        if iei == 0x08 and size == 4:
            return (value[0] << 8) | value[1], value[2], value[3]
        at += 2 + size
    return None
