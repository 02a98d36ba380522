"""The USSD channel: Africa's Talking hops in, menu screens out.

AT sends the whole input history in `text` on every hop and retries a hop it got no answer to.
Every hop's (state, screen) is kept in a Redis hash keyed by its `text`, so a retried hop gets the
same screen, and a new hop continues from the longest history already seen. The report itself is
stored in SQL under the key `ussd:<sessionId>`, so even a retry after Redis lost the session
cannot create a second case.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import redis
import redis.asyncio
from cachetools import TTLCache
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.channels.intake import Intake
from gateway.infra import keys
from gateway.infra.crypto import PhoneCipher
from gateway.infra.limits import RateLimiter
from gateway.infra.metrics import Metrics
from gateway.infra.phones import to_e164
from gateway.infra.settings import Settings
from gateway.referrals.cases import NewReport, UnknownVillage, find_by_ref
from menus import engine as menu
from menus.catalog import Catalog
from menus.gsm import Budget

log = logging.getLogger("cpgw.ussd")
MAX_INPUTS = 60  # no real report takes more; beyond it the session is closed politely
MAX_TEXT = 1000
# The event loop's Redis client has no socket timeout (`infra.redisconn.RedisHandle.asyncio`): a
# hop's Redis work is bounded here instead, as redis-py's default would have bounded each command.
REDIS_WITHIN_S = 5.0
# Fields of a session's hash: the screen given for a history, the state after it, the deepest
# history stored (its number of inputs).
_SCREEN, _STATE, _DEPTH = "s:", "t:", "n"
# What a hop leaves in Redis, in one command: its screen and state under its history, the session's
# depth and TTL, the phone's unfinished report (kept, replaced or dropped) and its language. Every
# write is idempotent (the depth is a maximum, not a count), so a script sent again because only
# its reply was lost leaves the same hash.
_SAVE_HOP = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if tonumber(ARGV[5]) > tonumber(redis.call('HGET', KEYS[1], 'n') or '-1') then
  redis.call('HSET', KEYS[1], 'n', ARGV[5])
end
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
"""


@dataclass(frozen=True)
class Hop:
    session_id: str
    phone: str
    network_code: str
    text: str


Result = menu.Stored | str | menu.Limited | None  # a report stored, a status looked up; None: it failed


class RecentHop(NamedTuple):
    """The last hop this process answered for a session (see `UssdService.recent`)."""

    text: str
    screen: str
    state_json: str


