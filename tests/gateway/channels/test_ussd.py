"""The USSD webhook end to end: real Redis, real SQL, the form Africa's Talking posts."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from gateway.devtools.simulate import Phone
from gateway.record.models import Case, ReporterContact
from menus.gsm import Budget, fits
from routing.concerns import KEYS

LANGS = ["en", "hi", "hi_latn", "bn", "sat_latn"]
BUDGET = Budget(160, 80)


class CheckedPhone(Phone):
    """A phone that checks every screen it receives: CON/END and within the screen budget."""

    def _post(self) -> str:
        screen = super()._post()
        assert screen.startswith(("CON ", "END ")), screen
        assert fits(screen, BUDGET), f"over budget: {screen!r}"
        return screen


def lang_choice(client, lang: str) -> str:
    catalog = client.app.state.services.ussd.catalog
    return str(catalog.codes.index(lang) + 1)


def cases(engine) -> list[Case]:
    with Session(engine) as session:
        return list(session.exec(select(Case)))


def numbered(screen: str) -> list[str]:
    keys = [line.split(" ", 1)[0] for line in screen.splitlines()[1:]]
    return [key for key in keys if key not in ("98", "0")]


def last_option_of_the_list(phone: Phone) -> str:
    """Page to the end of a list and return the number of its last option."""
    while "\n98 " in phone.screen:
        phone.press("98")
    return numbered(phone.screen)[-1]


@pytest.mark.parametrize("lang", LANGS)
def test_report_by_village_code_in_every_language(client, engine, lang):
    phone = CheckedPhone(client, number="+919812345670").dial()
    phone.press(lang_choice(client, lang), "1", "1", "9001111", "1", "1", "1", "1")
    assert phone.ended and phone.screen.count("END") == 1
    [case] = cases(engine)
    assert (case.village_lgd, case.concern, case.urgent, case.language) == (9001111, "sexual_abuse", True, lang)
    assert case.ref in phone.screen and "1098" in phone.screen  # the child is in danger: helplines too
    assert case.district_lgd == 9001 and case.block_lgd == 90011 and case.status == "open"


@pytest.mark.parametrize("lang", LANGS)
def test_report_by_choosing_from_lists_in_every_language(client, engine, lang):
    phone = CheckedPhone(client, number="+919812345671").dial()
    phone.press(lang_choice(client, lang), "1", "2")
    concern_title = client.app.state.services.ussd.catalog.text(lang, "concern.title")
    for _ in range(5):  # state, district, block, panchayat, village: the first option each time
        phone.press("1")
        if phone.screen.startswith(f"CON {concern_title}"):
            break
    assert phone.screen.startswith(f"CON {concern_title}")
    phone.press(last_option_of_the_list(phone), "2", "2", "1")  # the last concern, not in danger, anonymous
    assert phone.ended, phone.screen
    [case] = cases(engine)
    assert case.concern == KEYS[-1] and case.urgent is False and case.callback is False
    # not in danger: no helplines (the reference itself may contain the digits 1098)
    assert case.ref in phone.screen and "1098" not in phone.screen.replace(case.ref, "")


def test_every_hop_retried_gives_the_same_screen_and_one_case(client, engine):
    phone = CheckedPhone(client, number="+919812345672").dial()
    assert phone.retry() == phone.screen
    for answer in ["1", "1", "1", "9001111", "2", "2", "1", "1"]:
        phone.press(answer)
        first = phone.screen
        assert phone.retry() == first and phone.retry() == first
    assert len(cases(engine)) == 1
    # An older hop retried late still gets the screen it got the first time.
    phone.inputs = phone.inputs[:3]
    assert phone.retry().startswith("CON Type the village code")


def test_a_retry_after_redis_lost_the_session_creates_no_second_case(client, engine):
    phone = CheckedPhone(client, number="+919812345673").dial()
    phone.press("1", "1", "1", "9001111", "2", "2", "1", "1")
    client.app.state.services.redis.flushdb()
    screen = phone.retry()
    assert screen.startswith("END") and len(cases(engine)) == 1


def test_callback_number_is_kept_encrypted_and_anonymous_reports_keep_nothing(client, engine):
    CheckedPhone(client, number="+919812345674").dial().press("1", "1", "1", "9001111", "2", "2", "1", "1")
    CheckedPhone(client, number="+919812345675").dial().press("1", "1", "1", "9001111", "2", "2", "2", "1")
    with Session(engine) as session:
        kept = session.exec(select(ReporterContact)).all()
        callback_case = session.exec(select(Case).where(Case.callback == True)).one()  # noqa: E712
    assert len(kept) == 1 and kept[0].case_id == callback_case.id
    assert "9812345674" not in kept[0].phone_encrypted
    assert client.app.state.services.ussd.cipher.decrypt(kept[0].phone_encrypted) == "+919812345674"
    with engine.connect() as connection:
        dump = " ".join(str(row) for table in ("case", "caseevent", "reportercontact")
                        for row in connection.execute(text(f'SELECT * FROM "{table}"')))
    assert "9812345674" not in dump and "9812345675" not in dump


def test_a_dropped_session_can_be_continued(client, engine):
    phone = CheckedPhone(client, number="+919812345676").dial().press("1", "1", "1", "9001111", "3")
    again = CheckedPhone(client, number="+919812345676").dial()
    assert again.screen.startswith("CON You have an unfinished report.")
    again.press("1")
    assert "danger" in again.screen  # back on the question the villager had reached
    again.press("1", "2", "1")
    [case] = cases(engine)
    assert case.concern == "trafficking" and case.urgent
    assert CheckedPhone(client, number="+919812345676").dial().screen.startswith("CON Child protection")
    assert phone.screen.startswith("CON")  # the first session simply went quiet


def test_start_over_forgets_the_draft(client, engine):
    CheckedPhone(client, number="+919812345677").dial().press("4", "1", "1", "9001111")
    again = CheckedPhone(client, number="+919812345677").dial().press("2")
    home = client.app.state.services.ussd.catalog.text("bn", "home.title")
    assert again.screen.startswith(f"CON {home}") and not cases(engine)


def test_language_is_remembered_per_phone(client):
    CheckedPhone(client, number="+919812345678").dial().press("2", "3")
    assert CheckedPhone(client, number="+919812345678").dial().screen.startswith("CON बाल")
    assert CheckedPhone(client, number="+919812345679").dial().screen.startswith("CON Language")


def test_check_a_report_shows_only_its_state(client, engine):
    phone = CheckedPhone(client, number="+919812345680").dial().press("1", "1", "1", "9001111", "2", "2", "2", "1")
    [case] = cases(engine)
    check = CheckedPhone(client, number="+919812345681").dial().press("1", "2", case.ref)
    assert check.ended and case.ref in check.screen and "received" in check.screen
    assert "Amtola" not in check.screen
    wrong = case.ref[:-1] + str((int(case.ref[-1]) + 1) % 10)
    assert "Wrong number" in CheckedPhone(client, number="+919812345681").dial().press("2", wrong).screen
    assert phone.ended


def test_when_sql_fails_the_villager_gets_the_helplines_never_sent(client, engine):
    with engine.begin() as connection:
        connection.execute(text('DROP TABLE "reportercontact"'))
        connection.execute(text('DROP TABLE "caseevent"'))
    phone = CheckedPhone(client, number="+919812345682").dial().press("1", "1", "1", "9001111", "2", "2", "1", "1")
    assert phone.ended and "not sent" in phone.screen and "112" in phone.screen
    assert not cases(engine)


def test_when_redis_is_down_the_villager_gets_the_helplines(client):
    import redis.asyncio

    ussd = client.app.state.services.ussd
    ussd.redis = redis.asyncio.Redis.from_url("redis://127.0.0.1:1/0")
    screen = Phone(client).dial().screen
    assert screen.startswith("END") and "112" in screen


def test_when_redis_hangs_the_villager_gets_the_helplines_within_the_bound(client, monkeypatch):
    """The loop's Redis client has no socket timeout of its own: the hop bounds its Redis work."""
    import socket
    import time

    import redis.asyncio

    from gateway.channels import ussd as ussd_module

    silent = socket.create_server(("127.0.0.1", 0))  # accepts (in the kernel's backlog), never answers
    try:
        ussd = client.app.state.services.ussd
        ussd.redis = redis.asyncio.Redis.from_url(f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
                                                  socket_timeout=None)
        monkeypatch.setattr(ussd_module, "REDIS_WITHIN_S", 0.5)
        started = time.monotonic()
        screen = Phone(client).dial().screen
        assert screen.startswith("END") and "112" in screen
        assert time.monotonic() - started < 5  # given up after its 0.5 s, not left hanging
    finally:
        silent.close()


