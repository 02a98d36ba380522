"""Weeks of made-up history for one district, written straight to SQL: cases with their ladders,
alerts, missed deadlines, acknowledgements and outcomes at chosen times, and a phone whose SMS
keep failing. The dashboard needs time to have passed; the referral loop would need weeks."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from gateway.record.models import Case, CaseEvent, Message, Place
from menus.refs import new_reference

CONCERN_WEIGHTS = {"child_marriage": 6, "neglect_dropout": 5, "child_labour": 4, "physical_violence": 3,
                   "orphan_support": 3, "begging": 2, "corporal_punishment": 2, "sexual_abuse": 1, "missing_child": 1,
                   "other": 2}
OUTCOMES = ("rescued", "produced_before_cwc", "referred_to_scheme", "no_concern_found", "referred_to_scheme")


def seed(services, district: int, *, weeks: int = 10, seed: int = 6, now: datetime | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    """Cases reported over the last `weeks` weeks in `district`; returns their references."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    refs = []
    with Session(services.engine) as session:
        villages = list(session.exec(select(Place).where(col(Place.level) == "village", col(Place.district_lgd) == district)))
        for week in range(weeks):
            for number in range(rng.randint(4, 9)):
                created = now - timedelta(weeks=week, hours=rng.uniform(2, 160))
                refs.append(_case(session, services, rng, rng.choice(villages), created, now, f"seed:{week}:{number}"))
        failing = "+917000000110"  # an anganwadi worker whose phone is off
        some = session.exec(select(Case).where(col(Case.district_lgd) == district).limit(3)).all()
        for case in some:
            session.add(Message(id=uuid.uuid4().hex, dedupe_key=f"seed-failed:{case.id}", case_id=case.id, direction="out",
                                kind="alert", to_phone=failing, unit="VCPC", contact_name="DEMO Anganwadi worker Chandpur",
                                step=0, body="...", status="failed", failure_reason="AbsentSubscriber",
                                created_at=now - timedelta(days=2), updated_at=now - timedelta(days=2)))
        session.commit()
    return refs


def _case(session: Session, services, rng: random.Random, village: Place, created: datetime, now: datetime,  # type: ignore[no-untyped-def]
          key: str) -> str:
    concern = rng.choices(list(CONCERN_WEIGHTS), weights=list(CONCERN_WEIGHTS.values()))[0]
    urgent = rng.random() < 0.15
    ladder = services.referrals.plan(village.lgd_code, concern, urgent)
    case = Case(ref=new_reference(), source_key=key, concern=concern, urgent=urgent, village_lgd=village.lgd_code,
                block_lgd=village.block_lgd, district_lgd=village.district_lgd, channel=rng.choice(("ussd", "ussd", "sms")),
                ladder=ladder.to_dict(), created_at=created, updated_at=created)
    session.add(case)
    session.flush()
    events = [CaseEvent(case_id=case.id, at=created, kind="reported", actor="reporter",
                        detail={"channel": case.channel, "concern": concern, "urgent": urgent})]
    at, step = created, 0
    silent = created > now - timedelta(days=3) and rng.random() < 0.6  # recent, and nobody has answered yet
    while True:
        units = list(ladder.steps[step].unit_keys)
        events.append(CaseEvent(case_id=case.id, at=at, kind="alerted" if step == 0 else "escalated",
                                detail={"step": step, "round": 0, "units": units,
                                        "reason": "reported" if step == 0 else "deadline"}))
        within = ladder.steps[step].ack_within
        took = timedelta(days=3650) if silent else timedelta(seconds=within * rng.lognormvariate(-0.7, 1.0))
        answered = at + took
        if took.total_seconds() > within and step + 1 < len(ladder.steps) and at + timedelta(seconds=within) < now:
            at, step = at + timedelta(seconds=within), step + 1  # missed: the next step is alerted
            continue
        last = step + 1 == len(ladder.steps)
        reminded = at + timedelta(seconds=within)
        while last and reminded < min(answered, now):  # the last step is alerted again until someone answers
            events.append(CaseEvent(case_id=case.id, at=reminded, kind="reminded",
                                    detail={"step": step, "units": units, "reason": "deadline"}))
            case.overdue = True
            reminded += timedelta(seconds=ladder.repeat_every)
        if answered > now:  # nobody yet: open, and past its deadline if that has gone by
            case.step, case.due_at = step, reminded if last and case.overdue else at + timedelta(seconds=within)
            break
        unit = units[0]
        case.status, case.step, case.acknowledged_unit, case.acknowledged_name = "acknowledged", step, unit, f"DEMO {unit}"
        events.append(CaseEvent(case_id=case.id, at=answered, kind="acknowledged", actor=f"DEMO {unit}",
                                detail={"unit": unit, "name": f"DEMO {unit}", "via": "sms", "step": step}))
        done = answered + timedelta(days=rng.uniform(1, 12))
        if done < now:
            case.status = "resolved"
            events.append(CaseEvent(case_id=case.id, at=done, kind="resolved", actor="Meera Devi (meera)",
                                    detail={"outcome": rng.choice(OUTCOMES), "note": ""}))
        break
    session.add(case)
    session.add_all(events)
    return case.ref
