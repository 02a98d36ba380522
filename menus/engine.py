"""The USSD conversation as a pure state machine.

`start()` opens a session and `step(state, input)` answers one input; both return an `Outcome`:
the screen to show, the new state, and possibly an `Effect` (store the report, look a case up)
that the caller carries out before asking `finish()` for the closing screen. Nothing here does
I/O, so the gateway can replay a session's whole history when Africa's Talking retries a hop.

Navigation everywhere: `0` back to the previous screen, `00` home, `98` next page of a list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

from pydantic import BaseModel, Field

from menus.catalog import Catalog
from menus.digits import as_number, normalise
from menus.gsm import Budget
from menus.refs import parse_reference
from menus.screens import CON, END, HOME_KEY, MORE_KEY, Page, Screen, message, page

ScreenId = Literal[
    "language", "resume", "home", "where", "village_code", "place", "concern", "urgent", "callback",
    "confirm", "check", "done",
]
LIST_SCREENS = ("language", "resume", "home", "where", "place", "concern", "urgent", "callback", "confirm")
LANGUAGE_KEY = 9  # on the home screen, reachable on every page
# Every catalog key the engine asks for by name; the catalog refuses an English file without one.
REQUIRED_KEYS = (
    "language.title", "home.title", "home.report", "home.check", "home.help", "home.language",
    "resume.title", "resume.continue", "resume.restart", "where.title", "where.code", "where.list",
    "village_code.prompt", "village_code.not_found", "place.any", "place.empty", "concern.title",
    "urgent.title", "callback.title", "callback.no", "answer.yes", "answer.no", "confirm.title",
    "confirm.urgent", "confirm.send", "sent", "sent.urgent", "sent.later", "failed", "check.prompt", "check.bad_ref",
    "check.not_found", "check.status", "help.text", "expired", "invalid", "more", "back", "limited",
) + tuple(f"place.{level}" for level in (
    "state", "district", "sub_district", "block", "gram_panchayat", "village", "urban_local_body", "ward"))
# Where a child can be: a code typed on USSD or SMS is looked up among these levels only.
REPORTABLE = ("village", "ward")


class PlaceInfo(NamedTuple):
    lgd_code: int
    level: str
    name: str


PlaceKey = tuple[str, int]  # (level, LGD code): LGD numbers each level separately


class Places(Protocol):
    """The part of the directory the menu reads; the gateway implements it over SQL."""

    def children(self, parent: PlaceKey | None, lang: str) -> Sequence[PlaceInfo]:
        """The places under `parent` (the top level for None) that lead to a village or ward."""
        ...

    def village(self, lgd_code: int, lang: str, level: str | None = None) -> PlaceInfo | None:
        """The village (else the ward) with that code; only `level` when given."""
        ...


class Draft(BaseModel):
    """What the villager has told us so far."""

    parent: int | None = None  # place whose children the place list shows
    parent_level: str | None = None
    village: int | None = None
    village_level: str = "village"  # or "ward"
    concern: str | None = None
    urgent: bool | None = None
    callback: bool | None = None

    def started(self) -> bool:
        return self.village is not None or self.parent is not None


class Frame(BaseModel):
    screen: ScreenId
    start: int = 0
    draft: Draft = Field(default_factory=Draft)


class State(BaseModel):
    lang: str | None = None
    screen: ScreenId = "language"
    start: int = 0  # first option of the page on show
    shown: int = 0  # options on the page on show
    draft: Draft = Field(default_factory=Draft)
    history: list[Frame] = Field(default_factory=list)
    hint: str | None = None  # catalog key of a one-off hint, such as "invalid"
    reference: str | None = None  # the case reference typed on the check screen
    saved: State | None = None  # the unfinished report offered on the resume screen


@dataclass(frozen=True)
class Submit:
    """Store this report; then call `finish(state, ctx, reference)` (None if storing failed)."""

    draft: Draft


@dataclass(frozen=True)
class Lookup:
    """Find this case's status; then call `finish(state, ctx, status)` (None if unknown)."""

    reference: str


Effect = Submit | Lookup


@dataclass(frozen=True)
class Outcome:
    screen: Screen | None
    state: State
    effect: Effect | None = None


@dataclass(frozen=True)
class Context:
    catalog: Catalog
    places: Places
    concerns: Sequence[str]
    budget: Budget = Budget()
    helplines: str = "112, 1098"

    def t(self, state: State, key: str, **values: object) -> str:
        return self.catalog.text(state.lang, key, **values)