def test_the_hop_that_stores_a_report_is_answered_before_its_session_is_saved(client, engine, monkeypatch):
    """Its outcome is settled once the report is on disk: the villager is not kept waiting for the
    Redis round trip that saves the ended session; every other hop is saved before it is answered."""
    from gateway.channels import ussd_webhook

    ussd, order = client.app.state.services.ussd, []
    save, respond = ussd._save, ussd_webhook._respond

    async def saved(*args, **kwargs):  # type: ignore[no-untyped-def]
        await save(*args, **kwargs)
        order.append("saved")

    async def answered(*args, **kwargs):  # type: ignore[no-untyped-def]
        order.append("answered")
        await respond(*args, **kwargs)

    monkeypatch.setattr(ussd, "_save", saved)
    monkeypatch.setattr(ussd_webhook, "_respond", answered)
    phone = CheckedPhone(client, number="+919812345691").dial().press("1", "1", "1", "9001111", "1", "2", "2")
    assert order == ["saved", "answered"] * 8
    phone.press("1")
    [case] = cases(engine)
    assert case.ref in phone.screen and order[-2:] == ["answered", "saved"]
    assert CheckedPhone(client, number="+919812345691").dial().screen.startswith("CON Child protection")  # no draft


def test_a_hop_is_answered_again_after_redis_restarts(client, redis_client, engine):
    """The hot path's own connection is dropped by a restart: the hop reconnects, never fails.

    `CLIENT KILL` does to the gateway's connections what a Redis restart does; `SCRIPT FLUSH`
    what a restart does to the cached session-write script.
    """
    phone = CheckedPhone(client, number="+919812345690").dial().press("1")
    redis_client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    redis_client.script_flush()
    phone.press("1", "1", "9001111", "1", "2", "2")
    assert phone.screen.startswith("CON") and "112" not in phone.screen
    redis_client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    phone.press("1")
    stored = cases(engine)
    assert phone.ended and len(stored) == 1 and stored[0].ref in phone.screen, phone.screen


