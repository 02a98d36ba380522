"""The USSD channel: Africa's Talking hops in, menu screens out.

AT sends the whole input history in `text` on every hop and retries a hop it got no answer to.
Every hop's (state, screen) is kept in a Redis hash keyed by its `text`, so a retried hop gets the
same screen, and a new hop continues from the longest history already seen. The report itself is
stored in SQL under the key `ussd:<sessionId>`, so even a retry after Redis lost the session
cannot create a second case.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import redis
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway import keys
from gateway.cases import NewReport, UnknownVillage, find_by_ref
from gateway.crypto import PhoneCipher
from gateway.intake import Intake, unpublished
from gateway.limits import RateLimiter
from gateway.metrics import Metrics
from gateway.phones import to_e164
from gateway.recent_hops import RecentHops
from gateway.redis_direct import Command, Script
from gateway.redis_loop import LoopRedis
from gateway.settings import Settings
from menus import engine as menu
from menus.catalog import Catalog
from menus.gsm import Budget

log = logging.getLogger("cpgw.ussd")
MAX_INPUTS = 60  # no real report takes more; beyond it the session is closed politely
MAX_TEXT = 1000
# Fields of a session's hash: the screen given for a history, the state after it, hops stored.
_SCREEN, _STATE, _HOPS = "s:", "t:", "n"
# What a hop leaves in Redis, in one command: its screen and state under its history, the session's
# hop count and TTL, the phone's unfinished report (kept, replaced or dropped) and its language.
# One script instead of a pipeline of four to six commands: every villager's keypress pays this,
# and redis-py's pipeline machinery cost more than the menu step itself (docs/benchmarks.md).
_SAVE_HOP = Script("""
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
redis.call('HINCRBY', KEYS[1], ARGV[5], 1)
redis.call('EXPIRE', KEYS[1], ARGV[6])
if ARGV[7] == 'drop' then
  redis.call('DEL', KEYS[2])
elseif ARGV[7] == 'keep' then
  redis.call('SET', KEYS[2], ARGV[8], 'EX', ARGV[9])
end
if ARGV[10] ~= '' then
  redis.call('SET', KEYS[3], ARGV[10], 'EX', ARGV[11])