@dataclass(frozen=True)
class Work:
    """A hop's effect as SQL work: a report to store (from `sender`) or a `reference` to look up,
    counted against the phone `tag`'s allowance. Plain values, to and from JSON."""

    tag: str
    report: NewReport | None = None
    sender: str = ""
    reference: str = ""

    @property
    def kind(self) -> str:
        """The allowance it counts against (`infra.limits`)."""
        return "report" if self.report is not None else "status"

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "report": asdict(self.report) if self.report else None, "sender": self.sender,
                "reference": self.reference}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Work:
        report = data.get("report")
        return cls(str(data["tag"]), NewReport(**report) if report else None, str(data.get("sender", "")),
                   str(data.get("reference", "")))


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
    """The USSD menu over Redis: `begin` and `complete` run on the event loop (redis-py's asyncio
    client), `carry_out` — the SQL a report or a look-up needs — on a thread."""

    settings: Settings
    redis: redis.asyncio.Redis
    engine: Engine
    catalog: Catalog
    places: menu.Places
    concerns: tuple[str, ...]
    cipher: PhoneCipher
    metrics: Metrics
    intake: Intake
    limiter: RateLimiter  # the same per-phone allowances as SMS: 3 reports, 5 look-ups an hour
    timer: Callable[[], float] = time.monotonic  # the `recent` cache's clock (tests move it)
    # The last hop this process answered per live session. A session's history is append-only and
    # the state after a given history never changes (the menu is a pure function of it), so the
    # next hop, whose `text` is this one's plus an input, can start from here without reading
    # Redis. Redis stays the record; a hop another replica answered is read from there. Entries
    # live as long as Redis keeps the session.
    recent: TTLCache[str, RecentHop] = field(init=False)
    _save_hop: Any = field(init=False)
    _answered: Any = field(init=False)  # the hop counters' label children, bound once
    _retries: Any = field(init=False)
    _contexts: dict[str, menu.Context] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.recent = TTLCache(maxsize=20_000, ttl=self.settings.ussd_session_ttl_s, timer=self.timer)
        self._save_hop = self.redis.register_script(_SAVE_HOP)
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
        """Everything up to the SQL work a hop may need: the screen, or a `Pending` effect; a
        `TimeoutError` if Redis does not answer within REDIS_WITHIN_S."""
        async with asyncio.timeout(REDIS_WITHIN_S):
            return await self._begin(hop)

    async def _begin(self, hop: Hop) -> str | Pending:
        """`begin`'s work.

        The hop after the one this process answered last starts from `recent` (no Redis read).
        Otherwise one Redis round trip fetches the screen already given for this exact history (a
        retry) and the states after each shorter history, longest first (on dialling, also the
        phone's language and unfinished report). Redis is awaited: the event loop answers other
        villagers meanwhile.
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
        fields = [_SCREEN + hop.text, _DEPTH, *(_STATE + p for p in prefixes)]
        if hop.text:
            (screen, hops, *states), opening = await self.redis.hmget(session_key, fields), None
        else:
            pipe = self.redis.pipeline(transaction=False)
            pipe.hmget(session_key, fields)
            pipe.mget(keys.PHONE_LANGUAGE.format(phone=tag), keys.USSD_DRAFT.format(phone=tag))
            (screen, hops, *states), opening = await pipe.execute()
        if screen is not None:
            self._retries.inc()
            return screen
        if hops is None:
            if opening is None:
                # A history we never saw the start of (Redis lost it): guessing would misread the inputs.
                self.metrics.ussd_hops.labels("expired").inc()
                lang = await self.redis.get(keys.PHONE_LANGUAGE.format(phone=tag))
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

    async def complete(self, pending: Pending, result: Result = None) -> str:
        """Close the hop: the effect's result on screen, the state stored."""
        screen, saving = self.settle(pending, result)
        await saving()
        return screen

    def settle(self, pending: Pending, result: Result = None) -> tuple[str, Callable[[], Awaitable[None]]]:
        """The hop's screen, and the saving of its state: to await before answering, except after
        the hop that ends a session (a report stored or looked up), whose saving may follow the
        answer (`ussd_webhook`) — its outcome is settled, so the villager is not kept waiting for
        a Redis round trip that cannot change what they are told."""
        outcome = pending.outcome
        if outcome.effect is not None:
            outcome = menu.finish(outcome.state, pending.ctx, result)
        ctx, state = pending.ctx, outcome.state
        screen = outcome.screen.render() if outcome.screen else menu.expired(ctx, state.lang).render()
        state_json = state.model_dump_json()
        done, answered = state.screen == "done", RecentHop(pending.hop.text, screen, state_json)
        if done:  # a retry to this process gets the same screen while the state is being saved
            self.recent[pending.hop.session_id] = answered

        async def saving() -> None:
            try:
                async with asyncio.timeout(REDIS_WITHIN_S):
                    await self._save(pending.hop, pending.tag, pending.session_key, state, state_json, screen,
                                     remember_lang=state.lang != pending.lang)
            except (redis.RedisError, TimeoutError):
                if not done:
                    raise
                # The session is over and its outcome settled (a report stored, or not): what the
                # villager is told must not change because Redis failed to record it.
                log.error("last hop of a session not saved", extra={"effect": outcome.effect is not None})
            if not done:
                self.recent[pending.hop.session_id] = answered
            self._answered.inc()

        return screen, saving

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

    def work(self, pending: Pending) -> Work:
        """What the hop's effect asks of SQL, in plain values: it may be carried out in another
        process (`gateway.channels.effects`)."""
        effect = pending.outcome.effect
        if isinstance(effect, menu.Submit):
            report, phone = self._report(effect.draft, pending.hop, pending.outcome.state)
            return Work(pending.tag, report=report, sender=phone)
        assert isinstance(effect, menu.Lookup)
        return Work(pending.tag, reference=effect.reference)

    def carry_out(self, work: Work) -> Result:
        """The SQL work of a hop, on a thread: the case reference (stored and on disk), the status
        looked up, or None when it failed (the villager is given the helplines, never "sent");
        `menu.LIMITED` once the phone's allowance is spent."""
        return self.carry_out_many([work])[0]

    def carry_out_many(self, works: list[Work]) -> list[Result]:
        """`carry_out` for hops that arrived together (the effects process's): their allowances in
        one Redis round trip, their new reports in one write transaction, published in one round trip."""
        try:
            allowed = self._allowed(works)
        except redis.RedisError as exc:
            log.error("effect failed", extra={"effect": "allowance", "error": type(exc).__name__})
            self.metrics.ussd_store_failures.inc(sum(1 for work in works if work.report is not None))
            return [None] * len(works)
        results: list[Result] = [None if ok else menu.LIMITED for ok, _ in allowed]
        reports = [i for i, work in enumerate(works) if work.report is not None and allowed[i][0]]
        with self._failures("Submit", len(reports)):
            taken = self.intake.submit_many([(works[i].report, works[i].sender, allowed[i][1])  # type: ignore[misc]
                                             for i in reports])
            for i, outcome in zip(reports, taken, strict=True):
                if isinstance(outcome, BaseException):
                    self._failed("Submit", outcome)
                else:
                    results[i] = menu.Stored(outcome.case.ref, outcome.opens)
        for i, work in enumerate(works):
            if work.report is None and allowed[i][0]:
                with self._failures("Lookup", 1):
                    case = find_by_ref(self.engine, work.reference)
                    results[i] = case.status if case else None
        return results

    def _allowed(self, works: list[Work]) -> list[tuple[bool, str | None]]:
        """Count each effect against its phone's allowance (the same as SMS: 3 reports, 5 look-ups an
        hour), and read each report's repeat marker (`Intake.submit`'s `earlier`), in one round trip:
        each round trip of a storing thread is a GIL hand-off."""
        pipe = self.intake.redis.pipeline(transaction=False)
        for work in works:
            for command in self.limiter.counting(work.kind, work.tag):
                pipe.execute_command(*command)
            if work.report is not None:
                pipe.get(self.intake.repeat_key(work.report, work.sender))
        replies = iter(pipe.execute())
        allowed = []
        for work in works:
            used, _ = next(replies), next(replies)
            earlier = next(replies) if work.report is not None else None
            allowed.append((self.limiter.within(work.kind, used), earlier))
        return allowed

    @contextmanager
    def _failures(self, effect: str, count: int) -> Iterator[None]:
        """Failed effects are logged and swallowed: their villagers are told to call the helplines, never "sent"."""
        try:
            yield
        except (SQLAlchemyError, redis.RedisError, UnknownVillage) as exc:
            for _ in range(count):
                self._failed(effect, exc)

    def _failed(self, effect: str, exc: BaseException) -> None:
        """One report's failure fails it alone: the others stored with it were stored."""
        expected = isinstance(exc, SQLAlchemyError | redis.RedisError | UnknownVillage)
        log.error("effect failed", extra={"effect": effect, "error": type(exc).__name__},
                  exc_info=None if expected else exc)
        self.metrics.ussd_store_failures.inc()

    @staticmethod
    def _report(draft: menu.Draft, hop: Hop, state: menu.State) -> tuple[NewReport, str]:
        """The report a confirmed draft makes, and the phone it came from."""
        assert draft.village is not None and draft.concern is not None
        phone = to_e164(hop.phone) or hop.phone
        report = NewReport(
            source_key=f"ussd:{hop.session_id}", village_lgd=draft.village, village_level=draft.village_level,
            concern=draft.concern,
            urgent=bool(draft.urgent), channel="ussd", language=state.lang or "en",
            reporter_phone=phone if draft.callback else None,
        )
        return report, phone

    async def _save(self, hop: Hop, tag: str, session_key: str, state: menu.State, state_json: str, screen: str, *,
                    remember_lang: bool) -> None:
        draft, mode = "", ""  # the phone's unfinished report: left as it is
        if state.screen == "done":
            mode = "drop"
        elif state.screen != "resume" and state.draft.started():
            mode = "keep"
            draft = state_json if state.saved is None else state.model_dump_json(exclude={"saved"})
        lang = state.lang if state.lang and remember_lang else ""
        depth = len(hop.text.split("*")) if hop.text else 0
        await self._save_hop(
            keys=[session_key, keys.USSD_DRAFT.format(phone=tag), keys.PHONE_LANGUAGE.format(phone=tag)],
            args=[_SCREEN + hop.text, screen, _STATE + hop.text, state_json, depth, self.settings.ussd_session_ttl_s,
                  mode, draft, self.settings.ussd_resume_ttl_s, lang, keys.PHONE_LANGUAGE_TTL_S],
        )