def test_webhook_token_is_enforced(settings, demo):
    from fastapi.testclient import TestClient

    from gateway.web.app import create_app

    guarded = settings.model_copy(update={"webhook_token": "s3cret-token-for-tests"})
    with TestClient(create_app(guarded)) as client:
        assert Phone(client).dial().screen.startswith("END Forbidden")  # 403: the session ends, nothing stored
        assert client.post("/webhooks/at/ussd", data={"sessionId": "a", "phoneNumber": "+91"}).status_code == 403
        assert client.app.state.services.redis.keys("cpgw:ussd:*") == []
        assert Phone(client, token="s3cret-token-for-tests").dial().screen.startswith("CON")
        response = client.post("/webhooks/at/ussd", headers={"X-Webhook-Token": "s3cret-token-for-tests"},
                               data={"sessionId": "b", "phoneNumber": "+919812345683", "text": ""})
        assert response.status_code == 200 and response.text.startswith("CON")


@pytest.mark.parametrize("missing", ["sessionId", "phoneNumber"])
def test_missing_fields_get_a_4xx_that_still_reads_as_a_screen(client, missing):
    data = {"sessionId": "ATUid_1", "phoneNumber": "+919812345684", "networkCode": "1", "text": ""}
    del data[missing]
    response = client.post("/webhooks/at/ussd", data=data)
    assert response.status_code == 400 and response.text.startswith("END ") and missing in response.text


def test_network_budgets_apply(settings, demo):
    from fastapi.testclient import TestClient

    from gateway.web.app import create_app

    narrow = settings.model_copy(update={"ussd_network_budgets": "40499:120/60"})
    with TestClient(create_app(narrow)) as client:
        phone = Phone(client, network_code="40499").dial().press("2", "1", "1", "9001111")
        assert fits(phone.screen, Budget(120, 60)) and phone.screen.count("98") == 1


def test_logs_never_carry_a_phone_number(client, caplog):
    caplog.set_level(logging.DEBUG)
    CheckedPhone(client, number="+919812345685").dial().press("1", "1", "1", "9001111", "2", "2", "1", "1")
    formatted = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert "9812345685" not in formatted and "case reported" in formatted


