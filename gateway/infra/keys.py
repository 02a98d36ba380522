"""Every Redis key and TTL, in one place: keys are a contract between replicas and workers.

Phone numbers never appear in key names: keys that belong to a phone use `phone_tag()`, a keyed
hash, so that a Redis dump or `MONITOR` does not list who called.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "cpgw:"

# One USSD session: a hash of {text -> {"state": …, "screen": …}} for every hop seen, so that a
# retried hop (same sessionId and text) gets the same screen. TTL: settings.ussd_session_ttl_s.
USSD_SESSION = PREFIX + "ussd:session:{session_id}"
# An unfinished report offered as "1 Continue / 2 Start over" on the next dial. TTL: resume_ttl_s.
USSD_DRAFT = PREFIX + "ussd:draft:{phone}"
# The language a phone chose last; kept a year, refreshed on every use.
PHONE_LANGUAGE = PREFIX + "phone:lang:{phone}"
PHONE_LANGUAGE_TTL_S = 365 * 24 * 3600


def phone_tag(secret: str, phone: str) -> str:
    return hmac.new(secret.encode(), phone.encode(), hashlib.sha256).hexdigest()[:32]

# The outbox: two streams, so alerts to responders leave ahead of bulk follow-ups; entries carry
# only a message id (the message itself is a SQL row). Consumer group shared by all workers.
OUTBOX_ALERTS = PREFIX + "outbox:alerts"
OUTBOX_BULK = PREFIX + "outbox:bulk"
OUTBOX_GROUP = "senders"
# Messages waiting to be retried after a temporary provider error, scored by when to retry.
OUTBOX_RETRY = PREFIX + "outbox:retry"
# An entry a worker read but never acknowledged (it died) is taken over after this long.
OUTBOX_CLAIM_IDLE_MS = 60_000
# Per-provider send rate: a counter per second.
SMS_RATE = PREFIX + "sms:rate:{provider}:{second}"
# Pending acknowledgements: members "case_id:step:round", scored by due time (epoch seconds).
DEADLINES = PREFIX + "deadlines"
# Deadlines a worker has claimed and is escalating, scored by when its lease runs out.
DEADLINES_CLAIMED = PREFIX + "deadlines:claimed"
DEADLINE_LEASE_S = 120
# Duties owed after an acknowledgement (routing.duties): members "duty_id:round", scored by when
# the duty falls due (or is chased next); claimed like deadlines.
DUTY_DEADLINES = PREFIX + "duties"
DUTY_DEADLINES_CLAIMED = PREFIX + "duties:claimed"
# Inbound SMS ids already handled: AT re-posts every minute for 12 hours until it gets a 200.
SMS_SEEN = PREFIX + "sms:seen:{sms_id}"
SMS_SEEN_TTL_S = 13 * 3600


def deadline_member(case_id: int, step: int, round_: int) -> str:
    return f"{case_id}:{step}:{round_}"


def duty_member(duty_id: int, round_: int) -> str:
    return f"{duty_id}:{round_}"

# Per-phone limits: a counter per window. RATE_NOTICE remembers that the phone was told it is
# limited, so a flood gets one polite reply, not a hundred.
RATE = PREFIX + "rate:{kind}:{phone}:{window}"
RATE_NOTICE = PREFIX + "rate:notice:{phone}:{window}"
# The same phone reporting the same village and concern again soon: linked to the open case.
REPORT_DUPLICATE = PREFIX + "report:dup:{phone}:{village}:{concern}"
REPORT_DUPLICATE_TTL_S = 6 * 3600
# A villager's SMS conversation (the menu state), kept a day after the last message.
SMS_CONVERSATION = PREFIX + "sms:conv:{phone}"
SMS_CONVERSATION_TTL_S = 24 * 3600
