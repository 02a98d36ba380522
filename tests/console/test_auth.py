"""Signing in: argon2 hashes, the session cookie's flags, CSRF on every form, lock-out, sign-out."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from gateway.infra.clock import ManualClock
from gateway.record.models import LoginThrottle, User
from gateway.web.app import create_app
from gateway.web.console import routes
from gateway.web.console.sessions import COOKIE
from gateway.web.console.users import MAX_FAILURES, UserError, create_user
from tests.console.conftest import PASSWORD, Browser


def test_the_login_form_has_a_csrf_token_and_a_good_login_leads_to_the_queue(browser):
    person = browser()
    page = person.get("/console/login")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text and 'name="password"' in page.text
    response = person.post("/console/login", {"username": "meera", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/console"
    queue = person.get("/console")
    assert queue.status_code == 200 and "Case queue" in queue.text and "Meera Devi" in queue.text


def test_pages_need_a_session_and_come_back_after_login(browser, cases):
    person = browser()
    response = person.client.get(f"/console/cases/{cases['ranchi']}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/login?next=/console/cases/{cases['ranchi']}"
    person.get(response.headers["location"])
    back = person.post("/console/login", {"username": "meera", "password": PASSWORD,
                                          "next": f"/console/cases/{cases['ranchi']}"})
    assert back.headers["location"] == f"/console/cases/{cases['ranchi']}"


def test_next_never_leaves_the_console(browser):
    for target in ("https://evil.example/", "//evil.example/console", "/api/v1/cases"):
        person = browser()
        person.get("/console/login")
        response = person.post("/console/login", {"username": "meera", "password": PASSWORD, "next": target})
        assert response.headers["location"] == "/console"


def test_passwords_are_stored_as_argon2_hashes(engine, users):
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "meera")).one()
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_the_session_cookie_is_httponly_lax_and_secure_over_https(browser):
    plain = browser()
    plain.get("/console/login")
    cookie = plain.post("/console/login", {"username": "meera", "password": PASSWORD}).headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Path=/console" in cookie and "Secure" not in cookie
    secure = browser(base_url="https://testserver")
    secure.get("/console/login")
    assert "Secure" in secure.post("/console/login", {"username": "meera", "password": PASSWORD}).headers["set-cookie"]


def test_a_tampered_cookie_is_no_session(browser):
    person = browser("ranchi")
    value = person.client.cookies.get(COOKIE)
    assert person.client.get("/console", follow_redirects=False).status_code == 200
    person.client.cookies.clear()
    person.client.cookies.set(COOKIE, value[:3] + ("A" if value[3] != "A" else "B") + value[4:])
    assert person.client.get("/console", follow_redirects=False).status_code == 303


def test_console_pages_are_not_cached_nor_framed(browser):
    response = browser("ranchi").get("/console")
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def _console_posts() -> list[str]:
    """Every POST route of the console, so that a new form cannot forget the CSRF check."""
    paths = []
    for module in (routes.auth, routes.cases, routes.directory, routes.dashboard):
        for route in module.router.routes:
            if "POST" in getattr(route, "methods", set()):
                paths.append(route.path)
    return paths


def test_every_console_post_refuses_a_form_without_the_csrf_token(browser, cases, users):
    assert len(_console_posts()) >= 10
    person = browser("admin")
    for path in _console_posts():
        url = path.replace("{ref}", cases["ranchi"]).replace("{contact_id}", "1")
        if path == "/console/login":
            response = browser().post(url, {"username": "meera", "password": PASSWORD}, csrf=False)
        else:
            response = person.post(url, {"text": "x", "unit": "DCPU", "outcome": "rescued", "reason": "x",
                                         "to_step": "2", "name": "x", "phone": "+917000000999"}, csrf=False)
        assert response.status_code == 403, (path, response.status_code)
        wrong = person.post(url, {"csrf_token": "forged", "text": "x"}) if path != "/console/login" else None
        assert wrong is None or wrong.status_code == 403, path
    # Nothing happened to the case.
    page = person.get(f"/console/cases/{cases['ranchi']}")
    assert "Note" not in page.text.split("Timeline", 1)[1] and "open" in page.text


def test_a_token_from_before_sign_in_does_not_work_after_it(browser, cases):
    person = browser()
    person.get("/console/login")
    before = person.csrf
    person.post("/console/login", {"username": "meera", "password": PASSWORD})
    response = person.post(f"/console/cases/{cases['ranchi']}/notes", {"text": "x", "csrf_token": before})
    assert response.status_code == 403


def test_five_failures_lock_the_account_for_fifteen_minutes(settings, demo, users):
    clock = ManualClock()
    with TestClient(create_app(settings, clock=clock)) as client:
        person = Browser(client)
        person.get("/console/login")
        for attempt in range(MAX_FAILURES):
            response = person.post("/console/login", {"username": "meera", "password": f"wrong {attempt}"})
            assert response.status_code == (429 if attempt == MAX_FAILURES - 1 else 401), attempt
        locked = person.post("/console/login", {"username": "meera", "password": PASSWORD})
        assert locked.status_code == 429 and "locked" in locked.text
        # The lock is in SQL, so another replica (another app on the same database) refuses too.
        with TestClient(create_app(settings, clock=clock)) as other:
            replica = Browser(other)
            replica.get("/console/login")
            assert replica.post("/console/login", {"username": "meera", "password": PASSWORD}).status_code == 429
        clock.advance(minutes=14)
        assert person.post("/console/login", {"username": "meera", "password": PASSWORD}).status_code == 429
        clock.advance(minutes=2)
        assert person.post("/console/login", {"username": "meera", "password": PASSWORD}).status_code == 303
        with Session(client.app.state.services.engine) as session:
            assert session.get(LoginThrottle, "meera") is None  # a success clears the count


def test_failures_spread_out_in_time_do_not_lock(settings, demo, users):
    clock = ManualClock()
    with TestClient(create_app(settings, clock=clock)) as client:
        person = Browser(client)
        person.get("/console/login")
        for attempt in range(MAX_FAILURES * 2):
            assert person.post("/console/login", {"username": "meera", "password": "nope"}).status_code == 401
            clock.advance(minutes=4)


def test_unknown_usernames_are_answered_and_locked_like_real_ones(browser):
    person = browser()
    person.get("/console/login")
    answers = [person.post("/console/login", {"username": "nobody", "password": "x"}) for _ in range(MAX_FAILURES)]
    assert [a.status_code for a in answers] == [401] * (MAX_FAILURES - 1) + [429]
    assert "Wrong username or password." in answers[0].text


def test_sign_out_ends_the_session_everywhere(browser):
    laptop, phone = browser("ranchi"), browser("ranchi")
    laptop.get("/console")
    assert laptop.post("/console/logout").headers["location"] == "/console/login"
    assert laptop.client.get("/console", follow_redirects=False).status_code == 303
    assert phone.client.get("/console", follow_redirects=False).status_code == 303  # the same user elsewhere


def test_a_deactivated_user_is_signed_out_at_once(browser, engine):
    person = browser("ranchi")
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "meera")).one()
        user.active = False
        session.add(user)
        session.commit()
    assert person.client.get("/console", follow_redirects=False).status_code == 303
    person.get("/console/login")
    assert person.post("/console/login", {"username": "meera", "password": PASSWORD}).status_code == 401


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"role": "root"}, "role"),
    ({"role": "district"}, "district"),
    ({"role": "district", "district_lgd": 90011}, "no district"),  # a block, not a district
    ({"role": "admin", "password": "short"}, "at least"),
    ({"role": "admin", "username": "has space"}, "username"),
])
def test_user_requests_that_make_no_sense(demo, kwargs, message):
    values = {"username": "someone", "password": PASSWORD, "district_lgd": None, **kwargs}
    with pytest.raises(UserError, match=message):
        create_user(demo, **values)


def test_a_username_is_taken_once(demo, users):
    with pytest.raises(UserError, match="exists"):
        create_user(demo, username="MEERA", password=PASSWORD, role="admin", district_lgd=None)


def test_one_address_cannot_spray_passwords_or_lock_every_username(settings, demo, users):
    """Finding 10: no per-address limit meant unlimited password spraying, and any known username
    could be locked by anyone. Ten failures from one address stop that address for 15 minutes."""
    clock = ManualClock()
    with TestClient(create_app(settings, clock=clock), client=("203.0.113.7", 50000)) as client:
        person = Browser(client)
        person.get("/console/login")
        for attempt in range(10):
            response = person.post("/console/login", {"username": f"guess{attempt}", "password": "Password1"})
            assert response.status_code == 401, attempt
        refused = person.post("/console/login", {"username": "meera", "password": PASSWORD})
        assert refused.status_code == 429 and "this network" in refused.text
        with Session(client.app.state.services.engine) as session:
            assert session.get(LoginThrottle, "meera") is None  # refused before it could count against meera
        other = Browser(TestClient(client.app, client=("198.51.100.4", 50000)))  # another office, same app
        other.get("/console/login")
        assert other.post("/console/login", {"username": "meera", "password": PASSWORD}).status_code == 303
        clock.advance(minutes=16)
        assert person.post("/console/login", {"username": "meera", "password": PASSWORD}).status_code == 303
