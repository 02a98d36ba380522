"""Hypothesis over the USSD webhook: whatever arrives, never a 5xx, always a CON/END screen."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from gateway.record.models import Case

TOKENS = st.sampled_from(["1", "2", "3", "9", "0", "00", "98", "9001111", "९००१११११", "১", "", " ", "abc", "12"])
histories = st.lists(st.one_of(TOKENS, st.text(max_size=12)), max_size=25).map("*".join)
texts = st.one_of(histories, st.text(max_size=3000), st.just("1*" * 800))
fields = st.fixed_dictionaries(
    {},
    optional={
        "sessionId": st.sampled_from(["ATUid_a", "ATUid_b", "x" * 500, ""]),
        "phoneNumber": st.sampled_from(["+919811111111", "+919822222222", "junk", "", "+" + "9" * 40]),
        "networkCode": st.one_of(st.just("40410"), st.text(max_size=30)),
        "serviceCode": st.text(max_size=10),
        "text": texts,
    },
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_screen(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, response.text
    assert response.text.startswith(("CON ", "END ")), response.text


@FUZZ
@given(form=fields)
def test_any_form_gets_a_screen(client, form):
    assert_screen(client.post("/webhooks/at/ussd", data=form))


@FUZZ
@given(body=st.binary(max_size=2000))
def test_binary_bodies_get_a_screen(client, body):
    response = client.post(
        "/webhooks/at/ussd", content=b"sessionId=ATUid_c&phoneNumber=%2B919833333333&text=" + body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_screen(response)


@FUZZ
@given(inputs=st.lists(TOKENS, min_size=1, max_size=15))
def test_random_histories_never_make_two_cases_per_session(client, engine, inputs):
    session_id = f"ATUid_{abs(hash(tuple(inputs)))}"
    form = {"sessionId": session_id, "phoneNumber": "+919844444444", "networkCode": "40410"}
    for n in range(len(inputs) + 1):
        assert_screen(client.post("/webhooks/at/ussd", data={**form, "text": "*".join(inputs[:n])}))
    with Session(engine) as session:
        assert len(session.exec(select(Case).where(Case.source_key == f"ussd:{session_id}")).all()) <= 1
