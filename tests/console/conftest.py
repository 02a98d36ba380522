"""Console fixtures: users of every role, and signed-in browsers (TestClients with their own cookies)."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.devtools.simulate import Phone
from gateway.devtools.traffic import file_report, reference_on
from gateway.web.console.users import create_user

PASSWORD = "correct horse battery staple"
RANCHI, PURULIA = 9001, 9101
AMTOLA, PURULIA_VILLAGE = 9001111, 9101111
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A person at the console: their own cookie jar, the CSRF token from the last page seen."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, url: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        response = self.client.get(url, **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, url: str, data: dict | None = None, *, csrf: bool = True, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        response = self.client.post(url, data=form, follow_redirects=False, **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/console/login")
        return self.post("/console/login", {"username": username, "password": password})


@pytest.fixture
def users(demo):  # type: ignore[no-untyped-def]
    """One login per role: an admin, a DCPU officer of Ranchi, one of Purulia, and a viewer."""
    made = {
        "admin": create_user(demo, username="admin", password=PASSWORD, role="admin", district_lgd=None, name="Asha Admin"),
        "ranchi": create_user(demo, username="meera", password=PASSWORD, role="district", district_lgd=RANCHI,
                              name="Meera Devi"),
        "purulia": create_user(demo, username="sourav", password=PASSWORD, role="district", district_lgd=PURULIA,
                               name="Sourav Das"),
        "viewer": create_user(demo, username="vikram", password=PASSWORD, role="viewer", district_lgd=None),
    }
    return made


@pytest.fixture
def browser(client, users) -> Callable[..., Browser]:  # type: ignore[no-untyped-def]
    """`browser("ranchi")`: a separate client on the same app, signed in as that user (or not, with None)."""

    def make(who: str | None = None, base_url: str = "http://testserver") -> Browser:
        person = Browser(TestClient(client.app, base_url=base_url))
        if who is not None:
            response = person.login(users[who].username)
            assert response.status_code == 303, response.text
            person.get("/console")  # the signed-in session's CSRF token
        return person

    return make


def report(client: httpx.Client, village: int, *, number: str, concern: str = "child_marriage", urgent: bool = False,
           callback: bool = True) -> str:
    """A USSD report in English, paging to the concern as a villager would; returns the case reference."""
    phone = Phone(client, number=number).dial()
    return reference_on(file_report(phone, village, concern, urgent=urgent, callback=callback))


@pytest.fixture
def cases(client, users) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A case in Ranchi (with a call-back number) and one in Purulia (anonymous)."""
    return {
        "ranchi": report(client, AMTOLA, number="+919812300001"),
        "purulia": report(client, PURULIA_VILLAGE, number="+919812300002", callback=False),
    }
