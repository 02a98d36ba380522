"""SMS out through Kannel: smsbox's HTTP `sendsms`, and Kannel speaks SMPP to an Indian aggregator.

TRAI's DLT rules drop any commercial SMS that does not carry the principal entity id, the id of a
registered template whose fixed words match the text, and a registered sender header. Kannel
passes the ids to the aggregator as SMPP optional parameters (TLVs): the gateway names them in
`meta-data` (`?smpp?entity_id=…&template_id=…`) and the shipped `deploy/kannel/kannel.conf`
declares their tags in `smpp-tlv` groups. A message whose template has no DLT id is refused here,
as a permanent failure: the outbox marks it failed and the referral loop escalates, rather than
the aggregator dropping it without a word.

smsbox answers `202 0: Accepted for delivery` (or `3: Queued for later delivery`) once the message
is in bearerbox's queue; what the SMSC then does comes back to `POST /webhooks/kannel/delivery`
through the `dlr-url` given with each message, carrying our message id and Kannel's DLR code.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from gateway.infra.settings import Settings
from gateway.referrals.transport import SendResult
from menus.dlt import load_dlt
from menus.gsm import is_gsm7

log = logging.getLogger("cpgw.sms")
DLR_MASK = 1 | 2 | 4 | 8 | 16  # delivered, failed, buffered, taken by the SMSC, refused by the SMSC
ENTITY_TLV, TEMPLATE_TLV = "entity_id", "template_id"  # the names of the smpp-tlv groups in kannel.conf
# smsbox's sendsms answers. 202 is accepted; the rest are smsbox's own refusals (a bad login, a
# missing field: sending again changes nothing) or bearerbox being away (try again).
_PERMANENT_HTTP = {400, 401, 403, 404}


class KannelTransport:
    name = "kannel"

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        if not settings.kannel_send_url:
            raise ValueError("CPGW_SMS_TRANSPORT=kannel needs CPGW_KANNEL_SEND_URL (smsbox's …/cgi-bin/sendsms)")
        self._url = settings.kannel_send_url
        self._login = {"username": settings.kannel_user or "", "password": settings.kannel_password or ""}
        self._entity = settings.dlt_entity_id or ""
        self._header = settings.dlt_header or ""
        self._dlr_url = settings.kannel_dlr_url
        self._token = settings.webhook_token
        # A deployment's own registrations win over the ids shipped in menus/dlt.yaml.
        self._dlt = {key: value for key, value in load_dlt(Path(settings.dlt_file)).items() if value} \
            if settings.dlt_file else {}
        # httpx's Client is safe to share between the worker's threads; it keeps the connection alive.
        self._client = client or httpx.Client(timeout=httpx.Timeout(settings.sms_timeout_s, connect=3.05))

    def close(self) -> None:
        self._client.close()

    def send(self, to: str, body: str, sender_id: str | None = None, *, message_id: str | None = None,
             template: str | None = None, dlt_template_id: str | None = None) -> SendResult:
        dlt = self._dlt.get(template or "") or dlt_template_id
        if not dlt:
            # Never a silent drop: the aggregator would discard it, so it fails here, loudly.
            log.error("SMS refused: its template has no DLT template id (menus/dlt.yaml or CPGW_DLT_FILE)",
                      extra={"template": template or "(none)", "message_id": message_id})
            return SendResult("permanent", detail=f"no DLT template id for {template or 'an untemplated SMS'}")
        if not self._entity:
            log.error("SMS refused: CPGW_DLT_ENTITY_ID is not set", extra={"message_id": message_id})
            return SendResult("permanent", detail="no DLT entity id (CPGW_DLT_ENTITY_ID)")
        params = {
            **self._login, "to": to, "from": sender_id or self._header, "text": body, "charset": "UTF-8",
            # Explicit: 0 is GSM-7, 2 is UCS-2 (data_coding 8), which every Indian script needs.
            "coding": "0" if is_gsm7(body) else "2",
            "meta-data": "?smpp?" + urlencode({ENTITY_TLV: self._entity, TEMPLATE_TLV: dlt}),
        }
        if message_id and self._dlr_url:
            params["dlr-mask"] = str(DLR_MASK)
            params["dlr-url"] = self.delivery_url(message_id)
        try:
            response = self._client.get(self._url, params=params)  # sendsms takes GET (a POST must be XML)
        except httpx.TimeoutException as exc:
            return SendResult("temporary", detail=type(exc).__name__)
        except httpx.HTTPError as exc:
            return SendResult("temporary", detail=type(exc).__name__)
        text = response.text.strip()[:200]
        if response.status_code == 202 or (response.status_code == 200 and text[:2] in ("0:", "3:")):
            # smsbox gives no id of its own: the DLR comes back with ours.
            return SendResult("accepted", f"kannel:{message_id}" if message_id else None, text[:40])
        outcome = "permanent" if response.status_code in _PERMANENT_HTTP else "temporary"
        return SendResult(outcome, None, f"kannel {response.status_code}: {text}")

    def delivery_url(self, message_id: str) -> str:
        """The `dlr-url` for one message: our id, Kannel's `%d`, and the webhook token when one is set.

        Kannel substitutes `%d` itself; it must reach smsbox unescaped, so it is appended after encoding.
        """
        assert self._dlr_url
        parts = urlsplit(self._dlr_url)
        query = [parts.query] if parts.query else []
        query.append(urlencode({"id": message_id, **({"token": self._token} if self._token else {})}))
        return urlunsplit(parts._replace(query="&".join(query))) + "&status=%d"
