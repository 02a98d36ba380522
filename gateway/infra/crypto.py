"""Encryption of reporters' phone numbers (Fernet: AES-128-CBC with HMAC-SHA256, from `cryptography`).

The Fernet key is derived from `CPGW_SECRET_KEY` with HKDF, so a deployer sets one secret and
this module never stores a second one. During a key rotation the previous secrets still decrypt
(`MultiFernet`), while everything new is encrypted and tagged with the current one.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.infra.keys import phone_tag


def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cpgw reporter phone v1").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


class PhoneCipher:
    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        self._fernet = MultiFernet([_fernet(secret), *(_fernet(old) for old in previous)])
        self._secret = secret

    def tag(self, phone: str) -> str:
        """A keyed hash of the number: lets us recognise a phone (STOP, Redis keys) without keeping it."""
        return phone_tag(self._secret, phone)

    def encrypt(self, phone: str) -> str:
        return self._fernet.encrypt(phone.encode()).decode()

    def rotate(self, token: str) -> str:
        """The same number, encrypted under the current key (raises InvalidToken if no key fits)."""
        return self._fernet.rotate(token.encode()).decode()

    def decrypt(self, token: str) -> str | None:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None
