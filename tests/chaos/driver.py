"""A steady stream of field traffic, posted as Africa's Talking posts it, against real processes.

* villagers dial the USSD service and file complete reports (`gateway.devtools.simulate.Phone` over httpx),
  each hop sent to one replica and replayed on the other (AT retries a hop it got no answer to);
* villagers send one-line SMS reports (`REPORT <village> <concern number>`), each from a new number;
* committee members answer the alerts the provider delivered to them (`ACK <ref>`, later `DONE`);
* delivery reports come back for what the provider accepted;
* every incoming SMS and delivery report is posted several times, and an SMS that did not get a
  200 is posted again a minute later until it does (AT re-posts every minute for 12 hours);
* `/readyz` of every replica is probed twice a second.

Everything that happens is recorded, for the checks and the figures.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx

from gateway.devtools.simulate import SMS_PATH, Phone
from gateway.devtools.traffic import (
    ALERT_REF,
    REF,
    demo_contacts,
    demo_villages,
    options_on,
)
from routing.concerns import KEYS
from tests.chaos.provider import Accepted, Provider

HTTP_TIMEOUT = httpx.Timeout(45.0, connect=5.0)
REPOST_AFTER_S = 60.0  # Africa's Talking posts an incoming SMS again every minute until it gets a 200


@dataclass
class UssdReport:
    session_id: str
    phone: str
    village: int
    concern: str
    started: float
    ended: float = 0.0
    screen: str = ""  # the last screen the villager read
    ref: str | None = None  # the reference on a "Report sent" screen
    outcome: str = "incomplete"  # sent | not_sent | expired | no_answer | incomplete
    replays: int = 0
    replay_same: int = 0
    replay_expired: int = 0
    replay_other: list[tuple[str, str]] = field(default_factory=list)  # (first answer, replay answer) that differ


@dataclass
class SmsPost:
    """One incoming SMS as the provider holds it: posted until it gets a 200."""

    sms_id: str
    sender: str
    text: str
    kind: str  # report | ack | done | dlr
    created: float
    attempts: list[tuple[float, str]] = field(default_factory=list)  # (at, "200" | "503" | "error …")
    answered_at: float | None = None
    outcome: str | None = None  # "200" once answered; what it did is in the gateway's log
    replay_outcomes: list[str] = field(default_factory=list)
    form: dict[str, str] = field(default_factory=dict)


@dataclass
class Probe:
    replica: str
    started: float
    ended: float
    status: str  # "200", "503", "error ReadTimeout", …


class Driver:
    def __init__(self, servers: dict[str, str], provider: Provider, token: str, *, seed: int = 7,
                 ussd_threads: int = 2, ussd_pause_s: float = 1.2, sms_pause_s: float = 1.5,
                 replays: int = 2, posters: int = 6) -> None:
        self.servers = servers  # name -> base url
        self.provider = provider
        self.token = token
        self.random = random.Random(seed)
        self.villages = demo_villages()
        self.contacts = demo_contacts()
        self.ussd_threads, self.ussd_pause_s, self.sms_pause_s, self.replays, self.posters = (
            ussd_threads, ussd_pause_s, sms_pause_s, replays, posters)
        self.lock = threading.Lock()
        self.ussd: list[UssdReport] = []
        self.sms: list[SmsPost] = []
        self.probes: list[Probe] = []
        self.errors: list[str] = []  # driver-side surprises (never raised inside threads)
        self.villager_of_sms: dict[str, SmsPost] = {}  # phone -> its one report
        self.fates: dict[str, str] = {}  # ref -> ack_first | ack_later | never
        self.acked: set[str] = set()
        self.alerts_seen: dict[str, int] = {}
        self._numbers = itertools.count(self.random.randrange(10_000_000, 80_000_000))
        self._reposts: list[tuple[float, int, SmsPost]] = []
        self._repost_seq = itertools.count()
        self._posting = 0
        self._seen_sent = 0
        self.new_reports = threading.Event()  # set: villagers keep reporting
        self.running = threading.Event()  # set: responders, DLRs, re-posts and probes keep going
        self.answering = threading.Event()  # set: committee members answer alerts
        self._threads: list[threading.Thread] = []
        self._inflight_probes: dict[str, int] = {name: 0 for name in servers}

    # --- life cycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        self.new_reports.set()
        self.running.set()
        self.answering.set()
        targets = [*(self._ussd_loop for _ in range(self.ussd_threads)), self._sms_loop, self._responder_loop,
                   *(self._poster_loop for _ in range(self.posters)), self._probe_loop]
        for index, target in enumerate(targets):
            thread = threading.Thread(target=self._guard(target), name=f"driver-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop_reports(self) -> None:
        self.new_reports.clear()

    def stop(self) -> None:
        self.new_reports.clear()
        self.running.clear()
        for thread in self._threads:
            thread.join(60)

    def _guard(self, target):  # type: ignore[no-untyped-def]
        def run() -> None:
            try:
                target()
            except Exception as exc:  # noqa: BLE001 — recorded, checked by the test
                with self.lock:
                    self.errors.append(f"{target.__name__}: {type(exc).__name__}: {exc}")
        return run

    def _number(self, prefix: str) -> str:
        with self.lock:
            return f"+91{prefix}{next(self._numbers):08d}"

    def _client(self, url: str) -> httpx.Client:
        return httpx.Client(base_url=url, timeout=HTTP_TIMEOUT)

    # --- villagers: USSD -------------------------------------------------------------------------------

    def _ussd_loop(self) -> None:
        clients = {name: self._client(url) for name, url in self.servers.items()}
        try:
            while self.new_reports.is_set():
                self._one_ussd_report(clients)
                time.sleep(self.ussd_pause_s * (0.5 + self.random.random()))
        finally:
            for client in clients.values():
                client.close()

    def _one_ussd_report(self, clients: dict[str, httpx.Client]) -> None:
        names = list(clients)
        home = self.random.choice(names)
        other = [name for name in names if name != home] or [home]
        village = self.random.choice(self.villages)
        concern = self.random.choice(KEYS)
        urgent, callback = self.random.random() < 0.3, self.random.random() < 0.3
        phone = Phone(clients[home], number=self._number("98"), token=self.token)
        report = UssdReport("", phone.number, village, concern, time.time())
        with self.lock:
            self.ussd.append(report)
        try:
            phone.dial()
            report.session_id = phone.session_id
            self._replay(phone, clients, other, report)
            plan: list[str] = []
            if phone.screen.startswith("CON Language"):
                plan.append("1")
            plan += ["1", "1", str(village)]
            for answer in plan:
                if not self._press(phone, answer, clients, other, report):
                    return
            index = KEYS.index(concern)
            while not phone.ended and index >= options_on(phone.screen):
                index -= options_on(phone.screen)
                if not self._press(phone, "98", clients, other, report):
                    return
            for answer in (str(index + 1), "1" if urgent else "2", "1" if callback else "2", "1"):
                if not self._press(phone, answer, clients, other, report):
                    return
        except httpx.HTTPError as exc:
            report.outcome, report.screen = "no_answer", f"{type(exc).__name__}"
            report.ended = time.time()
            return
        self._close(report, phone.screen)

    def _press(self, phone: Phone, answer: str, clients: dict[str, httpx.Client], other: list[str],
               report: UssdReport) -> bool:
        if phone.ended:
            self._close(report, phone.screen)
            return False
        phone.press(answer)
        self._replay(phone, clients, other, report)
        if phone.ended:
            self._close(report, phone.screen)
            return False
        return True

    def _replay(self, phone: Phone, clients: dict[str, httpx.Client], other: list[str], report: UssdReport) -> None:
        """AT retries the hop (on any replica): the same screen must come back, never another report."""
        for n in range(self.replays):
            twin = Phone(clients[other[n % len(other)]], number=phone.number, token=self.token,
                         session_id=phone.session_id, inputs=list(phone.inputs))
            try:
                again = twin.retry()
            except httpx.HTTPError:
                continue
            report.replays += 1
            if again == phone.screen:
                report.replay_same += 1
            elif "Session ended" in again:
                report.replay_expired += 1
            else:
                report.replay_other.append((phone.screen, again))

    def _close(self, report: UssdReport, screen: str) -> None:
        report.ended, report.screen = time.time(), screen
        if "Report sent" in screen:
            match = REF.search(screen)
            report.outcome, report.ref = "sent", match.group(1) if match else None
        elif "not sent" in screen:
            report.outcome = "not_sent"
        elif "Session ended" in screen:
            report.outcome = "expired"
        else:
            report.outcome = "other"

    # --- villagers: one-line SMS reports -------------------------------------------------------------

    def _sms_loop(self) -> None:
        while self.new_reports.is_set():
            phone = self._number("97")
            words = ["REPORT", str(self.random.choice(self.villages)), str(self.random.randrange(1, len(KEYS) + 1))]
            if self.random.random() < 0.2:
                words.append("URGENT")
            post = self._sms(phone, " ".join(words), "report")
            with self.lock:
                self.villager_of_sms[phone] = post
            time.sleep(self.sms_pause_s * (0.5 + self.random.random()))

    # --- webhooks, posted as AT posts them (by a few poster threads, so an outage stalls no one) -------

    def _sms(self, sender: str, text: str, kind: str, delay: float = 0.0) -> SmsPost:
        form = {"id": f"ATXid_{uuid.uuid4().hex}", "from": sender, "to": "1098", "text": text,
                "date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}
        post = SmsPost(form["id"], sender, text, kind, time.time() + delay, form=form)
        with self.lock:
            self.sms.append(post)
        self._enqueue(post, delay)
        return post

    def _dlr(self, sent: Accepted, status: str, delay: float) -> None:
        form = {"id": sent.message_id, "status": status, "phoneNumber": sent.to, "networkCode": "40410"}
        post = SmsPost(f"dlr:{sent.message_id}:{status}", sent.to, status, "dlr", time.time() + delay, form=form)
        with self.lock:
            self.sms.append(post)
        self._enqueue(post, delay)

    def _enqueue(self, post: SmsPost, delay: float) -> None:
        with self.lock:
            heapq.heappush(self._reposts, (time.time() + delay, next(self._repost_seq), post))

    def _post(self, post: SmsPost) -> None:
        path = "/webhooks/at/sms/delivery" if post.kind == "dlr" else SMS_PATH
        url = self.servers[self.random.choice(list(self.servers))]
        try:
            response = httpx.post(url + path, data=post.form, params={"token": self.token}, timeout=HTTP_TIMEOUT)
            status = str(response.status_code)
        except httpx.HTTPError as exc:
            response, status = None, f"error {type(exc).__name__}"
        post.attempts.append((time.time(), status))
        if response is not None and response.status_code == 200:
            post.answered_at = time.time()
            post.outcome = "200"  # a bare 200: what it did is in the gateway's log ("sms received")
            for _ in range(self.replays):  # the provider posts it again anyway
                self._replay_post(post, path)
            return
        self._enqueue(post, REPOST_AFTER_S + self.random.random() * 5)  # not a 200: AT posts it again later

    def _replay_post(self, post: SmsPost, path: str) -> None:
        url = self.servers[self.random.choice(list(self.servers))]
        try:
            response = httpx.post(url + path, data=post.form, params={"token": self.token}, timeout=HTTP_TIMEOUT)
        except httpx.HTTPError as exc:
            post.replay_outcomes.append(f"error {type(exc).__name__}")
            return
        post.replay_outcomes.append(str(response.status_code))

    def _poster_loop(self) -> None:
        while self.running.is_set():
            with self.lock:
                due = self._reposts[0] if self._reposts and self._reposts[0][0] <= time.time() else None
                if due:
                    heapq.heappop(self._reposts)
                    self._posting += 1
            if due is None:
                time.sleep(0.05)
                continue
            try:
                self._post(due[2])
            finally:
                with self.lock:
                    self._posting -= 1

    def pending_posts(self) -> int:
        """Webhooks the provider still has to post (or is posting): 0 once everything got its 200."""
        with self.lock:
            return len(self._reposts) + self._posting

    # --- committee members and delivery reports --------------------------------------------------------

    def _responder_loop(self) -> None:
        while self.running.is_set():
            fresh = self.provider.snapshot(self._seen_sent)
            self._seen_sent += len(fresh)
            for sent in fresh:
                self._on_sent(sent)
            time.sleep(0.3)

    def _on_sent(self, sent: Accepted) -> None:
        if not self.answering.is_set():
            return
        if self.random.random() < 0.5:  # delivery reports for half of what the provider accepted
            self._dlr(sent, "Success", 0.5 + self.random.random())
        if sent.to not in self.contacts:
            return
        match = ALERT_REF.search(sent.message)
        if match is None or "DONE" in sent.message:
            return  # a reply to a command, not an alert
        ref = match.group(1)
        seen = self.alerts_seen[ref] = self.alerts_seen.get(ref, 0) + 1
        if ref not in self.fates:
            roll = self.random.random()
            self.fates[ref] = "ack_first" if roll < 0.55 else "ack_later" if roll < 0.8 else "never"
        fate = self.fates[ref]
        if ref in self.acked or fate == "never" or (fate == "ack_later" and seen < 4):
            return
        self.acked.add(ref)
        self._sms(sent.to, f"ACK {ref}", "ack", delay=1 + self.random.random() * 2)
        if self.random.random() < 0.4:
            self._sms(sent.to, f"DONE {ref}", "done", delay=6 + self.random.random() * 5)

    # --- /readyz ---------------------------------------------------------------------------------------

    def _probe_loop(self) -> None:
        while self.running.is_set():
            for name, url in self.servers.items():
                with self.lock:
                    busy = self._inflight_probes[name] >= 4
                    if not busy:
                        self._inflight_probes[name] += 1
                if not busy:
                    threading.Thread(target=self._probe, args=(name, url), daemon=True).start()
            time.sleep(0.5)

    def _probe(self, name: str, url: str) -> None:
        started = time.time()
        try:
            status = str(httpx.get(url + "/readyz", timeout=HTTP_TIMEOUT).status_code)
        except httpx.HTTPError as exc:
            status = f"error {type(exc).__name__}"
        with self.lock:
            self.probes.append(Probe(name, started, time.time(), status))
            self._inflight_probes[name] -= 1