def test_health_readiness_and_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    Phone(client).dial()
    assert "cpgw_ussd_hops_total" in client.get("/metrics").text


def test_readiness_says_503_when_redis_is_down(client):
    client.app.state.services.redis = __import__("redis").Redis.from_url("redis://127.0.0.1:1/0")
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["redis"] == "down"


def test_readiness_says_503_within_seconds_while_another_writer_holds_sqlite(client, engine):
    """An SQLite that cannot take writes cannot store a report: the probe says so after a second
    (not after the 30 s busy timeout), holds no lock itself, and says ready again once it is free."""
    import sqlite3
    import time

    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    writer = sqlite3.connect(engine.url.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json()["sql"] == "down"
        assert time.monotonic() - started < 5
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert client.get("/readyz").status_code == 200
    phone = CheckedPhone(client, number="+919812345692").dial().press("1", "1", "1", "9001111", "2", "2", "2", "1")
    assert phone.ended and cases(engine)[0].ref in phone.screen  # the probe left nothing locked


def test_the_webhook_answers_wrong_methods_and_oversized_bodies_with_a_4xx_screen(client):
    wrong = client.get("/webhooks/at/ussd")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST" and wrong.text.startswith("END ")
    huge = client.post("/webhooks/at/ussd", content=b"sessionId=a&phoneNumber=%2B919812345686&text=" + b"1*" * 40_000,
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413 and huge.text.startswith("END ")


def test_a_bug_in_a_hop_still_leaves_the_villager_the_helplines(client, monkeypatch):
    def broken(hop):  # type: ignore[no-untyped-def]
        raise KeyError("a bug")

    monkeypatch.setattr(client.app.state.services.ussd, "begin", broken)
    response = Phone(client).dial()
    assert response.screen.startswith("END") and "112" in response.screen
    assert 'cpgw_http_request_seconds_count{route="/webhooks/at/ussd"}' in client.get("/metrics").text


def test_a_report_sent_while_another_writer_holds_sqlite_waits_off_the_event_loop(client, engine):
    """The report is stored on a thread: when SQLite's write lock is taken (the worker, an import)
    it waits there, and other villagers' hops are answered meanwhile."""
    import sqlite3
    import threading

    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single write lock")
    writer = sqlite3.connect(engine.url.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process's write transaction
    phone = CheckedPhone(client, number="+919812345687").dial().press("1", "1", "1", "9001111", "2", "2", "1")
    sending = threading.Thread(target=phone.press, args=("1",))
    sending.start()
    other = CheckedPhone(client, number="+919812345688").dial().press("1")  # the loop is not blocked
    assert other.screen.startswith("CON") and sending.is_alive()
    writer.execute("COMMIT")
    writer.close()
    sending.join(timeout=30)
    [case] = cases(engine)
    assert case.ref in phone.screen and phone.screen.startswith("END")


def test_the_same_report_again_from_the_same_phone_is_linked_to_the_open_case(client, engine):
    """A repeat (same phone, village and concern) is linked off the event loop: one case, and the
    villager is given its reference again."""
    first = CheckedPhone(client, number="+919812345689").dial().press("1", "1", "1", "9001111", "2", "2", "2", "1")
    again = CheckedPhone(client, number="+919812345689").dial().press("1", "1", "9001111", "2", "2", "2", "1")
    [case] = cases(engine)
    assert case.ref in first.screen and case.ref in again.screen and again.ended
    with engine.connect() as connection:
        kinds = connection.execute(text("SELECT kind FROM caseevent WHERE case_id = :id"), {"id": case.id}).scalars()
        assert "duplicate_report" in list(kinds)


def test_a_report_stored_while_redis_fails_to_take_its_alerts_is_still_sent(client, engine, monkeypatch):
    """After the commit the villager is told "sent" whatever Redis does with the report's alerts:
    the worker's audit publishes what the hop could not."""
    def no_publication(*args):  # type: ignore[no-untyped-def]
        raise __import__("redis").ConnectionError("Redis went away")

    monkeypatch.setattr(client.app.state.services.ussd.intake, "_publish", no_publication)
    phone = CheckedPhone(client, number="+919812345690").dial().press("1", "1", "1", "9001111", "2", "2", "2", "1")
    [case] = cases(engine)
    assert phone.ended and case.ref in phone.screen and "not sent" not in phone.screen
