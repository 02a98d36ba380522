"""Kannel's door to the SMS service: what smsbox posts, read into the same values Africa's Talking's
webhooks make, so that one `SmsService` handles both (committee commands, villagers' conversation,
dedupe of re-posts, delivery reports). Nothing here decides anything about a case.

smsbox's `sms-service` (deploy/kannel/kannel.conf) posts `from=%p&to=%P&id=%I&text=%a`; `%I` is
Kannel's id of the incoming message, the same on every retry, so it is the dedupe key. Delivery
reports come to the `dlr-url` the transport gave with each message: our message id and `%d`.
"""

from __future__ import annotations

from gateway.channels.sms import DeliveryReport, IncomingSms

# Kannel's DLR codes (`%d`) in the words `SmsService.delivered` reads (Africa's Talking's), so a
# state only moves forward there: queued/sending → sent → delivered | failed.
DLR_STATUSES = {
    1: ("Success", ""),  # delivered to the phone
    2: ("Failed", "Kannel DLR 2: the SMSC could not deliver it to the phone"),
    4: ("Buffered", ""),  # waiting at the SMSC (phone off, out of coverage)
    8: ("Submitted", ""),  # the SMSC took it
    16: ("Rejected", "Kannel DLR 16: the SMSC refused it (a DLT mismatch, a blocked number)"),
}


def incoming(*, sms_id: str, sender: str, text: str) -> IncomingSms:
    """An SMS from Kannel; its id is kept apart from Africa's Talking's ids by a prefix."""
    return IncomingSms(f"kannel:{sms_id}"[:120], sender[:32], text[:1600])


def delivery(*, message_id: str, code: str) -> DeliveryReport | None:
    """A delivery report for one of our messages, or None for a code Kannel does not define."""
    try:
        status, reason = DLR_STATUSES[int(code)]
    except (ValueError, KeyError):
        return None
    return DeliveryReport(f"kannel:{message_id}"[:64], status, reason, message_id=message_id[:32])
