"""`cpgw simulate` against a real server on a loopback port, typed like a mobiliser in training."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from gateway.devtools.simulate import run
from gateway.record.models import Case
from gateway.web.app import create_app
from tests.harness.serving import serving


@pytest.fixture
def server(settings, demo) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serving(create_app(settings)) as url:
        yield url


@pytest.mark.parametrize("choice", ["1", "2", "3", "4", "5"])
def test_simulate_completes_a_report_in_each_language(server, demo, choice):
    answers = iter([choice, "1", "1", "9101111", "2", "2", "1", "1", "n"])
    shown: list[str] = []
    run(server, f"+91981230010{choice}", None, read=lambda _prompt: next(answers), write=shown.append)
    assert "(session ended)" in shown[-1]
    with Session(demo) as session:
        [case] = session.exec(select(Case)).all()
    assert case.ref in shown[-1] and case.concern == "child_marriage" and case.village_lgd == 9101111


def test_simulate_hangs_up_on_q(server):
    shown: list[str] = []
    run(server, "+919812300200", None, read=lambda _prompt: "q", write=shown.append)
    assert "Dial again within 2 hours" in shown[-1]


def test_simulate_sends_an_sms_as_the_phone(server, demo):
    from gateway.devtools.simulate import send_sms

    answer = send_sms(server, "+919812300300", "REPORT 9001111 2", None)
    assert answer.startswith("Sent.")
    with Session(demo) as session:
        [case] = session.exec(select(Case)).all()
    assert case.channel == "sms" and case.concern == "child_marriage"
