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
# Bumped whenever the directory changes, so that every process drops its cached place lists.
DIRECTORY_VERSION = PREFIX + "directory:version"


def phone_tag(secret: str, phone: str) -> str:
    return hmac.new(secret.encode(), phone.encode(), hashlib.sha256).hexdigest()[:32]
