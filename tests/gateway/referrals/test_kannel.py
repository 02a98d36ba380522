"""The Kannel transport's own decisions, before anything is sent (its sends are tested end to end,
through Debian's Kannel and a test SMSC, in tests/gateway/channels/test_kannel.py)."""

from __future__ import annotations

import logging

import pytest

from gateway.channels.kannel import delivery
from gateway.infra.settings import Settings, load_settings
from gateway.referrals.kannel import KannelTransport
from gateway.referrals.transport import make_transport

NOWHERE = "http://127.0.0.1:9/cgi-bin/sendsms"  # the discard port: nothing may be sent in these tests


def kannel_settings(settings: Settings, **extra: str) -> Settings:
    return load_settings({**settings.as_environ(), "CPGW_SMS_TRANSPORT": "kannel", "CPGW_KANNEL_SEND_URL": NOWHERE,
                          "CPGW_KANNEL_USER": "cpgw", "CPGW_KANNEL_PASSWORD": "pw", "CPGW_DLT_ENTITY_ID": "1101",
                          "CPGW_DLT_HEADER": "CPGWIN", **extra})


def test_a_template_without_a_dlt_id_is_refused_loudly_and_for_good(settings, caplog):
    transport = make_transport(kannel_settings(settings))
    assert isinstance(transport, KannelTransport)
    with caplog.at_level(logging.ERROR, logger="cpgw.sms"):
        result = transport.send("+919800000042", "hello", message_id="m1", template="sms.alert", dlt_template_id=None)
    assert result.outcome == "permanent" and "no DLT template id for sms.alert" in result.detail
    assert any("no DLT template id" in record.getMessage() for record in caplog.records)
    assert transport.send("+919800000042", "menu", message_id="m2").outcome == "permanent"  # no template at all


def test_the_deployments_dlt_file_supplies_ids_and_a_send_kannel_cannot_take_is_temporary(settings, tmp_path):
    ids = tmp_path / "dlt.yaml"
    ids.write_text("templates:\n  sms.alert: '1107000000000000001'\n")
    transport = make_transport(kannel_settings(settings, CPGW_DLT_FILE=str(ids), CPGW_SMS_TIMEOUT="2"))
    result = transport.send("+919800000042", "hello", message_id="m1", template="sms.alert")
    assert result.outcome == "temporary"  # it got past the DLT check, to a port nobody listens on


def test_the_delivery_url_carries_our_id_the_token_and_kannels_code_placeholder(settings):
    transport = KannelTransport(kannel_settings(settings, CPGW_KANNEL_DLR_URL="http://gw:8000/webhooks/kannel/delivery",
                                                CPGW_WEBHOOK_TOKEN="t" * 40))
    assert transport.delivery_url("abc") == f"http://gw:8000/webhooks/kannel/delivery?id=abc&token={'t' * 40}&status=%d"


@pytest.mark.parametrize(("code", "status"), [("1", "Success"), ("2", "Failed"), ("4", "Buffered"), ("8", "Submitted"),
                                              ("16", "Rejected"), ("3", None), ("x", None)])
def test_kannels_dlr_codes_map_onto_the_sms_services_words(code, status):
    report = delivery(message_id="m1", code=code)
    assert (report.status if report else None) == status
    if report:
        assert report.message_id == "m1"


def test_production_refuses_kannel_without_its_login_and_dlt_entity(settings):
    with pytest.raises(ValueError, match="CPGW_KANNEL_PASSWORD, CPGW_DLT_ENTITY_ID, CPGW_DLT_HEADER"):
        load_settings({**settings.as_environ(), "CPGW_ENV": "production", "CPGW_WEBHOOK_TOKEN": "w" * 40,
                       "CPGW_SMS_TRANSPORT": "kannel", "CPGW_KANNEL_SEND_URL": NOWHERE, "CPGW_KANNEL_USER": "u"})


def test_missed_call_numbers_that_cannot_be_read_stop_the_start(settings):
    with pytest.raises(ValueError, match="CPGW_MISSED_CALL_NUMBERS"):
        load_settings({**settings.as_environ(), "CPGW_MISSED_CALL_NUMBERS": "+918000000001=Ranchi"})