Handler = Callable[["State", str, "int | None", Context], Outcome]


# --- entering a session ------------------------------------------------------------------------


def start(ctx: Context, lang: str | None = None, saved: State | None = None) -> Outcome:
    """The first screen: resume an unfinished report, else home in the remembered language."""
    if saved is not None and saved.draft.started() and saved.screen != "done":
        state = State(lang=saved.lang or lang, screen="resume", saved=saved)
    elif lang in ctx.catalog.languages:
        state = State(lang=lang, screen="home")
    else:
        state = State()
    return _show(state, ctx)


def step(state: State, raw: str, ctx: Context, *, owned: bool = False) -> Outcome:
    """Answer one input typed on the screen that `state` describes.

    `state` itself is not changed, unless the caller hands it over (`owned`: it was just parsed
    and nobody else holds it), which spares a copy on every keypress.
    """
    state = state if owned else _copy(state)
    state.hint = None
    text = normalise(raw)
    if state.screen == "done":
        return Outcome(message(END, [ctx.t(state, "expired")], ctx.budget), state)
    if text == HOME_KEY and state.lang:
        return _show(State(lang=state.lang, screen="home"), ctx)
    choice = as_number(text)
    if choice == 0 and text == "0":
        return _back(state, ctx)
    if choice == MORE_KEY and state.screen in LIST_SCREENS and state.start + state.shown < _option_count(state, ctx):
        return _push(state, state.screen, ctx, start=state.start + state.shown)
    handler = _HANDLERS[state.screen]
    return handler(state, text, choice, ctx)


class Limited:
    """The effect was not carried out: this phone has used its allowance (gateway.infra.limits)."""


@dataclass(frozen=True)
class Stored:
    """A report stored; `opens` ("10:00") when it is not urgent and the office it goes to is closed:
    the villager is told when it will be seen, and where to call if the child is in danger now."""

    ref: str
    opens: str | None = None


LIMITED = Limited()


def finish(state: State, ctx: Context, result: Stored | str | Limited | None) -> Outcome:
    """The closing screen once the caller has carried out the effect `step` asked for.

    `result`: the case reference or status, None when it failed, `LIMITED` when the phone has
    sent too many reports or look-ups (a polite notice and the helplines, never "sent").
    """
    done = _copy(state)
    done.screen, done.history, done.saved = "done", [], None
    if isinstance(result, Limited):
        lines = [ctx.t(state, "limited", helplines=ctx.helplines)]
    elif state.screen == "confirm":
        if result is None:
            lines = [ctx.t(state, "failed", helplines=ctx.helplines)]
        else:
            stored = result if isinstance(result, Stored) else Stored(str(result))
            lines = [ctx.t(state, "sent", ref=stored.ref)]
            if state.draft.urgent:
                lines.append(ctx.t(state, "sent.urgent", helplines=ctx.helplines))
            elif stored.opens:
                lines.append(ctx.t(state, "sent.later", opens=stored.opens, helplines=ctx.helplines))
    else:
        lines = [_check_result(state, ctx, result)]
    return Outcome(message(END, lines, ctx.budget), done)


def expired(ctx: Context, lang: str | None) -> Screen:
    return message(END, [ctx.catalog.text(lang, "expired")], ctx.budget)


def unavailable(ctx: Context, lang: str | None) -> Screen:
    """What a villager sees when the report cannot be handled now: the helplines, never "sent"."""
    return message(END, [ctx.catalog.text(lang, "failed", helplines=ctx.helplines)], ctx.budget)


# --- navigation -----------------------------------------------------------------------------------


def _copy(state: State) -> State:
    # Four times cheaper than model_copy(deep=True), which goes through copy.deepcopy.
    return State.model_validate(state.model_dump())



def _remember(state: State) -> None:
    """Keep the screen on show so that `0` can return to it; call before changing the draft."""
    state.history.append(Frame(screen=state.screen, start=state.start, draft=state.draft.model_copy()))
    del state.history[:-40]  # a bound on what a looping caller can make us store


def _go(state: State, screen: ScreenId, ctx: Context, start: int = 0) -> Outcome:
    state.screen, state.start = screen, start
    return _show(state, ctx)


def _push(state: State, screen: ScreenId, ctx: Context, start: int = 0) -> Outcome:
    _remember(state)
    return _go(state, screen, ctx, start)


