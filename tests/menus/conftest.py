"""A small directory and a context for driving the pure menu engine without any server."""

from __future__ import annotations

import pytest

from menus.catalog import Catalog, load_catalog
from menus.engine import REQUIRED_KEYS, Context, Outcome, State, start, step
from menus.gsm import Budget, fits
from menus.places import StaticPlaces
from routing.concerns import KEYS

ROWS = [
    (20, "state", None, {"en": "Jharkhand", "hi": "झारखंड"}),
    (19, "state", None, {"en": "West Bengal", "bn": "পশ্চিমবঙ্গ"}),
    (9001, "district", 20, {"en": "Ranchi", "hi": "रांची"}),
    (90011, "block", 9001, {"en": "Kanke", "hi": "कांके"}),
    (900111, "gram_panchayat", 90011, {"en": "Pipra", "hi": "पिपरा"}),
    (9001111, "village", 900111, {"en": "Amtola", "hi": "आमतोला", "bn": "আমতলা"}),
    (9001199, "village", 90011, {"en": "Tilaiya"}),  # directly under the block
    (900112, "gram_panchayat", 90011, {"en": "Empty GP"}),  # no villages listed
    (9101, "district", 19, {"en": "Purulia"}),
    (91011, "block", 9101, {"en": "Jhalda"}),
] + [(9101100 + i, "village", 91011, {"en": f"Village with a rather long name {i:02d}"}) for i in range(40)]


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(required=REQUIRED_KEYS)  # the pure engine's own keys; the gateway checks the rest


@pytest.fixture(scope="session")
def ctx(catalog: Catalog) -> Context:
    return Context(catalog=catalog, places=StaticPlaces(ROWS), concerns=KEYS, budget=Budget(160, 80))


class Walk:
    """Drives the engine like a phone; every screen is checked against the budget."""

    def __init__(self, ctx: Context, lang: str | None = None, saved: State | None = None) -> None:
        self.ctx = ctx
        self.outcome: Outcome = start(ctx, lang, saved)
        self.screens = [self.outcome.screen]
        self._check()

    @property
    def state(self) -> State:
        return self.outcome.state

    @property
    def text(self) -> str:
        assert self.outcome.screen is not None
        return self.outcome.screen.render()

    def press(self, *inputs: str) -> "Walk":
        for raw in inputs:
            self.outcome = step(self.outcome.state, raw, self.ctx)
            self.screens.append(self.outcome.screen)
            self._check()
        return self

    def _check(self) -> None:
        if self.outcome.screen is not None:
            rendered = self.outcome.screen.render()
            assert fits(rendered, self.ctx.budget), rendered


@pytest.fixture
def walk(ctx: Context):  # type: ignore[no-untyped-def]
    return lambda lang=None, saved=None: Walk(ctx, lang, saved)
