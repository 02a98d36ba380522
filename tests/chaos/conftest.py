"""The fault suite runs real processes for minutes: only when asked (`make chaos`).

`pytest tests/chaos -m chaos` (or CPGW_CHAOS=1) runs it; the default run of the whole suite
(`make test`) skips it.
"""

from __future__ import annotations

import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: the fault suite (real processes, minutes); run with `make chaos`")


def _asked(config: pytest.Config) -> bool:
    return "chaos" in (config.getoption("markexpr", "") or "") or os.environ.get("CPGW_CHAOS") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _asked(config):
        return
    skip = pytest.mark.skip(reason="the fault suite: run it with `make chaos` (pytest tests/chaos -m chaos)")
    for item in items:
        if str(item.path).startswith(HERE + os.sep):
            item.add_marker(skip)