def _back(state: State, ctx: Context) -> Outcome:
    if not state.history:
        return _show(state, ctx)
    frame = state.history.pop()
    state.screen, state.start, state.draft = frame.screen, frame.start, frame.draft
    return _show(state, ctx)


def _invalid(state: State, ctx: Context, hint: str = "invalid") -> Outcome:
    state.hint = hint
    return _show(state, ctx)


# --- what each screen offers ----------------------------------------------------------------------


def _place_children(state: State, ctx: Context) -> Sequence[PlaceInfo]:
    draft = state.draft
    parent = None if draft.parent is None else (draft.parent_level or "", draft.parent)
    return ctx.places.children(parent, state.lang or "en")


def _chosen_village(state: State, ctx: Context) -> PlaceInfo | None:
    draft = state.draft
    return ctx.places.village(draft.village or 0, state.lang or "en", draft.village_level)


def _options(state: State, ctx: Context) -> list[str]:
    t = lambda key: ctx.t(state, key)  # noqa: E731
    match state.screen:
        case "language":
            return [ctx.catalog.label(code) for code in ctx.catalog.codes]
        case "resume":
            return [t("resume.continue"), t("resume.restart")]
        case "home":
            return [t("home.report"), t("home.check"), t("home.help")]
        case "where":
            return [t("where.code"), t("where.list")]
        case "place":
            return [place.name for place in _place_children(state, ctx)]
        case "concern":
            return [t(f"concern.{key}") for key in ctx.concerns]
        case "urgent":
            return [t("answer.yes"), t("answer.no")]
        case "callback":
            return [t("answer.yes"), t("callback.no")]
        case "confirm":
            return [t("confirm.send")]
    return []


def _option_count(state: State, ctx: Context) -> int:
    return len(_options(state, ctx))


def _title(state: State, ctx: Context) -> str:
    match state.screen:
        case "place":
            levels = {place.level for place in _place_children(state, ctx)}
            key = f"place.{levels.pop()}" if len(levels) == 1 else "place.any"
            return ctx.t(state, key)
        case "confirm":
            village = _chosen_village(state, ctx)
            title = ctx.t(
                state, "confirm.title",
                village=village.name if village else state.draft.village,
                concern=ctx.t(state, f"concern.{state.draft.concern}"),
            )
            return f"{title}, {ctx.t(state, 'confirm.urgent')}" if state.draft.urgent else title
        case "village_code":
            return ctx.t(state, "village_code.prompt")
        case "check":
            return ctx.t(state, "check.prompt")
    return ctx.t(state, f"{state.screen}.title")


def _show(state: State, ctx: Context) -> Outcome:
    title = _title(state, ctx)
    if state.hint:
        title = f"{ctx.t(state, state.hint)}\n{title}"
    back = ctx.t(state, "back") if state.history else None
    if state.screen in ("village_code", "check"):
        lines = [title] + ([f"0 {back}"] if back else [])
        return Outcome(message(CON, lines, ctx.budget), state)
    extra = [(str(LANGUAGE_KEY), ctx.t(state, "home.language"))] if state.screen == "home" else []
    shown: Page = page(title, _options(state, ctx), state.start, ctx.budget, ctx.t(state, "more"), back, extra)
    state.start, state.shown = shown.start, shown.count
    return Outcome(shown.screen, state)


def _picked(state: State, choice: int | None) -> int | None:
    """Index into the screen's options of what the villager chose on the page on show."""
    if choice is None or not 1 <= choice <= state.shown:
        return None
    return state.start + choice - 1


# --- answers, screen by screen --------------------------------------------------------------------


def _on_language(state: State, text: str, choice: int | None, ctx: Context) -> Outcome:
    index = _picked(state, choice)
    if index is None:
        return _invalid(state, ctx)
    return _show(State(lang=ctx.catalog.codes[index], screen="home"), ctx)


def _on_resume(state: State, text: str, choice: int | None, ctx: Context) -> Outcome:
    if choice == 1 and state.saved is not None:
        saved = state.saved.model_copy(deep=True)
        saved.hint = None
        return _show(saved, ctx)
    if choice == 2:
        return _show(State(lang=state.lang, screen="home"), ctx)
    return _invalid(state, ctx)


