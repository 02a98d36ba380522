"""What the record must show after the faults, and the figures for docs/reliability.md.

Each check returns figures and a list of violations (plain sentences); the test writes every figure
to bench/out/chaos.json before it asserts that no check found a violation.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import Engine
from sqlmodel import select

from gateway.devtools.traffic import REF
from gateway.infra import keys
from gateway.record.db import read_session
from gateway.record.models import Case, CaseEvent, Message
from tests.chaos.driver import Driver
from tests.chaos.provider import Accepted

ALERT_KINDS = ("alert", "reminder")
FINAL = ("sent", "delivered", "failed")


@dataclass
class Record:
    cases: list[Case]
    messages: list[Message]
    events: list[CaseEvent]

    @classmethod
    def read(cls, engine: Engine) -> Record:
        with read_session(engine) as session:
            return cls(list(session.exec(select(Case))), list(session.exec(select(Message))),
                       list(session.exec(select(CaseEvent))))


@dataclass
class Window:
    kind: str
    start: float
    end: float


def _in(at: float, window: Window, slack: float = 0.0) -> bool:
    return window.start - slack <= at <= window.end + slack


def reports(driver: Driver, record: Record, sent: list[Accepted]) -> tuple[dict[str, Any], list[str]]:
    """Every report that got a reference is stored, under that reference and for that report."""
    violations: list[str] = []
    by_ref = {case.ref: case for case in record.cases}
    by_source = {case.source_key: case for case in record.cases}

    outcomes = Counter(report.outcome for report in driver.ussd)
    stored_not_told = 0
    for report in driver.ussd:
        case = by_source.get(f"ussd:{report.session_id}")
        refs = set(REF.findall(report.screen)) if report.outcome == "sent" else set()
        for first, again in report.replay_other:
            for screen in (first, again):
                if "Report sent" in screen:
                    refs |= set(REF.findall(screen))
        if report.outcome == "sent" and not refs:
            violations.append(f"USSD {report.session_id}: told sent without a reference: {report.screen!r}")
        if len(refs) > 1:
            violations.append(f"USSD {report.session_id}: two references for one report: {sorted(refs)}")
        for ref in refs:
            if ref not in by_ref:
                violations.append(f"USSD {report.session_id}: told sent as {ref}, which is not in SQL")
            elif by_ref[ref].source_key != f"ussd:{report.session_id}":
                violations.append(f"USSD {report.session_id}: told {ref}, which is another report's case")
        if case is not None and not refs:
            stored_not_told += 1

    # One-line SMS reports: the reply with the reference leaves through the provider.
    replies: dict[str, list[str]] = defaultdict(list)
    for accepted in sent:
        if accepted.to in driver.villager_of_sms:
            replies[accepted.to].append(accepted.message)
    sms_reports = [post for post in driver.sms if post.kind == "report"]
    told_sent_sms = lost = unanswered = 0
    for post in sms_reports:
        case = by_source.get(f"sms:{post.sms_id}")
        texts = replies.get(post.sender, [])
        refs = {ref for text in texts if "Report sent" in text for ref in REF.findall(text)}
        if refs:
            told_sent_sms += 1
        for ref in refs:
            if ref not in by_ref or by_ref[ref].source_key != f"sms:{post.sms_id}":
                violations.append(f"SMS {post.sms_id}: told sent as {ref}, not stored for that SMS")
        if post.answered_at is None:
            unanswered += 1
            violations.append(f"SMS {post.sms_id}: never got a 200 (attempts {post.attempts[-3:]})")
        elif case is None:
            lost += 1
            violations.append(
                f"SMS report {post.sms_id} lost: the provider got its 200 (outcome {post.outcome!r}, attempts "
                f"{[status for _, status in post.attempts]}) but no case was stored and no reply sent")
    figures = {
        "ussd_sessions": len(driver.ussd),
        "ussd_outcomes": dict(outcomes),
        "ussd_told_sent": outcomes.get("sent", 0),
        "ussd_stored_but_told_not_sent": stored_not_told,
        "sms_reports_posted": len(sms_reports),
        "sms_reports_answered_200": sum(1 for post in sms_reports if post.answered_at is not None),
        "sms_reports_told_sent": told_sent_sms,
        "sms_reports_lost": lost,
        "sms_reports_never_answered": unanswered,
        "reports_sent": len(driver.ussd) + len(sms_reports),
        "reports_told_sent": outcomes.get("sent", 0) + told_sent_sms,
        "reports_stored": len(record.cases),
    }
    return figures, violations


def handled(logs: Iterable[Path]) -> dict[str, list[str]]:
    """What each incoming SMS did, by id, from the gateways' JSON logs ("sms received" lines).

    The webhook answers a bare 200 (it must not tell a caller what happened), so the log is
    where the fault suite reads whether a post had an effect or was taken as a repeat.
    """
    outcomes: dict[str, list[str]] = {}
    for path in logs:
        for line in path.read_text(errors="replace").splitlines():
            if '"sms received"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            outcomes.setdefault(str(entry.get("sms_id")), []).append(str(entry.get("outcome")))
    return outcomes


def replays(driver: Driver, logs: Iterable[Path]) -> tuple[dict[str, Any], list[str]]:
    """An SMS posted several times (replays, re-posts after a non-200) has at most one effect."""
    violations = []
    sms_replays = Counter()
    outcomes = handled(logs)
    for post in driver.sms:
        sms_replays[post.kind] += len(post.replay_outcomes)
        effects = [outcome for outcome in outcomes.get(post.sms_id, []) if outcome != "repeat"]
        if post.kind != "dlr" and len(effects) > 1:
            violations.append(f"{post.kind} SMS {post.sms_id} posted {1 + len(post.replay_outcomes)} times "
                              f"had {len(effects)} effects: {effects!r}")
    reposts = sum(max(0, len(post.attempts) - 1) for post in driver.sms)
    figures = {
        "ussd_hops_replayed": sum(report.replays for report in driver.ussd),
        "ussd_replays_same_screen": sum(report.replay_same for report in driver.ussd),
        "ussd_replays_session_ended": sum(report.replay_expired for report in driver.ussd),
        "ussd_replays_other_screen": sum(len(report.replay_other) for report in driver.ussd),
        "sms_replays": dict(sms_replays),
        "webhook_reposts_after_non_200": reposts,
    }
    return figures, violations


def alerts(record: Record, sent: list[Accepted], windows: list[Window], cutoff: float
           ) -> tuple[dict[str, Any], list[str]]:
    """Every alert was sent; the provider got each at most once, except where a fault explains it."""
    violations: list[str] = []
    rows = [m for m in record.messages if m.direction == "out"]
    alert_rows = [m for m in rows if m.kind in ALERT_KINDS]
    statuses = Counter(m.status for m in alert_rows)
    for message in alert_rows:
        if message.status not in ("sent", "delivered") and message.created_at.timestamp() < cutoff:
            violations.append(f"alert {message.dedupe_key} ({message.kind}) not sent: {message.status}, "
                              f"{message.attempts} attempts, {message.failure_reason!r}")
    unsent_other = [m for m in rows if m.kind not in ALERT_KINDS and m.status not in FINAL
                    and m.created_at.timestamp() < cutoff]
    for message in unsent_other:
        violations.append(f"{message.kind} message {message.id} not sent: {message.status}, {message.attempts} attempts")

    recorded = {m.provider_id: m for m in rows if m.provider_id}
    by_text: dict[tuple[str, str], list[Message]] = defaultdict(list)
    for message in rows:
        by_text[(message.to_phone or "", message.body)].append(message)
    duplicates: Counter[str] = Counter()
    duplicate_kinds: Counter[str] = Counter()
    sql_windows = [w for w in windows if w.kind == "sql"]
    for accepted in sent:
        if accepted.message_id in recorded:
            continue
        # The provider accepted it but the gateway never recorded this send: a second send follows.
        if accepted.fault == "late":
            cause = "provider answered after the timeout (accepted late)"
        elif accepted.fault == "hold":
            cause = "worker SIGKILLed mid-send"
        elif any(_in(accepted.at, window, slack=2) for window in sql_windows):
            cause = "SQL down while recording the send"
        else:
            cause = "unexplained"
        duplicates[cause] += 1
        candidates = by_text.get((accepted.to, accepted.message)) or [
            m for m in rows if m.body == accepted.message]
        duplicate_kinds[candidates[0].kind if candidates else "unknown"] += 1
        if cause == "unexplained":
            violations.append(f"a second send to {accepted.to} nobody can explain: {accepted.message[:60]!r}")
    alert_sends = sum(1 for a in sent if a.message_id in recorded and recorded[a.message_id].kind in ALERT_KINDS)
    figures = {
        "alerts_due": len(alert_rows),
        "alerts_due_by_kind": dict(Counter(m.kind for m in alert_rows)),
        "alerts_sent": statuses.get("sent", 0) + statuses.get("delivered", 0),
        "alert_statuses": dict(statuses),
        "alerts_retried": sum(1 for m in alert_rows if m.attempts > 1),
        "alert_sends_accepted_by_provider": alert_sends + sum(duplicate_kinds[k] for k in ALERT_KINDS),
        "messages_out": len(rows),
        "provider_accepted": len(sent),
        "duplicates": sum(duplicates.values()),
        "duplicates_by_cause": dict(duplicates),
        "duplicates_by_kind": dict(duplicate_kinds),
    }
    return figures, violations


def events(record: Record) -> tuple[dict[str, Any], list[str]]:
    """Guarded transitions: each step escalated to once, each round reminded once, one acknowledgement."""
    violations: list[str] = []
    seen: Counter[tuple[int, str, int, int]] = Counter()
    kinds = Counter(event.kind for event in record.events)
    for event in record.events:
        if event.kind in ("alerted", "escalated", "reminded"):
            seen[(event.case_id, "alert", event.detail.get("step", -1), event.detail.get("round", -1))] += 1
        elif event.kind == "acknowledged":
            seen[(event.case_id, "ack", 0, 0)] += 1
    for (case_id, kind, step, round_), count in seen.items():
        if count > 1 and kind == "alert":
            violations.append(f"case {case_id}: step {step} round {round_} alerted {count} times")
    acks = Counter(case_id for (case_id, kind, _, _), count in seen.items() if kind == "ack" for _ in range(count))
    figures = {"events": dict(kinds), "cases_by_status": dict(Counter(c.status for c in record.cases)),
               "acknowledged_more_than_once": sum(1 for count in acks.values() if count > 1)}
    return figures, violations


def schedules(record: Record, client: redis.Redis) -> tuple[dict[str, Any], list[str]]:
    """Every open case has its next step in Redis (pending or claimed by a worker)."""
    violations: list[str] = []
    pending = set(client.zrange(keys.DEADLINES, 0, -1)) | set(client.zrange(keys.DEADLINES_CLAIMED, 0, -1))
    open_cases = [case for case in record.cases if case.status == "open"]
    missing = 0
    for case in open_cases:
        if case.ladder is None:
            violations.append(f"case {case.ref} open but never routed")
        elif case.due_at is None:
            continue  # unroutable: nobody to alert, flagged overdue for the DCPU
        elif keys.deadline_member(case.id or 0, case.step, case.round) not in pending:
            missing += 1
            violations.append(f"case {case.ref} open at step {case.step} round {case.round} with nothing scheduled")
    figures = {"open_cases": len(open_cases), "open_unroutable": sum(1 for c in open_cases if c.due_at is None),
               "open_without_schedule": missing}
    return figures, violations


def readiness(driver: Driver, windows: list[Window]) -> tuple[dict[str, Any], list[str]]:
    """/readyz said 503 while Redis or SQL was down (and never 200 from a probe wholly inside)."""
    violations: list[str] = []
    figures: dict[str, Any] = {}
    for window in windows:
        if window.kind not in ("redis", "sql"):
            continue
        inside = [p for p in driver.probes if window.start <= p.started <= window.end]
        statuses = Counter(p.status for p in inside)
        ready_inside = [p for p in inside if p.status == "200" and p.ended <= window.end]
        slowest = max((p.ended - p.started for p in inside), default=0.0)
        figures[f"{window.kind}@{window.start:.0f}"] = {
            "down_s": round(window.end - window.start, 1), "probes": len(inside), "statuses": dict(statuses),
            "slowest_probe_s": round(slowest, 1)}
        if not statuses.get("503"):
            violations.append(f"/readyz never said 503 while {window.kind} was down ({dict(statuses)})")
        if ready_inside:
            violations.append(f"/readyz said 200 {len(ready_inside)} times while {window.kind} was down")
    total = Counter(p.status for p in driver.probes)
    figures["all_probes"] = dict(total)
    return figures, violations