end
return 1
""")


@dataclass(frozen=True)
class Hop:
    session_id: str
    phone: str
    network_code: str
    text: str


class Carried(NamedTuple):
    """An effect carried out: its result (None: it failed), and Redis commands that must follow it."""

    result: str | menu.Limited | None
    publication: Sequence[Command] = ()  # a stored report's alerts, deadline and repeat marker


@dataclass(frozen=True)
class Pending:
    """A hop waiting for its effect to be carried out."""

    hop: Hop
    tag: str
    session_key: str
    ctx: menu.Context
    outcome: menu.Outcome
    lang: str | None  # the language known before this hop


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
    loop_redis: LoopRedis
    limiter: RateLimiter  # the same per-phone allowances as SMS: 3 reports, 5 look-ups an hour
    recent: RecentHops = field(init=False)
    _answered: Any = field(init=False)  # the hop counters' label children, bound once
    _retries: Any = field(init=False)
    _contexts: dict[str, menu.Context] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.recent = RecentHops(ttl_s=self.settings.ussd_session_ttl_s)
        self._answered, self._retries = self.metrics.ussd_hops.labels("new"), self.metrics.ussd_hops.labels("retry")

    def context(self, network_code: str) -> menu.Context:
        """The menu context for a network's screen budget (built once per network code)."""
        ctx = self._contexts.get(network_code)
        if ctx is None:
            ctx = menu.Context(
                catalog=self.catalog, places=self.places, concerns=self.concerns,
                budget=Budget(*self.settings.budget_for(network_code)), helplines=self.settings.helpline_text(),
            )
            if len(self._contexts) < 1000:  # network codes are few; junk ones must not grow this
                self._contexts[network_code] = ctx
        return ctx

    async def begin(self, hop: Hop) -> str | Pending:
        """Everything up to the SQL work a hop may need: the screen, or a `Pending` effect.

        The hop after the one this process answered last starts from `recent` (no Redis read).
        Otherwise one Redis round trip fetches the screen already given for this exact history (a
        retry) and the states after each shorter history, longest first (on dialling, also the
        phone's language and unfinished report). Redis is awaited (`gateway.redis_loop`): the
        event loop answers other villagers meanwhile.
        """
        ctx = self.context(hop.network_code)
        session_key = keys.USSD_SESSION.format(session_id=hop.session_id)
        inputs = hop.text.split("*") if hop.text else []
        if len(hop.text) > MAX_TEXT or len(inputs) > MAX_INPUTS:
            return menu.expired(ctx, None).render()
        recent = self.recent.get(hop.session_id)
        if recent is not None and recent.text == hop.text:
            self._retries.inc()
            return recent.screen
        if recent is not None and inputs and "*".join(inputs[:-1]) == recent.text:
            # The hop after the one this process answered last: continue from it, no Redis read.
            base = menu.State.model_validate_json(recent.state_json)
            lang = base.lang  # before the replay, which changes `base`
            pending = Pending(hop, self.cipher.tag(hop.phone), session_key, ctx,
                              self._replay(ctx, base, inputs[-1:]), lang)
            return pending if pending.outcome.effect is not None else await self.complete(pending)
        tag = self.cipher.tag(hop.phone)
        prefixes = ["*".join(inputs[:n]) for n in range(len(inputs) - 1, -1, -1)]
        fields = [_SCREEN + hop.text, _HOPS, *(_STATE + p for p in prefixes)]
        if hop.text:
            ((screen, hops, *states),), opening = await self.loop_redis.execute(("HMGET", session_key, *fields)), None
        else:
            (screen, hops, *states), opening = await self.loop_redis.execute(
                ("HMGET", session_key, *fields),
                ("MGET", keys.PHONE_LANGUAGE.format(phone=tag), keys.USSD_DRAFT.format(phone=tag)))
        if screen is not None:
            self._retries.inc()
            return screen
        if hops is None:
            if opening is None:
                # A history we never saw the start of (Redis lost it): guessing would misread the inputs.
                self.metrics.ussd_hops.labels("expired").inc()
                (lang,) = await self.loop_redis.execute(("GET", keys.PHONE_LANGUAGE.format(phone=tag)))
                return menu.expired(ctx, lang).render()
            outcome, lang = self._open(ctx, *opening)
        else:
            depth = next((i for i, state in enumerate(states) if state is not None), None)
            if depth is None or int(hops) >= MAX_INPUTS:
                return menu.expired(ctx, None).render()
            base = menu.State.model_validate_json(states[depth])
            lang = base.lang
            outcome = self._replay(ctx, base, inputs[len(inputs) - 1 - depth :])
        pending = Pending(hop, tag, session_key, ctx, outcome, lang)
        return pending if outcome.effect is not None else await self.complete(pending)

    async def complete(self, pending: Pending, carried: Carried | None = None) -> str:
        """Close the hop: the effect's result on screen, the state stored (with what must follow the effect)."""
        outcome, (result, publication) = pending.outcome, carried or Carried(None)
        if outcome.effect is not None:
            outcome = menu.finish(outcome.state, pending.ctx, result)
        ctx, state = pending.ctx, outcome.state
        screen = outcome.screen.render() if outcome.screen else menu.expired(ctx, state.lang).render()
        state_json = state.model_dump_json()
        try:
            await self._save(pending.hop, pending.tag, pending.session_key, state, state_json, screen,
                             remember_lang=state.lang != pending.lang, before=publication)
        except redis.RedisError:
            if state.screen != "done":
                raise
            # The session is over and its outcome settled (a report stored, or not): what the
            # villager is told must not change because Redis failed to record it.
            log.error("last hop of a session not saved", extra={"effect": outcome.effect is not None})
            if publication and result is not None:
                unpublished(result)
        self.recent.put(pending.hop.session_id, pending.hop.text, screen, state_json)
        self._answered.inc()
        return screen

    @staticmethod
    def _open(ctx: menu.Context, lang: str | None, draft: str | None) -> tuple[menu.Outcome, str | None]:
        saved = menu.State.model_validate_json(draft) if draft else None
        # Returning `None` as the known language refreshes its one-year TTL once per session.
        return menu.start(ctx, lang, saved), None

    @staticmethod
    def _replay(ctx: menu.Context, state: menu.State, inputs: list[str]) -> menu.Outcome:
        """Apply the new inputs to `state` (just parsed: it is handed over to the menu, not copied).

        An effect (store, look up) ends the session, so it stops there.
        """
        outcome = menu.Outcome(None, state)
        for raw in inputs:
            if state.screen == "done":
                break
            outcome = menu.step(state, raw, ctx, owned=True)
            if outcome.effect is not None:
                break
            state = outcome.state
        return outcome

    async def allowed(self, pending: Pending) -> bool:
        """Count the effect against the phone's allowance (the same as SMS: 3 reports, 5 look-ups an
        hour); False once it is spent, and the villager is told so politely (`menu.LIMITED`)."""
        kind = "report" if isinstance(pending.outcome.effect, menu.Submit) else "status"
        used, _ = await self.loop_redis.execute(*self.limiter.counting(kind, pending.tag))
        return self.limiter.within(kind, used)

    @property
    def stores_inline(self) -> bool:
        """Whether a hop's SQL work should first be tried on the event loop (`carry_out_inline`).

        On SQLite it is a millisecond of local work, and handing it to a thread cost more than
        that (the thread and the loop fight over the GIL). PostgreSQL waits on the network: threads.
        """
        return self.engine.dialect.name == "sqlite"

    def carry_out(self, pending: Pending) -> Carried:
        """The SQL work of a hop, on a thread; a None result tells the villager it did not happen (helplines)."""
        effect = pending.outcome.effect
        assert effect is not None
        with self._failures(effect):
            if isinstance(effect, menu.Submit):
                taken = self.intake.submit(*self._report(effect.draft, pending.hop, pending.outcome.state))
                return Carried(taken.case.ref)
            case = find_by_ref(self.engine, effect.reference)
            return Carried(case.status if case else None)
        return Carried(None)

    async def carry_out_inline(self, pending: Pending) -> Carried:
        """`carry_out` on the event loop (SQLite); raises `MustWait` when it would wait instead.

        A look-up is one indexed read, which never waits on SQLite; storing a report takes the
        write lock at once or not at all (`Intake.submit_inline`).
        """
        effect = pending.outcome.effect
        if not isinstance(effect, menu.Submit):
            return self.carry_out(pending)
        report, sender = self._report(effect.draft, pending.hop, pending.outcome.state)
        with self._failures(effect):
            taken, publication = await self.intake.submit_inline(report, sender, self.loop_redis)
            return Carried(taken.case.ref, publication)
        return Carried(None)

    @contextmanager
    def _failures(self, effect: menu.Effect) -> Iterator[None]:
        """A failed effect is logged and swallowed: the villager is told to call the helplines, never "sent"."""
        try:
            yield
        except (SQLAlchemyError, UnknownVillage) as exc:
            log.error("effect failed", extra={"effect": type(effect).__name__, "error": type(exc).__name__})
            self.metrics.ussd_store_failures.inc()

    @staticmethod
    def _report(draft: menu.Draft, hop: Hop, state: menu.State) -> tuple[NewReport, str]:
        """The report a confirmed draft makes, and the phone it came from."""
        assert draft.village is not None and draft.concern is not None
        phone = to_e164(hop.phone) or hop.phone
        report = NewReport(
            source_key=f"ussd:{hop.session_id}", village_lgd=draft.village, concern=draft.concern,
            urgent=bool(draft.urgent), channel="ussd", language=state.lang or "en",
            reporter_phone=phone if draft.callback else None,
        )
        return report, phone

    async def _save(self, hop: Hop, tag: str, session_key: str, state: menu.State, state_json: str, screen: str, *,
                    remember_lang: bool, before: Sequence[Command]) -> None:
        draft, mode = "", ""  # the phone's unfinished report: left as it is
        if state.screen == "done":
            mode = "drop"
        elif state.screen != "resume" and state.draft.started():
            mode = "keep"
            draft = state_json if state.saved is None else state.model_dump_json(exclude={"saved"})
        lang = state.lang if state.lang and remember_lang else ""
        await self.loop_redis.run(
            _SAVE_HOP, [session_key, keys.USSD_DRAFT.format(phone=tag), keys.PHONE_LANGUAGE.format(phone=tag)],
            [_SCREEN + hop.text, screen, _STATE + hop.text, state_json, _HOPS, self.settings.ussd_session_ttl_s,
             mode, draft, self.settings.ussd_resume_ttl_s, lang, keys.PHONE_LANGUAGE_TTL_S],
            before=before,
        )

