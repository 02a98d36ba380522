"""How SMS leave: Africa's Talking through its official SDK, Kannel (`referrals/kannel.py`, for Indian
aggregators over SMPP), or the console for development.

A send returns an outcome per message; the outbox decides about retries. HTTP 201 is not success:
every recipient's `statusCode` is checked, and an empty `Recipients` list is a failure.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import requests

from gateway.infra.settings import Settings

log = logging.getLogger("cpgw.sms")
ACCEPTED = {100, 101, 102}  # Processed, Sent, Queued
TEMPORARY = {401, 405, 500, 501, 502}  # RiskHold, InsufficientBalance, provider-side errors
# Everything else (402 InvalidSenderId, 403 InvalidPhoneNumber, 404, 406 blacklist, 407, 409 DND)
# will not get better by retrying the same message.


@dataclass(frozen=True)
class SendResult:
    outcome: Literal["accepted", "temporary", "permanent"]
    provider_id: str | None = None
    detail: str = ""


class Transport(Protocol):
    name: str

    def send(self, to: str, body: str, sender_id: str | None = None, *, message_id: str | None = None,
             template: str | None = None, dlt_template_id: str | None = None) -> SendResult:
        """Hand one SMS to the provider. `message_id` (ours, for delivery reports), `template` and
        `dlt_template_id` (TRAI DLT) are for transports that need them; others ignore them."""
        ...


class ConsoleTransport:
    """Prints messages instead of sending them: the default when no AT account is configured.

    Development only (production refuses to start with it). The number is masked: a terminal's
    scroll-back must not link a reporter's phone to a case reference.
    """

    name = "console"

    def __init__(self, stream=None) -> None:  # type: ignore[no-untyped-def]
        self._stream = stream or sys.stdout
        self._count = 0

    def send(self, to: str, body: str, sender_id: str | None = None, **_: str | None) -> SendResult:
        self._count += 1
        print(f"[SMS to {mask(to)}] {body}", file=self._stream, flush=True)
        return SendResult("accepted", f"console-{self._count}")


class AfricasTalkingTransport:
    name = "africastalking"

    def __init__(self, settings: Settings) -> None:
        self._sms = _kept_alive_sms(settings.at_username or "sandbox", settings.at_api_key or "")
        if settings.at_api_url:
            base = settings.at_api_url.rstrip("/") + "/version1"
            self._sms._baseUrl = base  # the SDK has no option for it; CONTRACT: CPGW_AT_API_URL
            self._sms._contentUrl = base
        self._sender = settings.at_sender_id
        self._timeout = (min(3.05, settings.sms_timeout_s), settings.sms_timeout_s)

    def send(self, to: str, body: str, sender_id: str | None = None, **_: str | None) -> SendResult:
        from africastalking.Service import AfricasTalkingException

        try:
            response = self._sms.send(body, [to], sender_id=sender_id or self._sender, timeout=self._timeout)
        except ValueError as exc:  # the SDK refuses the number locally
            return SendResult("permanent", detail=f"invalid number: {exc.__class__.__name__}")
        except (requests.Timeout, requests.ConnectionError) as exc:
            return SendResult("temporary", detail=type(exc).__name__)
        except AfricasTalkingException as exc:
            text = str(exc)
            permanent = "authentication is invalid" in text
            return SendResult("permanent" if permanent else "temporary", detail=text[:200])
        except requests.RequestException as exc:
            return SendResult("temporary", detail=type(exc).__name__)
        return _read_response(response)


def _kept_alive_sms(username: str, api_key: str) -> Any:
    """The SDK's SMS service, posting through a `requests.Session` per thread.

    The SDK posts each SMS with `requests.post`: a new connection, and against the real API a TLS
    handshake, for every message; from India to AT's servers that is several round trips of
    latency on every alert of an emergency. A session keeps the connection alive between sends.
    Only the SDK's one HTTP call is replaced (its private `__make_post_request`); building the
    request, reading the response and its errors stay the SDK's. Sessions are per thread because
    a `requests.Session` is not meant to be shared between threads (workers may run several).
    """
    from africastalking.SMS import SMSService

    class KeptAliveSMS(SMSService):  # type: ignore[misc]
        def __init__(self, username: str, api_key: str) -> None:
            self._local = threading.local()
            super().__init__(username, api_key)

        def _Service__make_post_request(self, url, headers, data, params, callback=None,  # noqa: N802
                                        timeout=None):  # type: ignore[no-untyped-def]
            session = getattr(self._local, "session", None)
            if session is None:
                session = self._local.session = requests.Session()
            response = session.post(url=url, headers=headers, params=params, data=data, timeout=timeout)
            if not callback:
                return response
            callback(response)
            return None

    return KeptAliveSMS(username, api_key)


def _read_response(response: object) -> SendResult:
    if not isinstance(response, dict):
        return SendResult("temporary", detail="response was not JSON")
    data = response.get("SMSMessageData") or {}
    recipients = data.get("Recipients") or []
    if not recipients:
        return SendResult("permanent", detail=str(data.get("Message", "no recipients"))[:200])
    recipient = recipients[0]
    code = int(recipient.get("statusCode", 0) or 0)
    provider_id = recipient.get("messageId")
    if code in ACCEPTED:
        return SendResult("accepted", provider_id if provider_id not in (None, "None") else None, recipient.get("status", ""))
    outcome = "temporary" if code in TEMPORARY else "permanent"
    return SendResult(outcome, None, f"{code} {recipient.get('status', '')}".strip())


def mask(phone: str) -> str:
    """`+9198******10`: enough to tell a developer's test phones apart, not enough to call anyone."""
    return phone[:5] + "*" * max(len(phone) - 7, 0) + phone[-2:] if len(phone) > 7 else "*" * len(phone)


def make_transport(settings: Settings) -> Transport:
    if settings.transport == "africastalking":
        return AfricasTalkingTransport(settings)
    if settings.transport == "kannel":
        from gateway.referrals.kannel import (
            KannelTransport,  # imports this module: no cycle at load
        )

        return KannelTransport(settings)
    return ConsoleTransport()
