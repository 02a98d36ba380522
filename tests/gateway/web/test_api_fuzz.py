"""Hypothesis over every webhook and API route: whatever arrives, a 4xx with a reason at worst,
never a 5xx and never a stack trace."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.infra.settings import load_settings
from gateway.web.app import create_app
from gateway.web.auth import create_token
from tests.conftest import WEBHOOK_TOKEN

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
junk = st.one_of(st.text(max_size=40), st.integers(min_value=-(10**12), max_value=10**12).map(str),
                 st.sampled_from(["", "0", "-1", "null", "9001111", "123456782", "%00", "../..", "'; DROP TABLE case;--"]))
json_bodies = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(["unit", "name", "reason", "outcome", "note", "text"]),
                    st.one_of(junk, st.integers(), st.none(), st.lists(st.integers(), max_size=3)), max_size=4),
    st.lists(junk, max_size=3),
    junk,
)
forms = st.dictionaries(st.sampled_from(["id", "from", "to", "text", "date", "status", "failureReason", "phoneNumber",
                                         "sessionId", "networkCode", "serviceCode", "linkId"]), junk, max_size=7)


def routes(client) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    found = [(method, route.path) for route in client.app.routes if isinstance(route, APIRoute)
             for method in route.methods]
    return [item for item in found if item[1].startswith(("/api/", "/webhooks/"))] + [("POST", "/webhooks/at/ussd")]


def assert_clean(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text and 'File "' not in response.text


@pytest.fixture(params=["development", "production"])
def app_client(request, client, settings):  # type: ignore[no-untyped-def]
    """The routes as a laptop runs them, and as production does (webhook token, docs off, metrics locked)."""
    if request.param == "development":
        yield client
        return
    environ = {**settings.as_environ(), "CPGW_ENV": "production", "CPGW_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
               "AT_USERNAME": "fuzz", "AT_API_KEY": "fuzz-key"}
    with TestClient(create_app(load_settings(environ))) as production:
        yield production


@pytest.fixture
def admin(client, engine):  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {create_token(engine, role='admin', district_lgd=None, name='fuzz')}"}


@FUZZ
@given(data=st.data())
def test_every_api_route_answers_cleanly(app_client, admin, data):
    client = app_client
    method, path = data.draw(st.sampled_from(routes(client)))
    filled = path
    while "{" in filled:
        start, end = filled.index("{"), filled.index("}")
        filled = filled[:start] + data.draw(junk).replace("/", "").replace("?", "").replace("#", "") + filled[end + 1 :]
    params = data.draw(st.dictionaries(st.sampled_from(["status", "district", "overdue", "limit", "offset", "case",
                                                        "token"]), st.one_of(junk, st.just(WEBHOOK_TOKEN)), max_size=3))
    headers = admin if data.draw(st.booleans()) else {"Authorization": data.draw(st.sampled_from(["", "Bearer x", "Basic y"]))}
    if path.startswith("/webhooks/"):
        response = client.request(method, filled, params=params, data=data.draw(forms))
    else:
        body = data.draw(json_bodies)
        response = client.request(method, filled or "/", params=params, headers=headers,
                                  **({"json": body} if body is not None else {}))
    assert_clean(response)


@FUZZ
@given(body=st.binary(max_size=500), content_type=st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", ""]))
def test_raw_bodies_to_every_post_route(app_client, admin, body, content_type):
    client = app_client
    for method, path in routes(client):
        if method != "POST":
            continue
        target = path.replace("{ref}", "123456782")
        response = client.post(target, content=body, params={"token": WEBHOOK_TOKEN},
                               headers={**admin, "content-type": content_type})
        assert_clean(response)
