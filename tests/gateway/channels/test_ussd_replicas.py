"""USSD hops spread over several gateway replicas sharing one Redis and one database.

Each replica remembers the last hop it answered per session (`gateway.recent_hops`) to skip a
Redis read on the next one; these tests hold it to being only a cache: whichever replica answers
which hop, the villager sees the same screens and exactly one case is stored.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from gateway.devtools.simulate import Phone
from gateway.infra.settings import Settings
from gateway.record.models import Case
from gateway.web.app import create_app

REPORT = ["1", "1", "1", "9001111", "2", "1", "1", "1"]  # English, report, by code, child marriage, urgent, call-back


@pytest.fixture
def replicas(settings: Settings, demo) -> Iterator[tuple[TestClient, TestClient]]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        yield first, second


def stored(engine, session_id: str) -> list[Case]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.exec(select(Case).where(Case.source_key == f"ussd:{session_id}")))


def hmget_calls(client: redis.Redis) -> int:
    return int(client.info("commandstats").get("cmdstat_hmget", {}).get("calls", 0))


def walk(phone: Phone, clients: list[TestClient]) -> list[str]:
    """Dial and answer REPORT, hop i on clients[i % len(clients)], retrying each hop on the next one."""
    screens = []
    phone.client = clients[0]
    screens.append(phone.dial().screen)
    for n, answer in enumerate(REPORT, start=1):
        phone.client = clients[n % len(clients)]
        screens.append(phone.press(answer).screen)
        phone.client = clients[(n + 1) % len(clients)]
        assert phone.retry() == screens[-1], f"a retry on another replica changed hop {n}"
    return screens


def test_alternating_replicas_give_the_screens_of_one_and_store_one_case(replicas, engine):
    one = Phone(replicas[0], number="+919812300001")
    alone = walk(one, [replicas[0]])
    [alone_case] = stored(engine, one.session_id)
    phone = Phone(replicas[0], number="+919812300002")
    spread = walk(phone, list(replicas))
    [case] = stored(engine, phone.session_id)
    assert spread[:-1] == alone[:-1]
    assert spread[-1].startswith("END") and spread[-1].replace(case.ref, "REF") == alone[-1].replace(alone_case.ref, "REF")
    assert (case.village_lgd, case.concern, case.urgent, case.callback) == (9001111, "child_marriage", True, True)


def test_a_replica_reads_redis_only_for_hops_it_did_not_answer_the_previous_one_of(replicas, redis_client):
    before = hmget_calls(redis_client)
    Phone(replicas[0], number="+919812300003").dial().press(*REPORT)
    assert hmget_calls(redis_client) - before == 1  # the dial; every later hop starts from memory

    phone = Phone(replicas[0], number="+919812300004").dial().press("1", "1")
    before = hmget_calls(redis_client)
    phone.client = replicas[1]
    phone.press("1")  # replica 2 never saw this session: it reads the state from Redis
    phone.client = replicas[0]
    phone.press("9001111")  # replica 1 last answered an older hop: it reads Redis too
    assert hmget_calls(redis_client) - before == 2


def test_after_redis_lost_the_session_a_replica_without_it_in_memory_never_guesses(replicas, engine):
    phone = Phone(replicas[0], number="+919812300005").dial().press(*REPORT[:5])
    replicas[0].app.state.services.redis.flushdb()
    assert phone.retry().startswith("CON")  # the replica that answered it still knows this hop
    phone.client = replicas[1]
    assert phone.retry().startswith("END") and not stored(engine, phone.session_id)  # "session ended, dial again"


def test_a_final_hop_retried_after_redis_lost_everything_stores_no_second_case(replicas, engine):
    phone = Phone(replicas[0], number="+919812300006").dial().press(*REPORT)
    [case] = stored(engine, phone.session_id)
    replicas[0].app.state.services.redis.flushdb()
    assert case.ref in phone.retry()  # the replica that stored it answers from memory
    phone.client = replicas[1]
    assert phone.retry().startswith("END")
    assert len(stored(engine, phone.session_id)) == 1
