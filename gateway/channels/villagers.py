"""Villagers' SMS channel: the USSD questions one message at a time, one-line reports, STATUS, STOP.

The conversation is the same pure menu engine as USSD, rendered for SMS (no `CON`/`END`, a
160/70-character budget), its state kept in Redis between messages so that it resumes where it
stopped. The villager's number is never written to SQL in clear: replies carry it encrypted.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import redis
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from gateway.channels.intake import Intake
from gateway.infra import keys
from gateway.infra.crypto import PhoneCipher
from gateway.infra.limits import RateLimiter
from gateway.infra.settings import Settings
from gateway.record.directory import SqlPlaces
from gateway.record.models import Message, OptOut
from gateway.referrals.cases import NewReport, UnknownVillage, find_by_ref
from gateway.referrals.outbox import Outbox
from menus import engine as menu
from menus.catalog import Catalog
from menus.dlt import dlt_id
from menus.gsm import Budget
from menus.keywords import intent, script_language, words
from menus.refs import parse_reference
from routing.concerns import KEYS

log = logging.getLogger("cpgw.villagers")
# The engine counts a 4-character `CON ` prefix that an SMS does not carry.
SMS_BUDGET = Budget(160 + 4, 70 + 4)


@dataclass
class VillagerSms:
    settings: Settings
    engine: Engine
    redis: redis.Redis
    catalog: Catalog
    places: SqlPlaces
    cipher: PhoneCipher
    intake: Intake
    outbox: Outbox
    limiter: RateLimiter

    def context(self) -> menu.Context:
        return menu.Context(catalog=self.catalog, places=self.places, concerns=KEYS, budget=SMS_BUDGET,
                            helplines=self.settings.helpline_text())

    def handle(self, sms_id: str, phone: str, text: str) -> str:
        """Answer one message from a villager; returns what happened."""
        tag = self.cipher.tag(phone)
        if not self.limiter.allow("sms", tag):
            if self.limiter.first_notice(tag):
                self._reply(sms_id, phone, self._lang(tag, None), "sms.limited", helplines=self.settings.helpline_text())
            return "limited"
        found = words(text)
        kind, lang = intent(found[0]) if found else (None, None)
        lang = lang or script_language(text) if kind else None
        if lang:
            self.redis.set(keys.PHONE_LANGUAGE.format(phone=tag), lang, ex=keys.PHONE_LANGUAGE_TTL_S)
        lang = self._lang(tag, lang)
        if kind == "stop":
            return self._stop(sms_id, phone, tag, lang)
        if kind == "status" and len(found) > 1:
            return self._status(sms_id, phone, tag, lang, "".join(found[1:]))
        if kind == "report" and len(found) > 1:
            return self._one_line(sms_id, phone, tag, lang, found[1:])
        return self._converse(sms_id, phone, tag, lang, text, fresh=kind is not None)

    # --- conversation --------------------------------------------------------------------------------

    def _converse(self, sms_id: str, phone: str, tag: str, lang: str | None, text: str, *, fresh: bool) -> str:
        ctx = self.context()
        key = keys.SMS_CONVERSATION.format(phone=tag)
        saved = self.redis.get(key)
        if saved is None or fresh:
            outcome = menu.start(ctx, lang)
        else:
            state = menu.State.model_validate_json(saved)
            outcome = menu.step(state, text, ctx)
            if outcome.effect is not None:
                outcome = menu.finish(outcome.state, ctx, self._carry_out(outcome.effect, sms_id, phone, tag, outcome.state))
        assert outcome.screen is not None
        if outcome.screen.kind == "END":
            self.redis.delete(key)
        else:
            self.redis.set(key, outcome.state.model_dump_json(), ex=keys.SMS_CONVERSATION_TTL_S)
        if outcome.state.lang:
            self.redis.set(keys.PHONE_LANGUAGE.format(phone=tag), outcome.state.lang, ex=keys.PHONE_LANGUAGE_TTL_S)
        # A screen of the conversation is its own DLT template (`menu.<screen>`), its lists the variables.
        self._send(sms_id, phone, outcome.screen.text, f"menu.{outcome.state.screen}")
        return "conversation"

    def _carry_out(self, effect: menu.Effect, sms_id: str, phone: str, tag: str,
                   state: menu.State) -> menu.Stored | str | menu.Limited | None:
        if isinstance(effect, menu.Lookup):
            if not self.limiter.allow("status", tag):
                return menu.LIMITED
            case = find_by_ref(self.engine, effect.reference)
            return case.status if case else None
        if not self.limiter.allow("report", tag):
            return menu.LIMITED
        draft = effect.draft
        assert draft.village is not None and draft.concern is not None
        try:
            taken = self.intake.submit(NewReport(
                source_key=f"sms:{sms_id}", village_lgd=draft.village, village_level=draft.village_level,
                concern=draft.concern, urgent=bool(draft.urgent), channel="sms", language=state.lang or "en",
                reporter_phone=phone if draft.callback else None), sender=phone)
        except UnknownVillage:
            return None
        return menu.Stored(taken.case.ref, taken.opens)

    # --- keywords ------------------------------------------------------------------------------------

    def _one_line(self, sms_id: str, phone: str, tag: str, lang: str | None, args: list[str]) -> str:
        """`REPORT <village code> <concern number or key> [URGENT] [CALL]`, for trained mobilisers.

        Anonymous unless the message asks for a call-back (`CALL`, `कॉल`, `ফোন`…): sending a
        report is not consent to being called about it.
        """
        village = int(args[0]) if args[0].isdigit() else None
        concern = _concern(args[1]) if len(args) > 1 else None
        urgent = any(intent(word)[0] == "urgent" for word in args[2:])
        callback = any(intent(word)[0] == "callback" for word in args[2:])
        if village is None or concern is None:
            self._reply(sms_id, phone, lang, "sms.report_usage")
            return "usage"
        place = self.places.village(village, lang or "en")
        if place is None:
            self._reply(sms_id, phone, lang, "sms.unknown_village", code=village)
            return "unknown village"
        if not self.limiter.allow("report", tag):
            if self.limiter.first_notice(tag):
                self._reply(sms_id, phone, lang, "sms.limited", helplines=self.settings.helpline_text())
            return "limited"
        taken = self.intake.submit(NewReport(
            source_key=f"sms:{sms_id}", village_lgd=village, village_level=place.level, concern=concern, urgent=urgent,
            channel="sms", language=lang or "en", reporter_phone=phone if callback else None), sender=phone)
        if taken.duplicate:
            self._reply(sms_id, phone, lang, "sms.duplicate", ref=taken.case.ref)
            return "duplicate"
        # The closing words of the menu's report (menus.engine.finish): in danger now, the helplines;
        # not urgent while the office is closed, when it opens (issue 16: the report waits, and says so).
        helplines = self.settings.helpline_text()
        extra = (self.catalog.text(lang, "sent.urgent", helplines=helplines) if urgent
                 else self.catalog.text(lang, "sent.later", opens=taken.opens, helplines=helplines) if taken.opens
                 else None)
        sent = self.catalog.text(lang, "sent", ref=taken.case.ref)
        if extra is None:
            self._send(sms_id, phone, sent, "sent")
        else:  # the same text as the menu's closing SMS, so the same DLT template
            self._send(sms_id, phone, f"{sent}\n{extra}", "menu.done")
        return "reported"

    def _status(self, sms_id: str, phone: str, tag: str, lang: str | None, raw: str) -> str:
        """The state of a case and nothing else: no place, no name, no number."""
        if not self.limiter.allow("status", tag):
            if self.limiter.first_notice(tag):
                self._reply(sms_id, phone, lang, "sms.limited", helplines=self.settings.helpline_text())
            return "limited"
        reference = parse_reference(raw)
        if reference is None:
            self._reply(sms_id, phone, lang, "check.bad_ref")
            return "bad reference"
        case = find_by_ref(self.engine, reference)
        if case is None:
            self._reply(sms_id, phone, lang, "check.not_found", ref=reference)
            return "not found"
        status = self.catalog.text(lang, f"status.{case.status}")
        self._reply(sms_id, phone, lang, "check.status", ref=reference, status=status)
        return "status"

    def _stop(self, sms_id: str, phone: str, tag: str, lang: str | None) -> str:
        self.redis.delete(keys.SMS_CONVERSATION.format(phone=tag))
        with Session(self.engine) as session:
            if session.get(OptOut, tag) is None:
                session.add(OptOut(phone_tag=tag, phone_encrypted=self.cipher.encrypt(phone)))
                session.commit()
        self._reply(sms_id, phone, lang, "sms.stopped", helplines=self.settings.helpline_text())
        return "stopped"

    # --- replies -------------------------------------------------------------------------------------

    def _lang(self, tag: str, lang: str | None) -> str | None:
        return lang or self.redis.get(keys.PHONE_LANGUAGE.format(phone=tag))

    def _reply(self, sms_id: str, phone: str, lang: str | None, key: str, **values: object) -> None:
        self._send(sms_id, phone, self.catalog.text(lang, key, **values), key)

    def _send(self, sms_id: str, phone: str, body: str, template: str) -> None:
        message = Message(id=uuid.uuid4().hex, dedupe_key=f"reply:{sms_id}"[:160], direction="out", kind="reply",
                          priority="alert", to_encrypted=self.cipher.encrypt(phone), body=body,
                          template=template[:40], dlt_template_id=dlt_id(template))
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                session.add(message)
                session.commit()
        except IntegrityError:
            return  # answered already, by an earlier try at this same SMS
        self.outbox.publish([message])


def _concern(word: str) -> str | None:
    if word.isdigit() and 1 <= int(word) <= len(KEYS):
        return KEYS[int(word) - 1]
    return word if word in KEYS else None
