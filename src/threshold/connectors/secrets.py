"""Source passwords encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256) under a key from the settings.

pgwire keeps SCRAM verifiers, which cannot give the password back; a connection to a source database needs it
back, so it is encrypted, not hashed. The Fernet key is derived from `THRESHOLD_SOURCES__KEY` (or the key generated
into the home) with SHA-256, so any text serves as the setting.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from threshold.errors import ThresholdError
from threshold.platform import Platform


def _fernet(platform: Platform) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(platform.settings.sources_key()).digest()))


def seal(platform: Platform, password: str) -> str:
    return _fernet(platform).encrypt(password.encode()).decode()


def unseal(platform: Platform, token: str, source: str) -> str:
    try:
        return _fernet(platform).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ThresholdError(
            f"the stored password of source {source} cannot be decrypted: THRESHOLD_SOURCES__KEY changed; "
            f"add the connection again with `threshold source add {source} --url ... --replace`"
        ) from None
