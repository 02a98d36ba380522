"""The USSD channel: Africa's Talking hops in, menu screens out.

AT sends the whole input history in `text` on every hop and retries a hop it got no answer to.
Every hop's (state, screen) is kept in a Redis hash keyed by its `text`, so a retried hop gets the
same screen, and a new hop continues from the longest history already seen. The report itself is
stored in SQL under the key `ussd:<sessionId>`, so even a retry after Redis lost the session
cannot create a second case.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import redis
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway import keys
from gateway.cases import NewReport, UnknownVillage, find_by_ref
from gateway.crypto import PhoneCipher
from gateway.metrics import Metrics
from gateway.intake import Intake
from gateway.phones import to_e164
from gateway.settings import Settings
from menus import engine as menu
from menus.catalog import Catalog
from menus.gsm import Budget

log = logging.getLogger("cpgw.ussd")
MAX_INPUTS = 60  # no real report takes more; beyond it the session is closed politely
MAX_TEXT = 1000


@dataclass(frozen=True)
class Hop:
    session_id: str
    phone: str
    network_code: str
    text: str


@dataclass
class UssdService:
    settings: Settings
    redis: redis.Redis
    engine: Engine
    catalog: Catalog
    places: menu.Places
    concerns: tuple[str, ...]
    cipher: PhoneCipher
    metrics: Metrics
    intake: Intake

    def context(self, network_code: str) -> menu.Context:
        return menu.Context(
            catalog=self.catalog, places=self.places, concerns=self.concerns,
            budget=Budget(*self.settings.budget_for(network_code)), helplines=self.settings.helpline_text(),
        )

    def answer(self, hop: Hop) -> str:
        """The screen for this hop, `CON …` or `END …`."""
        ctx = self.context(hop.network_code)
        session_key = keys.USSD_SESSION.format(session_id=hop.session_id)
        seen: dict[str, str] = self.redis.hgetall(session_key)
        if hop.text in seen:
            self.metrics.ussd_hops.labels("retry").inc()
            return json.loads(seen[hop.text])["screen"]
        tag = self.cipher.tag(hop.phone)
        if not seen and hop.text:
            # A history we never saw the start of (Redis lost it): guessing would misread the inputs.
            self.metrics.ussd_hops.labels("expired").inc()
            return menu.expired(ctx, self.redis.get(keys.PHONE_LANGUAGE.format(phone=tag))).render()
        if not seen:
            outcome = self._open(ctx, tag)
        else:
            outcome = self._continue(ctx, hop, seen)
        screen = outcome.screen.render() if outcome.screen else menu.expired(ctx, outcome.state.lang).render()
        self._save(hop, tag, session_key, outcome.state, screen, len(seen))
        self.metrics.ussd_hops.labels("new").inc()
        return screen

    def _open(self, ctx: menu.Context, tag: str) -> menu.Outcome:
        lang = self.redis.get(keys.PHONE_LANGUAGE.format(phone=tag))
        draft = self.redis.get(keys.USSD_DRAFT.format(phone=tag))
        saved = _load_state(draft) if draft else None
        return menu.start(ctx, lang, saved)

    def _continue(self, ctx: menu.Context, hop: Hop, seen: dict[str, str]) -> menu.Outcome:
        base = max((t for t in seen if t == "" or hop.text.startswith(t + "*")), key=len, default="")
        state = _load_state(json.loads(seen[base])["state"])
        inputs = (hop.text[len(base) + 1 :] if base else hop.text).split("*")
        if len(hop.text) > MAX_TEXT or len(seen) + len(inputs) > MAX_INPUTS:
            return menu.Outcome(menu.expired(ctx, state.lang), state.model_copy(update={"screen": "done"}))
        outcome = menu.Outcome(None, state)
        for raw in inputs:
            if state.screen == "done":
                break
            outcome = menu.step(state, raw, ctx)
            if outcome.effect is not None:
                outcome = menu.finish(outcome.state, ctx, self._carry_out(outcome.effect, hop, outcome.state))
            state = outcome.state
        return outcome

    def _carry_out(self, effect: menu.Effect, hop: Hop, state: menu.State) -> str | None:
        try:
            if isinstance(effect, menu.Submit):
                return self._submit(effect.draft, hop, state.lang or "en")
            case = find_by_ref(self.engine, effect.reference)
            return case.status if case else None
        except (SQLAlchemyError, UnknownVillage) as exc:
            # The villager is told to call the helplines, never that the report was sent.
            log.error("effect failed", extra={"effect": type(effect).__name__, "error": type(exc).__name__})
            self.metrics.ussd_store_failures.inc()
            return None

    def _submit(self, draft: menu.Draft, hop: Hop, lang: str) -> str:
        assert draft.village is not None and draft.concern is not None
        phone = to_e164(hop.phone) or hop.phone
        taken = self.intake.submit(
            NewReport(
                source_key=f"ussd:{hop.session_id}", village_lgd=draft.village, concern=draft.concern,
                urgent=bool(draft.urgent), channel="ussd", language=lang,
                reporter_phone=phone if draft.callback else None,
            ),
            sender=phone,
        )
        return taken.case.ref

    def _save(self, hop: Hop, tag: str, session_key: str, state: menu.State, screen: str, hops: int) -> None:
        ttl = self.settings.ussd_session_ttl_s
        pipe = self.redis.pipeline(transaction=False)
        if hops < MAX_INPUTS:
            pipe.hset(session_key, hop.text, json.dumps({"state": state.model_dump(mode="json"), "screen": screen}))
        pipe.expire(session_key, ttl)
        draft_key = keys.USSD_DRAFT.format(phone=tag)
        if state.screen == "done":
            pipe.delete(draft_key)
        elif state.screen != "resume" and state.draft.started():
            pipe.set(draft_key, state.model_dump_json(exclude={"saved"}), ex=self.settings.ussd_resume_ttl_s)
        if state.lang:
            pipe.set(keys.PHONE_LANGUAGE.format(phone=tag), state.lang, ex=keys.PHONE_LANGUAGE_TTL_S)
        pipe.execute()


def _load_state(data: str | dict) -> menu.State:
    return menu.State.model_validate_json(data) if isinstance(data, str) else menu.State.model_validate(data)