def _on_home(state: State, text: str, choice: int | None, ctx: Context) -> Outcome:
    if choice == LANGUAGE_KEY:
        return _push(state, "language", ctx)
    match _picked(state, choice):
        case 0:
            _remember(state)
            state.draft = Draft()
            return _go(state, "where", ctx)
        case 1:
            return _push(state, "check", ctx)
        case 2:
            done = state.model_copy(update={"screen": "done", "history": []})
            return Outcome(message(END, [ctx.t(state, "help.text", helplines=ctx.helplines)], ctx.budget), done)
    return _invalid(state, ctx)


def _on_where(state: State, text: str, choice: int | None, ctx: Context) -> Outcome:
    match _picked(state, choice):
        case 0:
            return _push(state, "village_code", ctx)
        case 1:
            _remember(state)
            state.draft.parent = state.draft.parent_level = None
            return _descend(state, ctx)
    return _invalid(state, ctx)


def _descend(state: State, ctx: Context) -> Outcome:
    """Open the place list, skipping levels that offer a single choice (one state, say)."""
    children = _place_children(state, ctx)
    while len(children) == 1 and children[0].level not in REPORTABLE:
        state.draft.parent, state.draft.parent_level = children[0].lgd_code, children[0].level
        children = _place_children(state, ctx)
    return _go(state, "place", ctx)


def _on_village_code(state: State, text: str, choice: int | None, ctx: Context) -> Outcome:
    village = ctx.places.village(choice, state.lang or "en") if choice else None
    if village is None or village.level not in REPORTABLE:
        return _invalid(state, ctx, "village_code.not_found")
    _remember(state)
    state.draft.village, state.draft.village_level = village.lgd_code, village.level
    return _go(state, "concern", ctx)


def _on_place(state: State, text: str, choice: int | None, ctx: Context) -> Outcome:
    index = _picked(state, choice)
    if index is None:
        return _invalid(state, ctx)
    chosen = _place_children(state, ctx)[index]
    reportable = chosen.level in REPORTABLE
    if not reportable and not ctx.places.children((chosen.level, chosen.lgd_code), state.lang or "en"):
        return _invalid(state, ctx, "place.empty")
    _remember(state)
    if reportable:
        state.draft.village, state.draft.village_level = chosen.lgd_code, chosen.level
        return _go(state, "concern", ctx)
    state.draft.parent, state.draft.parent_level = chosen.lgd_code, chosen.level
    return _go(state, "place", ctx)


def _chosen(field: str, next_screen: ScreenId, value: Callable[[int, Context], object]) -> Handler:
    """A handler for a screen whose choice fills one field of the draft and moves on."""

    def handle(state: State, text: str, choice: int | None, ctx: Context) -> Outcome:
        index = _picked(state, choice)
        if index is None:
            return _invalid(state, ctx)
        _remember(state)
        setattr(state.draft, field, value(index, ctx))
        return _go(state, next_screen, ctx)

    return handle


_on_concern = _chosen("concern", "urgent", lambda index, ctx: ctx.concerns[index])
_on_urgent = _chosen("urgent", "callback", lambda index, _ctx: index == 0)  # 1 Yes, 2 No
_on_callback = _chosen("callback", "confirm", lambda index, _ctx: index == 0)  # 1 Yes, 2 No (anonymous)


def _on_confirm(state: State, text: str, choice: int | None, ctx: Context) -> Outcome:
    if _picked(state, choice) != 0:
        return _invalid(state, ctx)
    return Outcome(None, state, Submit(state.draft.model_copy()))


def _on_check(state: State, text: str, choice: int | None, ctx: Context) -> Outcome:
    reference = parse_reference(text)
    if reference is None:
        return _invalid(state, ctx, "check.bad_ref")
    state.reference = reference
    return Outcome(None, state, Lookup(reference))


def _check_result(state: State, ctx: Context, status: str | None) -> str:
    reference = state.reference or ""
    if status is None:
        return ctx.t(state, "check.not_found", ref=reference)
    return ctx.t(state, "check.status", ref=reference, status=ctx.t(state, f"status.{status}"))


_HANDLERS = {
    "language": _on_language,
    "resume": _on_resume,
    "home": _on_home,
    "where": _on_where,
    "village_code": _on_village_code,
    "place": _on_place,
    "concern": _on_concern,
    "urgent": _on_urgent,
    "callback": _on_callback,
    "confirm": _on_confirm,
    "check": _on_check,
}
